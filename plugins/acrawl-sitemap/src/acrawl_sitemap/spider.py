"""``SitemapSpider``: Scrapy's sitemap spider on acrawl.

>>> class Shop(SitemapSpider):
...     name = "shop"
...     allowed_hosts = ["shop.example.com"]
...     sitemap_urls = ["https://shop.example.com/robots.txt"]     # or sitemap / index URLs
...     sitemap_rules = [(r"/product/", "parse_product"), (r"/blog/", "parse_post")]
...     sitemap_follow = [r"/sitemap-products"]        # which sitemaps of an index to read
...     sitemap_alternate_links = True                 # <xhtml:link rel="alternate"> too
...     sitemap_lastmod_after = "2024-01-01"           # entries modified since then
...
...     def parse_product(self, response):
...         yield {"name": response.css("h1::text").get(), "url": response.url}

Sitemaps are requests of the crawl, as in Scrapy: fetched with the crawl's politeness,
robots.txt, retries and dedup (a sitemap is read once, even if an index lists itself), and
stored by ``--state`` like any request (their callback is the method ``_parse_sitemap``).
Each page URL goes to the callback of the first rule whose regex it matches (``re.search``);
a URL no rule matches is not requested. ``sitemap_filter(entries)`` may be overridden to
choose entries by any field (``loc``, ``lastmod``, ``changefreq``, ``priority``,
``alternate``, ...). The plugin's limits hold: ``sitemap_max_size`` bytes per sitemap after
gunzip, ``sitemap_max_depth`` nested indexes, ``sitemap_max_urls`` page requests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

import acrawl
from acrawl import ConfigError, Request, Response, Setting, hookimpl

from .parse import (
    Entry,
    SitemapTooLarge,
    iter_locs,
    modified_since,
    parse_lastmod,
    robots_sitemaps,
    sitemap_entries,
)
from .settings import SETTINGS, setting

__all__ = ["SitemapSpider"]

log = logging.getLogger("acrawl_sitemap")

_DEPTH = "sitemap_depth"  # meta: how many indexes led to this sitemap
_DISCOVER = "sitemap_discover"  # meta: a robots.txt the spider chose itself (fall back to
#                                 /sitemap.xml when it names no sitemap)
_MISSING = [401, 403, 404, 410]  # a robots.txt the spider looked for and did not find
_THREAD_ABOVE = 256 * 1024  # bodies larger than this are parsed in a worker thread


class SitemapSpider(acrawl.Spider):
    """A spider whose pages come from sitemaps (Scrapy's ``SitemapSpider``).

    Attributes (all optional; ``-a`` sets them from the command line, ``sitemap_urls`` as a
    comma-separated list):

    * ``sitemap_urls``: sitemaps, sitemap indexes or ``robots.txt`` URLs (whose ``Sitemap:``
      lines are read). Empty: the ``robots.txt`` of each ``start_urls`` origin, else its
      ``/sitemap.xml``. ``start_urls`` themselves are not crawled.
    * ``sitemap_rules``: ``(regex, callback)`` pairs, the callback a method name or a method;
      the first pair whose regex matches a page URL gives its callback. Default: every URL
      to ``parse``.
    * ``sitemap_follow``: regexes of the sitemap URLs of an index to read. Default: all.
    * ``sitemap_alternate_links``: also request each entry's alternate-language URLs.
    * ``sitemap_lastmod_after``: only entries with a ``lastmod`` on or after this W3C
      date/datetime (a string, ``date`` or ``datetime``); entries without one are kept.
      Default: the ``sitemap_lastmod_after`` setting.
    """

    sitemap_urls: ClassVar[Sequence[str]] = ()
    sitemap_rules: ClassVar[Sequence[tuple[str | re.Pattern[str], str | Callable[..., Any]]]] = [
        ("", "parse")]
    sitemap_follow: ClassVar[Sequence[str | re.Pattern[str]]] = [""]
    sitemap_alternate_links: ClassVar[bool] = False
    sitemap_lastmod_after: ClassVar[str | dt.date | None] = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rules = [(self._regex(pattern, "sitemap_rules"), self._callback(cb))
                       for pattern, cb in self._pairs()]
        follow = self.sitemap_follow
        if isinstance(follow, str | re.Pattern):
            follow = [follow]
        self._follow = [self._regex(pattern, "sitemap_follow") for pattern in follow]
        self._alternate = _flag(self, "sitemap_alternate_links")
        self._since: dt.datetime | None = None
        if self.sitemap_lastmod_after is not None:
            self._since = parse_lastmod(self.sitemap_lastmod_after)
            if self._since is None:
                raise ConfigError(f"spider {self.name!r}: sitemap_lastmod_after must be a W3C "
                                  "date or datetime like 2024-01-01, got "
                                  f"{self.sitemap_lastmod_after!r}")
        #: page requests made from sitemaps (sitemap_max_urls; one more once it is reached)
        self._requested = 0

    # -- what users override ---------------------------------------------------------------------
    def sitemap_filter(self, entries: Iterable[Entry]) -> Iterable[Entry]:
        """The entries of a sitemap (or an index) to use; all of them by default. Override
        to choose by ``entry["lastmod"]``, ``entry["priority"]``, ``entry["loc"]``, ..."""
        yield from entries

    # -- the crawl -------------------------------------------------------------------------------
    @hookimpl
    def acrawl_add_settings(self) -> Sequence[Setting]:
        return SETTINGS  # so -s sitemap_max_size=... works without the installed plugin

    def start_requests(self) -> Iterator[Request]:
        urls = _as_list(self.sitemap_urls)
        if urls:
            for url in urls:
                yield Request(url, callback=self._parse_sitemap, meta={_DEPTH: 0})
            return
        origins = dict.fromkeys(_origin(u) for u in _as_list(self.start_urls))
        for origin in filter(None, origins):
            yield Request(f"{origin}/robots.txt", callback=self._parse_sitemap,
                          meta={_DEPTH: 0, _DISCOVER: True, "handle_httpstatus_list": _MISSING})

    async def _parse_sitemap(self, response: Response) -> AsyncIterator[Request]:
        """The callback of every sitemap, sitemap index and robots.txt request."""
        depth = response.meta.get(_DEPTH, 0)
        if urlsplit(response.url).path.endswith("/robots.txt"):
            found = robots_sitemaps(response.text, response.url) if response.status == 200 \
                else []
            if not found and response.meta.get(_DISCOVER):
                log.info("no Sitemap in %s, trying /sitemap.xml", response.url)
                found = [f"{_origin(response.url)}/sitemap.xml"]
            for url in found:
                yield Request(url, callback=self._parse_sitemap, meta={_DEPTH: depth})
            return
        kind, entries = await self._read(response)
        if kind is None:
            return
        if self._since is None:
            self._since = parse_lastmod(self._setting("sitemap_lastmod_after"))
        chosen = self.sitemap_filter(modified_since(entries, self._since))
        if kind == "sitemapindex":
            max_depth = self._setting("sitemap_max_depth")
            if depth >= max_depth:
                log.warning("sitemap index %s: nested deeper than sitemap_max_depth=%d, its "
                            "sitemaps are not followed", response.url, max_depth)
                return
            for loc in iter_locs(chosen, self._alternate):
                if any(regex.search(loc) for regex in self._follow):
                    yield Request(loc, callback=self._parse_sitemap, meta={_DEPTH: depth + 1})
            return
        max_urls = self._setting("sitemap_max_urls")
        for loc in iter_locs(chosen, self._alternate):
            if self._requested >= max_urls:
                if self._requested == max_urls:  # (said once)
                    self._requested += 1
                    log.warning("sitemap_max_urls=%d reached, no more sitemap URLs are "
                                "requested", max_urls)
                return
            for regex, callback in self._rules:
                if regex.search(loc):
                    self._requested += 1
                    yield Request(loc, callback=callback)
                    break

    # -- machinery --------------------------------------------------------------------------------
    async def _read(self, response: Response) -> tuple[str | None, list[Entry]]:
        """The sitemap in ``response``: ``(kind, entries)``, ``(None, [])`` when it is
        skipped (with a warning saying why)."""
        if response.truncated:
            log.warning("sitemap %s: larger than max_response_size, skipped", response.url)
            return None, []
        max_size = self._setting("sitemap_max_size")
        body = response.body
        try:
            if len(body) > _THREAD_ABOVE:
                kind, entries = await asyncio.to_thread(sitemap_entries, body, max_size)
            else:
                kind, entries = sitemap_entries(body, max_size)
        except SitemapTooLarge:
            log.warning("sitemap %s: larger than sitemap_max_size=%d bytes, skipped",
                        response.url, max_size)
            return None, []
        except zlib.error as exc:
            log.warning("sitemap %s: broken gzip data (%s), skipped", response.url, exc)
            return None, []
        if kind is None:
            log.warning("sitemap %s: not a sitemap (no urlset or sitemapindex), skipped",
                        response.url)
        else:
            log.info("sitemap %s: %s of %d entries", response.url, kind, len(entries))
        return kind, entries

    def _setting(self, name: str) -> Any:
        crawler = getattr(self, "crawler", None)
        return setting(getattr(crawler, "settings", None), name)

    def _pairs(self) -> list[tuple[Any, Any]]:
        rules = self.sitemap_rules
        if isinstance(rules, str) or not isinstance(rules, Iterable):
            rules = [rules]  # refused below
        pairs = []
        for rule in rules:
            if not isinstance(rule, tuple | list) or len(rule) != 2:
                raise ConfigError(f"spider {self.name!r}: sitemap_rules must be a list of "
                                  f"(regex, callback) pairs, got {rule!r:.80}")
            pairs.append((rule[0], rule[1]))
        return pairs

    def _regex(self, pattern: Any, attr: str) -> re.Pattern[str]:
        if isinstance(pattern, re.Pattern):
            return pattern
        if not isinstance(pattern, str):
            raise ConfigError(f"spider {self.name!r}: {attr} holds {pattern!r}, not a regex")
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"spider {self.name!r}: {attr} regex {pattern!r} is invalid: "
                              f"{exc}") from None

    def _callback(self, callback: Any) -> Callable[..., Any]:
        """A rule's callback as a method of this spider (so ``--state`` stores it by name).
        A function of the class body (``sitemap_rules = [("", parse_page)]``) is bound."""
        if isinstance(callback, str):
            method = getattr(self, callback, None)
            if not callable(method):
                raise ConfigError(f"spider {self.name!r}: sitemap_rules callback "
                                  f"{callback!r} is not a method of the spider")
            return method
        if not callable(callback):
            raise ConfigError(f"spider {self.name!r}: a sitemap_rules callback must be a "
                              f"method name or a callable, got {callback!r:.80}")
        name = getattr(callback, "__name__", "")
        if getattr(type(self), name, None) is callback:
            return getattr(self, name)
        return callback


def _flag(spider: Any, attr: str) -> bool:
    value = getattr(spider, attr)
    if isinstance(value, str):  # -a sitemap_alternate_links=true
        low = value.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off", ""):
            return False
    if not isinstance(value, bool):
        raise ConfigError(f"spider {spider.name!r}: {attr} must be True or False, "
                          f"got {value!r}")
    return value


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    """A spider attribute as a list; a string (``-a sitemap_urls=a,b``) is split on commas."""
    if not value:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]
