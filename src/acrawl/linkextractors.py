"""``LinkExtractor``: Scrapy's link extractor, with its arguments and defaults.

>>> extractor = LinkExtractor(allow=r"/page/\\d+/", restrict_css="ul.pager")
>>> [link.url for link in extractor.extract_links(response)]  # doctest: +SKIP
['http://127.0.0.1:8000/page/2/']

It walks the page's parsed tree (the one ``response.css``/``xpath`` use) and works on its
own, in any callback, or in :class:`~acrawl.CrawlSpider` rules. It is independent of
``response.links()``, which reports the links of the enabled link-extractor plugins.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from w3lib.html import strip_html5_whitespace
from w3lib.url import canonicalize_url, safe_url_string

from .http import Link
from .urls import FETCHABLE_SCHEMES, canonicalize, hostname, scheme_of

if TYPE_CHECKING:
    from .http import Response

__all__ = ["IGNORED_EXTENSIONS", "LinkExtractor"]

#: extensions of files not worth following, the default ``deny_extensions`` (Scrapy's list)
IGNORED_EXTENSIONS = sorted({
    # archives
    "7z", "7zip", "bz2", "rar", "tar", "tar.gz", "xz", "zip",
    # images
    "ai", "bmp", "cdr", "drw", "dxf", "eps", "gif", "ico", "jpeg", "jpg", "mng", "pct", "png",
    "ps", "psp", "pst", "svg", "tif", "tiff", "webp",
    # audio
    "aac", "aiff", "au", "mid", "mp3", "ogg", "ra", "wav", "wma",
    # video
    "3gp", "asf", "asx", "avi", "flv", "m4a", "m4v", "mov", "mp4", "mpg", "qt", "rm", "swf",
    "webm", "wmv",
    # office documents
    "doc", "docb", "docm", "docx", "dotm", "dotx", "odg", "odp", "ods", "odt", "potm", "potx",
    "pps", "ppt", "pptm", "pptx", "xls", "xlsm", "xlsx", "xltm", "xltx",
    # other
    "apk", "bat", "bin", "cpl", "css", "dmg", "exe", "hta", "iso", "jar", "js", "msi", "msp",
    "pdf", "py", "rb", "rss", "sh",
})

_XHTML = "{http://www.w3.org/1999/xhtml}"

Patterns = str | re.Pattern[str] | Iterable[str | re.Pattern[str]]


def _strings(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _regexes(value: Patterns | None) -> list[re.Pattern[str]]:
    if value is None:
        return []
    items = [value] if isinstance(value, str | re.Pattern) else list(value)
    return [p if isinstance(p, re.Pattern) else re.compile(p) for p in items]


def _in_domains(host: str, domains: frozenset[str]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one (any port)."""
    return host in domains or any(host.endswith("." + d) for d in domains)


def _is_markup(response: Response) -> bool:
    ctype = response.content_type.split(";", 1)[0].strip().lower()
    return not ctype or "html" in ctype or "xml" in ctype


