"""The settings the plugin declares (``-s sitemap=true``, ``-s sitemap_max_size=...``).

One tuple of :class:`acrawl.Setting` objects, returned by the plugin module's and by
:class:`~acrawl_sitemap.SitemapSpider`'s ``acrawl_add_settings``: the same objects, so
declaring them twice (the plugin installed and a ``SitemapSpider`` crawled) is no conflict.
"""

from __future__ import annotations

from typing import Any

from acrawl import Setting

from .parse import DEFAULT_MAX_SIZE, parse_lastmod

__all__ = ["SETTINGS", "setting"]


def _positive(v: int) -> str | None:
    return None if v > 0 else "a number > 0"


def _non_negative(v: int) -> str | None:
    return None if v >= 0 else "a number >= 0"


def _w3c_datetime(v: str) -> str | None:
    return None if parse_lastmod(v) is not None else \
        "a W3C date or datetime like 2024-01-01 or 2024-01-01T12:00:00+00:00"


SETTINGS: tuple[Setting, ...] = (
    Setting("sitemap", bool, False,
            "start from the sitemaps of the start URLs (robots.txt, /sitemap.xml)"),
    Setting("sitemap_max_urls", int, 1_000_000, "start requests taken from sitemaps, at most",
            check=_positive),
    Setting("sitemap_max_depth", int, 3, "nesting of sitemap indexes followed",
            check=_non_negative),
    Setting("sitemap_max_size", int, DEFAULT_MAX_SIZE,
            "bytes per sitemap, after gunzip; larger ones are skipped", check=_positive),
    Setting("sitemap_lastmod_after", str, None,
            "only sitemap entries with a lastmod on or after this date (or none)",
            optional=True, check=_w3c_datetime),
)
_DEFAULTS = {s.name: s.default for s in SETTINGS}


def setting(settings: Any, name: str) -> Any:
    """``settings[name]``, or the default when the settings do not hold it (a crawl whose
    plugin manager did not load the plugin)."""
    if settings is not None:
        try:
            return settings[name]
        except KeyError:
            pass
    return _DEFAULTS[name]
