"""acrawl-sitemap: crawl a site from its sitemaps.

Two ways in:

* :class:`SitemapSpider`, Scrapy's ``SitemapSpider``: ``sitemap_urls``, ``sitemap_rules``,
  ``sitemap_follow``, ``sitemap_alternate_links``, ``sitemap_filter(entries)`` and
  ``sitemap_lastmod_after``; the sitemaps are requests of the crawl.
* The plugin, for any other spider: installed, it is found through the ``acrawl`` entry-point
  group, and is off until you turn it on with ``-s sitemap=true`` or give the spider a
  ``sitemap_urls`` list::

      acrawl-run links -a url=https://example.com/ -s sitemap=true

  With no ``sitemap_urls`` the sitemaps come from the ``Sitemap:`` lines of each start
  origin's ``robots.txt``, else ``<origin>/sitemap.xml``; they are fetched outside the crawl,
  and every ``<url><loc>`` (modified since ``sitemap_lastmod_after``, when set) becomes a
  start request for ``parse``. A sitemap the crawl reaches through a link gives its ``<loc>``
  URLs as the page's links.

Both follow sitemap indexes at most ``sitemap_max_depth`` deep, each sitemap once; unpack
``.xml.gz`` sitemaps in bounded chunks, at most ``sitemap_max_size`` bytes; take at most
``sitemap_max_urls`` page URLs; read plain-text sitemaps (one URL a line) too. XML is parsed
without DTDs, entity expansion or network access: XXE cannot read local files.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from acrawl import DownloadError, Request, Response, Setting, Settings, hookimpl

from .parse import (
    DEFAULT_MAX_SIZE,
    GZIP_MAGIC,
    SitemapTooLarge,
    iter_locs,
    modified_since,
    parse_lastmod,
    parse_sitemap,
    robots_sitemaps,
    sitemap_entries,
)
from .settings import SETTINGS, setting
from .spider import SitemapSpider, _as_list

__all__ = ["DEFAULT_MAX_SIZE", "SETTINGS", "SitemapSpider", "SitemapTooLarge",
           "acrawl_add_settings", "acrawl_extract_links", "acrawl_start_requests",
           "parse_lastmod", "parse_sitemap", "sitemap_entries"]

log = logging.getLogger(__name__)

Fetch = Callable[[str], Awaitable[Response]]


@hookimpl
def acrawl_add_settings() -> Sequence[Setting]:
    return SETTINGS


@hookimpl
def acrawl_start_requests(
    spider: Any, settings: Settings, fetch: Fetch
) -> AsyncIterator[Request] | None:
    if isinstance(spider, SitemapSpider):
        return None  # it requests its sitemaps itself
    urls = _as_list(getattr(spider, "sitemap_urls", None))
    if not urls and not setting(settings, "sitemap"):
        return None
    after = getattr(spider, "sitemap_lastmod_after", None) or setting(
        settings, "sitemap_lastmod_after")
    since = parse_lastmod(after) if after else None
    if after and since is None:
        log.error("spider %r: sitemap_lastmod_after must be a W3C date or datetime like "
                  "2024-01-01, got %r; its sitemaps are not read", spider.name, after)
        return None
    return _start_requests(spider, urls, settings, fetch, since)


@hookimpl
def acrawl_extract_links(response: Response, spider: Any) -> list[str] | None:
    path = urlsplit(response.url).path.lower()
    ctype = _header(response, "content-type").split(";", 1)[0].strip().lower()
    if not (ctype.endswith(("/xml", "+xml")) or path.endswith((".xml", ".xml.gz"))):
        return None
    body = response.body
    if body[:2] != GZIP_MAGIC and b"urlset" not in body and b"sitemapindex" not in body:
        return None  # a feed or other XML: skip the parse
    try:
        kind, locs = parse_sitemap(body, DEFAULT_MAX_SIZE, text_ok=False)
    except (SitemapTooLarge, zlib.error):
        return None
    return locs if kind else None


async def _start_requests(
    spider: Any, sitemap_urls: list[str], settings: Settings, fetch: Fetch,
    since: dt.datetime | None,
) -> AsyncIterator[Request]:
    max_urls: int = setting(settings, "sitemap_max_urls")
    max_depth: int = setting(settings, "sitemap_max_depth")
    max_size: int = setting(settings, "sitemap_max_size")
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
        if url in seen or not url.lower().startswith(("http://", "https://")):
            continue
        seen.add(url)
        response = await _get(url, fetch, "sitemap")
        if response is None:
            continue
        try:
            kind, entries = await asyncio.to_thread(sitemap_entries, response.body, max_size)
        except SitemapTooLarge:
            log.warning("sitemap %s: larger than sitemap_max_size=%d bytes, skipped",
                        url, max_size)
            continue
        except zlib.error as exc:
            log.warning("sitemap %s: broken gzip data (%s), skipped", url, exc)
            continue
        locs = list(iter_locs(modified_since(entries, since)))
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
    return robots_sitemaps(response.text, robots_url)


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

