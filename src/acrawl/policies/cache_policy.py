"""The replay cache's freshness rules (``cache_policy``): when a stored response may be
served without asking the server, and how a stale one is revalidated.

>>> policy = DummyPolicy(expiration_secs=3600)
>>> policy.is_fresh(entry, request, now=time.time())     # stored less than an hour ago
True
>>> conditional_headers(entry)                            # for a stale entry
{'If-None-Match': '"v1"', 'If-Modified-Since': 'Tue, 01 Jul 2025 10:00:00 GMT'}

* ``dummy`` (the default, as Scrapy's ``DummyPolicy``): every response is stored (but those in
  ``cache_ignore_http_codes``) and every entry is fresh until it is ``cache_expiration_secs``
  old (0: forever). Response headers are not consulted.
* ``rfc9111``: the subset of RFC 9111 a crawler needs. ``no-store`` (request or response)
  is not stored; an entry is fresh while its age (``Age``, ``Date`` and the time it has
  been stored) is below its freshness lifetime: ``s-maxage``, else ``max-age``, else
  ``Expires`` minus ``Date``, else 10% of the time since ``Last-Modified`` (the heuristic of
  RFC 9111 §4.2.2, capped at a week). ``no-cache`` on the response, or ``no-cache`` /
  ``max-age=0`` on the request, makes it stale. ``cache_expiration_secs`` (when not 0) bounds
  the age of every entry on top of that.

Either way a stale entry with an ``ETag`` or ``Last-Modified`` is revalidated with
``If-None-Match`` / ``If-Modified-Since``; a 304 answer refreshes its headers
(:func:`refreshed_headers`) and its stored time. ``Vary`` is not consulted: the cache key is
the request fingerprint (method, canonical URL, body), the same for the crawl's own headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..http import Request, Response
    from .cache_storage import Entry

__all__ = ["DummyPolicy", "Rfc9111Policy", "conditional_headers", "parse_cache_control",
           "refreshed_headers"]

#: the heuristic freshness of RFC 9111 §4.2.2 is at most this (seconds)
HEURISTIC_CAP = 7 * 24 * 3600.0
#: statuses that may be given heuristic freshness (RFC 9110 §15.1, "heuristically cacheable")
_HEURISTIC_STATUSES = frozenset({200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501})
#: headers a 304 does not change in a stored response: the body's own (the body is the stored
#: one) and the hop-by-hop ones (RFC 9111 §3.2)
_KEEP_ON_304 = frozenset({"content-length", "content-encoding", "content-type",
                          "transfer-encoding", "connection", "keep-alive", "te", "trailer",
                          "upgrade", "proxy-connection"})
_DIRECTIVE = re.compile(r'\s*([^\s=,]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^\s,]*))?\s*(?:,|$)')


def parse_cache_control(value: str | None) -> dict[str, str | None]:
    """``"max-age=60, no-cache"`` -> ``{"max-age": "60", "no-cache": None}`` (names lower-cased,
    quotes removed; the first of a repeated directive wins)."""
    out: dict[str, str | None] = {}
    if not value:
        return out
    for match in _DIRECTIVE.finditer(value):
        name, arg = match.group(1).lower(), match.group(2)
        if arg is not None and arg.startswith('"'):
            arg = arg[1:-1]
        out.setdefault(name, arg)
    return out


def _seconds(value: str | None) -> float | None:
    """A delta-seconds value; None if absent or not a number."""
    if value is None:
        return None
    value = value.strip()
    return float(value) if value.isdigit() else None


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def conditional_headers(entry: Entry) -> dict[str, str]:
    """The headers that revalidate ``entry``: ``If-None-Match`` from its ``ETag``,
    ``If-Modified-Since`` from its ``Last-Modified`` (empty: it cannot be revalidated)."""
    out: dict[str, str] = {}
    etag = entry.header("ETag")
    if etag:
        out["If-None-Match"] = etag
    modified = entry.header("Last-Modified")
    if modified:
        out["If-Modified-Since"] = modified
    return out


def refreshed_headers(stored: Iterable[tuple[str, str]],
                      not_modified: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The stored headers updated by a 304's (RFC 9111 §3.2): each header the 304 carries
    replaces every stored value of that name, but the body's own headers and hop-by-hop ones."""
    items = not_modified.items()
    new = [(k, v) for k, v in items if k.lower() not in _KEEP_ON_304]
    replaced = {k.lower() for k, _ in new}
    return (*((k, v) for k, v in stored if k.lower() not in replaced), *new)