class LinkExtractor:
    """Extracts links from responses, filtered as Scrapy's ``LinkExtractor`` does.

    Args:
        allow: regular expressions (``re.search``) a URL must match one of; empty: all.
        deny: regular expressions no URL may match (wins over ``allow``).
        allow_domains: hosts (and their subdomains) links must be on; empty: all.
        deny_domains: hosts (and their subdomains) links may not be on.
        restrict_xpaths: XPath expressions selecting the regions to take links from.
        tags: the elements to look at (``("a", "area")``).
        attrs: their attributes holding a URL (``("href",)``).
        canonicalize: report canonical URLs (w3lib: query sorted, fragment dropped...).
        unique: report each URL once (compared canonicalized, fragments kept).
        process_value: called with each absolute URL; returns the URL to use (it may be
            relative), or None to skip the link.
        deny_extensions: file extensions to skip (without the dot); ``None`` means
            :data:`IGNORED_EXTENSIONS`, ``[]`` skips none.
        restrict_css: CSS selectors selecting the regions to take links from.
        strip: strip whitespace around attribute values.
        restrict_text: regular expressions a link's text must match one of.

    Only ``http`` and ``https`` links are reported; ``Link.text`` is the element's text,
    stripped; ``Link.nofollow`` is ``rel="nofollow"``.
    """

    def __init__(
        self,
        allow: Patterns = (),
        deny: Patterns = (),
        allow_domains: str | Iterable[str] = (),
        deny_domains: str | Iterable[str] = (),
        restrict_xpaths: str | Iterable[str] = (),
        tags: str | Iterable[str] = ("a", "area"),
        attrs: str | Iterable[str] = ("href",),
        canonicalize: bool = False,
        unique: bool = True,
        process_value: Callable[[str], Any] | None = None,
        deny_extensions: str | Iterable[str] | None = None,
        restrict_css: str | Iterable[str] = (),
        strip: bool = True,
        restrict_text: Patterns | None = None,
    ) -> None:
        self.allow_res = _regexes(allow)
        self.deny_res = _regexes(deny)
        self.allow_domains = frozenset(d.lower() for d in _strings(allow_domains))
        self.deny_domains = frozenset(d.lower() for d in _strings(deny_domains))
        self.restrict_xpaths = _strings(restrict_xpaths)
        self.restrict_css = _strings(restrict_css)
        self.tags = frozenset(_strings(tags))
        self.attrs = frozenset(_strings(attrs))
        self.canonicalize = canonicalize
        self.unique = unique
        self.process_value = process_value
        exts = IGNORED_EXTENSIONS if deny_extensions is None else _strings(deny_extensions)
        self.deny_extensions = frozenset("." + e.lower().lstrip(".") for e in exts)
        self.strip = strip
        self.restrict_text = _regexes(restrict_text)

    def __repr__(self) -> str:
        shown = [f"allow={[r.pattern for r in self.allow_res]!r}"] if self.allow_res else []
        shown += [f"deny={[r.pattern for r in self.deny_res]!r}"] if self.deny_res else []
        return f"LinkExtractor({', '.join(shown)})"

    # -- filtering ------------------------------------------------------------------------------
    def matches(self, url: str) -> bool:
        """Whether ``url`` passes the domain and ``allow``/``deny`` filters."""
        host = hostname(url)
        if self.allow_domains and not _in_domains(host, self.allow_domains):
            return False
        if self.deny_domains and _in_domains(host, self.deny_domains):
            return False
        if self.allow_res and not any(r.search(url) for r in self.allow_res):
            return False
        return not any(r.search(url) for r in self.deny_res)

    def _allowed(self, link: Link) -> bool:
        url = link.url
        if scheme_of(url) not in FETCHABLE_SCHEMES or not self.matches(url):
            return False
        if self.deny_extensions:
            ext = posixpath.splitext(urlsplit(url).path)[1].lower()
            if ext in self.deny_extensions:
                return False
        return not self.restrict_text or any(r.search(link.text) for r in self.restrict_text)

    # -- extraction -----------------------------------------------------------------------------
    def _regions(self, response: Response) -> list[Any]:
        if not (self.restrict_xpaths or self.restrict_css):
            return [response.selector.root]
        regions = [s.root for q in self.restrict_xpaths for s in response.xpath(q)]
        regions += [s.root for q in self.restrict_css for s in response.css(q)]
        return regions

    def _absolute(self, response: Response, value: str) -> str | None:
        if self.strip:
            value = strip_html5_whitespace(value)
            url = response.urljoin(value)
        else:
            url = urljoin(response.base_url, value)
        if self.process_value is not None:
            url = self.process_value(url)
            if url is None:
                return None
        url = safe_url_string(url, encoding=response.encoding)
        return response.urljoin(url)  # process_value may return a relative URL

    def _raw_links(self, response: Response) -> list[Link]:
        tags, attrs = self.tags, self.attrs
        out: list[Link] = []
        for region in self._regions(response):
            if not hasattr(region, "iter"):  # a text or attribute result
                continue
            for el in region.iter():
                tag = el.tag
                if not isinstance(tag, str):  # a comment or processing instruction
                    continue
                if tag.startswith(_XHTML):
                    tag = tag[len(_XHTML):]
                if tag not in tags:
                    continue
                for name, value in el.attrib.items():
                    if name not in attrs:
                        continue
                    try:
                        url = self._absolute(response, value)
                    except ValueError:  # an unparsable URL: skipped, as in Scrapy
                        continue
                    if url is None:
                        continue
                    text = "".join(el.itertext()).strip()
                    rel = (el.get("rel") or "").lower().split()
                    out.append(Link(url, text, "nofollow" in rel))
        return out

    def extract_links(self, response: Response) -> list[Link]:
        """The links of ``response`` that pass the filters, in page order."""
        if not _is_markup(response) or not response.body.strip():
            return []
        links = [link for link in self._raw_links(response) if self._allowed(link)]
        if self.canonicalize:
            links = [Link(canonicalize(link.url), link.text, link.nofollow) for link in links]
        if not self.unique:
            return links
        seen: set[str] = set()
        unique: list[Link] = []
        for link in links:
            key = link.url if self.canonicalize else canonicalize_url(link.url,
                                                                      keep_fragments=True)
            if key not in seen:
                seen.add(key)
                unique.append(link)
        return unique
