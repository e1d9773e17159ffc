"""acrawl-sitemap: start a crawl from a site's sitemaps.

Installed, the plugin is found through the ``acrawl`` entry-point group. It is off until you
turn it on with ``-s sitemap=true`` or give the spider a ``sitemap_urls`` list::

    acrawl-run links -a url=https://example.com/ -s sitemap=true

With no ``sitemap_urls`` the sitemaps come from the ``Sitemap:`` lines of each start origin's
``robots.txt``, else ``<origin>/sitemap.xml``. Sitemap indexes are followed (at most
``sitemap_max_depth`` deep, each sitemap fetched once); ``.xml.gz`` sitemaps are unpacked in
bounded chunks, at most ``sitemap_max_size`` bytes; every ``<url><loc>`` becomes a start
request, at most ``sitemap_max_urls`` of them. Plain-text sitemaps (one URL a line) work too.
A sitemap the crawl reaches through a link gives its ``<loc>`` URLs as the page's links.

XML is parsed without DTDs, entity expansion or network access: XXE cannot read local files.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from protego import Protego

from acrawl import Request, Response, hookimpl
from acrawl.errors import DownloadError
from acrawl.settings import Setting, Settings

__all__ = ["acrawl_add_settings", "acrawl_extract_links", "acrawl_start_requests",
           "parse_sitemap"]

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_MAX_SIZE = 50 * MiB  # the sitemaps.org limit, uncompressed
_CHUNK = 1 * MiB
_GZIP_MAGIC = b"\x1f\x8b"

Fetch = Callable[[str], Awaitable[Response]]


class SitemapTooLarge(ValueError):
    """A sitemap is larger than ``sitemap_max_size`` once decompressed."""


@hookimpl
def acrawl_add_settings() -> list[Setting]:
    return [
        Setting("sitemap", bool, False,
                "start from the sitemaps of the start URLs (robots.txt, /sitemap.xml)"),
        Setting("sitemap_max_urls", int, 1_000_000, "start requests taken from sitemaps, at most",
                check=lambda v: None if v > 0 else "a number > 0"),
        Setting("sitemap_max_depth", int, 3, "nesting of sitemap indexes followed",
                check=lambda v: None if v >= 0 else "a number >= 0"),
        Setting("sitemap_max_size", int, DEFAULT_MAX_SIZE,
                "bytes per sitemap, after gunzip; larger ones are skipped",
                check=lambda v: None if v > 0 else "a number > 0"),
    ]


@hookimpl
def acrawl_start_requests(
    spider: Any, settings: Settings, fetch: Fetch
) -> AsyncIterator[Request] | None:
    urls = _as_list(getattr(spider, "sitemap_urls", None))
    if not urls and not settings.get("sitemap", False):
        return None
    return _start_requests(spider, urls, settings, fetch)


@hookimpl
def acrawl_extract_links(response: Response, spider: Any) -> list[str] | None:
    path = urlsplit(response.url).path.lower()
    ctype = _header(response, "content-type").split(";", 1)[0].strip().lower()
    if not (ctype.endswith(("/xml", "+xml")) or path.endswith((".xml", ".xml.gz"))):
        return None
    body = response.body
    if body[:2] != _GZIP_MAGIC and b"urlset" not in body and b"sitemapindex" not in body:
        return None  # a feed or other XML: skip the parse
    try:
        kind, locs = parse_sitemap(body, DEFAULT_MAX_SIZE, text_ok=False)
    except (SitemapTooLarge, zlib.error):
        return None
    return locs if kind else None


def parse_sitemap(
    body: bytes, max_size: int = DEFAULT_MAX_SIZE, *, text_ok: bool = True
) -> tuple[str | None, list[str]]:
    """``(kind, urls)`` of a sitemap body (gzipped or not).

    ``kind`` is ``"urlset"``, ``"sitemapindex"``, ``"text"`` or ``None`` (not a sitemap);
    ``urls`` are the absolute http(s) ``<loc>`` values (page URLs for a urlset, sitemap URLs
    for an index). Raises :class:`SitemapTooLarge` past ``max_size`` bytes, ``zlib.error`` on a
    broken gzip stream.
    """
    data = _gunzip(body, max_size) if body[:2] == _GZIP_MAGIC else body
    if len(data) > max_size:
        raise SitemapTooLarge(len(data))
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        if not text_ok:
            return None, []
        lines = data.decode("utf-8", "replace").splitlines()
        urls = [u for u in (line.strip() for line in lines) if _is_http(u) and " " not in u]
        return ("text" if urls else None), urls
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             remove_comments=True, remove_pis=True, recover=True,
                             load_dtd=False, dtd_validation=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None, []
    if root is None or not isinstance(root.tag, str):
        return None, []
    kind = etree.QName(root).localname
    child = {"urlset": "url", "sitemapindex": "sitemap"}.get(kind)
    if child is None:
        return None, []
    urls = []
    for entry in root.iterchildren(tag=etree.Element):
        if etree.QName(entry).localname != child:
            continue
        for loc in entry.iterchildren(tag=etree.Element):
            # a <loc> with child nodes (elements, unexpanded entities) is not a plain URL
            if etree.QName(loc).localname == "loc" and len(loc) == 0 and loc.text:
                url = loc.text.strip()
                if _is_http(url):
                    urls.append(url)
                break
    return kind, urls


async def _start_requests(
    spider: Any, sitemap_urls: list[str], settings: Settings, fetch: Fetch
) -> AsyncIterator[Request]:
    max_urls: int = settings.get("sitemap_max_urls", 1_000_000)
    max_depth: int = settings.get("sitemap_max_depth", 3)
    max_size: int = settings.get("sitemap_max_size", DEFAULT_MAX_SIZE)
    roots = sitemap_urls or await _discover(_as_list(getattr(spider, "start_urls", None)), fetch)
    queue: deque[tuple[str, int]] = deque()
    seen: set[str] = set()
    for url in roots:
        if url.lower().endswith("/robots.txt"):
            queue.extend((u, 0) for u in await _robots_sitemaps(url, fetch))
        else:
            queue.append((url, 0))
    count = 0
    while queue:
        url, depth = queue.popleft()
        url = url.split("#", 1)[0]
        if url in seen or not _is_http(url):
            continue
        seen.add(url)
        response = await _get(url, fetch, "sitemap")
        if response is None:
            continue
        try:
            kind, locs = await asyncio.to_thread(parse_sitemap, response.body, max_size)
        except SitemapTooLarge:
            log.warning("sitemap %s: larger than sitemap_max_size=%d bytes, skipped",
                        url, max_size)
            continue
        except zlib.error as exc:
            log.warning("sitemap %s: broken gzip data (%s), skipped", url, exc)
            continue
        if kind is None:
            log.warning("sitemap %s: not a sitemap (no urlset or sitemapindex), skipped", url)
        elif kind == "sitemapindex":
            if depth >= max_depth:
                log.warning("sitemap index %s: nested deeper than sitemap_max_depth=%d, "
                            "%d sitemaps not followed", url, max_depth, len(locs))
                continue
            log.info("sitemap index %s: %d sitemaps", url, len(locs))
            queue.extend((loc, depth + 1) for loc in locs if loc.split("#", 1)[0] not in seen)
        else:
            log.info("sitemap %s: %d URLs", url, len(locs))
            for loc in locs:
                yield Request(loc)
                count += 1
                if count >= max_urls:
                    log.warning("sitemap_max_urls=%d reached, no more sitemap URLs are read",
                                max_urls)
                    return


async def _discover(start_urls: list[str], fetch: Fetch) -> list[str]:
    """The sitemaps robots.txt names for each start origin, else ``<origin>/sitemap.xml``."""
    parts = [urlsplit(u) for u in start_urls]
    origins = dict.fromkeys(
        f"{p.scheme}://{p.netloc}" for p in parts if p.scheme in ("http", "https") and p.netloc
    )
    found: list[str] = []
    for origin in origins:
        sitemaps = await _robots_sitemaps(f"{origin}/robots.txt", fetch)
        if not sitemaps:
            log.info("no Sitemap in %s/robots.txt, trying %s/sitemap.xml", origin, origin)
        found.extend(sitemaps or [f"{origin}/sitemap.xml"])
    return found


async def _robots_sitemaps(robots_url: str, fetch: Fetch) -> list[str]:
    response = await _get(robots_url, fetch, "robots.txt")
    if response is None:
        return []
    return [urljoin(robots_url, u.strip()) for u in Protego.parse(response.text).sitemaps]


async def _get(url: str, fetch: Fetch, what: str) -> Response | None:
    try:
        response = await fetch(url)
    except DownloadError as exc:
        log.warning("%s %s: download failed (%s), skipped", what, url, exc)
        return None
    if not 200 <= response.status < 300:
        log.warning("%s %s: HTTP %d, skipped", what, url, response.status)
        return None
    return response


def _header(response: Response, name: str) -> str:
    for key, value in response.headers.items():
        if key.lower() == name:
            return str(value)
    return ""


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://")) and len(url) > 8


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    """A spider attribute as a list; a string (``-a sitemap_urls=a,b``) is split on commas."""
    if not value:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def _gunzip(body: bytes, max_size: int) -> bytes:
    """Decompress gzip ``body`` in bounded chunks; :class:`SitemapTooLarge` past ``max_size``."""
    out = bytearray()
    data = body
    while data[:2] == _GZIP_MAGIC:  # each member of a (possibly multi-member) gzip stream
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not inflater.eof:
            chunk = inflater.decompress(data, _CHUNK)
            out += chunk
            if len(out) > max_size:
                raise SitemapTooLarge(len(out))
            data = inflater.unconsumed_tail
            if not data and not chunk:  # input used up and nothing pending: truncated
                break
        data = inflater.unused_data
    return bytes(out)
