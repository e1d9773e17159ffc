"""Built-in component ``cookies``: the cookies servers set, sent back as a browser would, in
Scrapy's shape (its ``CookiesMiddleware``).

::

    class Shop(acrawl.Spider):
        def start_requests(self):
            for i, login in enumerate(self.logins):   # two sessions side by side
                yield acrawl.FormRequest(URL, formdata=login, meta={"cookiejar": i})

        def parse(self, response):                     # pass the session along
            yield response.follow("/cart", meta={"cookiejar": response.meta["cookiejar"]})

* Every response's ``Set-Cookie`` is stored — a redirect's too, before its next hop is sent
  (this component runs below ``redirect``) — in the jar of ``meta["cookiejar"]`` (any JSON
  value; ``None``, the default, is the crawl's one session). The rules are those of
  :mod:`acrawl.policies.cookiejar` (RFC 6265 via the standard library, public suffixes refused).
* ``Request(cookies=...)`` go into that jar for the request's URL (as if the server had set
  them), then the jar's cookies for the URL are sent.
* A request's own ``Cookie`` header is kept and the jar's cookies are added to it, the
  request's winning for a name both have. What the jar added is noted in
  ``meta["_cookie_header"]``, so a retry or a redirect (which copy the headers) sends the
  jar's current cookies, not the stale ones.
* ``meta["dont_merge_cookies"]``: the jar is neither read nor written; the request's own
  ``Cookie`` header and ``cookies=`` are sent.
* The ``cookies`` setting (``false``) or ``-s disable=cookies`` turns it off.

With ``--state`` the jars are saved with the crawl (:meth:`changes`, :meth:`load`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from .cookiejar import CookieJar

if TYPE_CHECKING:
    from ..http import Request, Response

__all__ = ["CookiesMiddleware"]

logger = logging.getLogger(__name__)

#: meta key: [the request's own Cookie header or None, the header sent with the jar's cookies]
SENT = "_cookie_header"


class CookiesMiddleware:
    name = "cookies"

    def __init__(self) -> None:
        self.jars: dict[Hashable, CookieJar] = {}
        self._dirty: set[tuple[Hashable, str]] = set()
        self._unsaved_warned = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> CookiesMiddleware:
        return cls()

    # -- the chain ------------------------------------------------------------------------------
    def process_request(self, request: Request, spider: Any) -> None:
        meta = request.meta
        if not self.jars and not request.cookies and (not meta or SENT not in meta):
            return None  # nothing stored, nothing to send: the common case of a fresh crawl
        if meta.get("dont_merge_cookies"):
            extra = _scratch_header(request) if request.cookies else None
        else:
            key = _jar_key(meta.get("cookiejar"))
            if request.cookies:
                self._store(key, request.url, _as_set_cookies(request))
            jar = self.jars.get(key)
            extra = jar.header(request.url) if jar else None
        headers = request.headers
        name = _cookie_name(headers)
        own = headers.get(name) if name else None
        sent = meta.pop(SENT, None)
        if sent and own is not None and own == sent[1]:  # the jar's part of an earlier attempt
            own = sent[0]
        if extra is None:
            if own is None:
                if name:
                    del headers[name]
            else:
                headers[name or "Cookie"] = own
            return None
        header = headers[name or "Cookie"] = _merge(own, extra)
        meta[SENT] = [own, header]
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("sending cookies to %s: %s", request.url, header)
        return None

    def process_response(self, request: Request, response: Response, spider: Any) -> Response:
        headers = response.headers
        if "Set-Cookie" not in headers:
            return response
        meta = request.meta
        if meta and meta.get("dont_merge_cookies"):
            return response
        getall = getattr(headers, "getall", None)
        values = getall("Set-Cookie") if getall is not None else [headers["Set-Cookie"]]
        kept = self._store(_jar_key(meta.get("cookiejar") if meta else None), response.url,
                           values)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("cookies from %s: %d of %d kept", response.url, kept, len(values))
        return response

    def _store(self, key: Hashable, url: str, values: list[str]) -> int:
        jar = self.jars.get(key)
        if jar is None:
            jar = self.jars[key] = CookieJar()
        self._dirty.add((key, jar.site_for(url)))
        return jar.store(url, values)

    # -- persistence (--state) ------------------------------------------------------------------
    def changes(self) -> list[tuple[str, str, str | None]]:
        """``(jar key as JSON, site, cookies as JSON or None: none left)`` for each site whose
        cookies may have changed since the last call."""
        rows = []
        for key, site in self._dirty:
            try:
                jar_key = json.dumps(key)
            except (TypeError, ValueError):
                if not self._unsaved_warned:
                    self._unsaved_warned = True
                    logger.warning("meta['cookiejar'] %r is not JSON data: its cookies are not "
                                   "saved with --state", key)
                continue
            jar = self.jars.get(key)
            cookies = jar.dump(site) if jar is not None else []
            rows.append((jar_key, site, json.dumps(cookies) if cookies else None))
        self._dirty.clear()
        return rows

    def load(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Put back the jars :meth:`changes` gave; ValueError if a row is not what it wrote."""
        for jar_key, site, data in rows:
            try:
                key, cookies = _jar_key(json.loads(jar_key)), json.loads(data)
            except (TypeError, ValueError):
                raise ValueError(f"stored cookies of {site!r} are not JSON") from None
            jar = self.jars.get(key)
            if jar is None:
                jar = self.jars[key] = CookieJar()
            jar.load(site, cookies)