class DummyPolicy:
    """Store everything, serve an entry until it is ``expiration_secs`` old (0: forever)."""

    name = "dummy"

    def __init__(self, *, expiration_secs: float = 0.0,
                 ignore_http_codes: Iterable[int] = ()) -> None:
        self.expiration_secs = expiration_secs
        self.ignore_http_codes = frozenset(ignore_http_codes)

    def should_store(self, request: Request, response: Response) -> bool:
        """Store this response (a 304 never is: it has no body to replay)?"""
        status = response.status
        return status != 304 and status not in self.ignore_http_codes

    def is_fresh(self, entry: Entry, request: Request, now: float) -> bool:
        """Serve ``entry`` for ``request`` without asking the server?"""
        return not self.expiration_secs or now - entry.stored < self.expiration_secs


class Rfc9111Policy(DummyPolicy):
    """The freshness rules of RFC 9111 that matter to a crawler; see the module docstring."""

    name = "rfc9111"

    def should_store(self, request: Request, response: Response) -> bool:
        if not super().should_store(request, response):
            return False
        if "no-store" in parse_cache_control(_get(request.headers, "Cache-Control")):
            return False
        return "no-store" not in parse_cache_control(_get(response.headers, "Cache-Control"))

    def is_fresh(self, entry: Entry, request: Request, now: float) -> bool:
        if not super().is_fresh(entry, request, now):
            return False
        asked = parse_cache_control(_get(request.headers, "Cache-Control"))
        if "no-cache" in asked or _seconds(asked.get("max-age", "")) == 0:
            return False
        if not asked and "no-cache" in (_get(request.headers, "Pragma") or "").lower():
            return False
        lifetime = self.lifetime(entry)
        return lifetime is not None and self.age(entry, now) < lifetime

    @staticmethod
    def lifetime(entry: Entry) -> float | None:
        """How long ``entry`` is fresh after it was generated, seconds; None if unknown."""
        cc = parse_cache_control(entry.header("Cache-Control"))
        if "no-cache" in cc:
            return 0.0
        for directive in ("s-maxage", "max-age"):  # a crawl's cache is shared by its workers
            if directive in cc:
                return _seconds(cc[directive]) or 0.0  # unreadable: stale (RFC 9111 §4.2.1)
        date = _http_date(entry.header("Date")) or entry.stored
        expires = entry.header("Expires")
        if expires is not None:
            when = _http_date(expires)
            return 0.0 if when is None else max(0.0, when - date)
        modified = _http_date(entry.header("Last-Modified"))
        if modified is not None and entry.status in _HEURISTIC_STATUSES:
            return min(max(0.0, date - modified) * 0.1, HEURISTIC_CAP)
        return None

    @staticmethod
    def age(entry: Entry, now: float) -> float:
        """The current age of ``entry`` (RFC 9111 §4.2.3): how old it was when stored (by
        its ``Age`` and ``Date``), plus how long it has been stored."""
        date = _http_date(entry.header("Date"))
        apparent = max(0.0, entry.stored - date) if date is not None else 0.0
        initial = max(apparent, _seconds(entry.header("Age")) or 0.0)
        return initial + max(0.0, now - entry.stored)


def _get(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by name, any case (request headers are a plain dict)."""
    value = headers.get(name)
    if value is not None:
        return value
    low = name.lower()
    for key, v in headers.items():
        if key.lower() == low:
            return v
    return None