def _jar_key(value: Any) -> Hashable:
    """``meta["cookiejar"]`` as a dict key: a JSON list (as stored) is the tuple it was."""
    if isinstance(value, list | tuple):
        return tuple(_jar_key(v) for v in value)
    try:
        hash(value)
    except TypeError:
        raise TypeError(f"meta['cookiejar'] must be a str, number or None, not "
                        f"{type(value).__name__}") from None
    return value


def _cookie_name(headers: dict[str, str]) -> str | None:
    """The key the request's ``Cookie`` header has in ``headers`` (any case), or None."""
    if not headers:
        return None
    if "Cookie" in headers:
        return "Cookie"
    return next((k for k in headers if k.lower() == "cookie"), None)


def _merge(own: str | None, extra: str) -> str:
    """``own`` with the cookies of ``extra`` whose names it does not have."""
    if not own:
        return extra
    names = {part.split("=", 1)[0].strip() for part in own.split(";")}
    added = [part.strip() for part in extra.split(";")
             if part.split("=", 1)[0].strip() not in names]
    return "; ".join([own, *added]) if added else own


def _as_set_cookies(request: Request) -> list[str]:
    """``Request(cookies=...)`` as the ``Set-Cookie`` values that would have set them."""
    cookies = request.cookies
    items: list[dict[str, Any]] = (
        [{"name": k, "value": v} for k, v in cookies.items()] if isinstance(cookies, dict)
        else list(cookies or ()))
    out = []
    for c in items:
        name, value = _text(c.get("name")), _text(c.get("value"))
        if not name or value is None:
            logger.warning("request %s: cookie %r has no name or value; not sent",
                           request.url, c)
            continue
        line = f"{name}={value}"
        for attr in ("domain", "path"):
            if c.get(attr):
                line += f"; {attr.capitalize()}={_text(c[attr])}"
        if c.get("secure"):
            line += "; Secure"
        out.append(line)
    return out


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str | int | float | bool):
        return str(value)
    return None


def _scratch_header(request: Request) -> str | None:
    """The ``Cookie`` header of the request's own ``cookies=`` alone (``dont_merge_cookies``):
    the same rules, in a jar that is thrown away."""
    jar = CookieJar()
    jar.store(request.url, _as_set_cookies(request))
    return jar.header(request.url)
