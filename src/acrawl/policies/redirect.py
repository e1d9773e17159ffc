"""Built-in component ``redirect``: follows 301/302/303/307/308 and ``<meta http-equiv="refresh">``
redirects, as Scrapy's redirect middlewares do.

A redirect is a new request, one hop further (``redirects + 1``, ``meta["redirect_urls"]``): it
goes back through the URL filters, robots.txt and dedup like any other. A 301/302 after a POST
and every 303 become a GET without the body; ``Authorization``, ``Cookie`` and
``Proxy-Authorization`` are dropped when the scheme, host or port changes, and
``Request(cookies=...)`` are not carried on (the ``cookies`` component stored them for the
first URL). More than
``max_redirects`` hops, or a loop, is a :class:`~acrawl.errors.TooManyRedirects` for that
request. Not followed: ``meta["dont_redirect"]``, or a status the request or spider handles
(``handle_httpstatus_list``/``_all``), as in Scrapy.

A meta refresh is followed when the page is HTML and its delay is below
``max_metarefresh_delay`` seconds (a refresh to the page itself is not followed).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import attrs
from w3lib.html import get_meta_refresh

from ..errors import DownloadError, TooManyRedirects
from ..http import CREDENTIAL_HEADERS
from ..urls import canonicalize, host_key, redirect_url, scheme_of

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..stats import Stats

__all__ = ["REDIRECT_CODES", "RedirectMiddleware", "redirected"]

logger = logging.getLogger(__name__)

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})


class RedirectMiddleware:
    name = "redirect"

    def __init__(self, *, max_redirects: int, stats: Stats,
                 max_metarefresh_delay: float = 100.0) -> None:
        self.max_redirects = max_redirects
        self.stats = stats
        self.max_metarefresh_delay = max_metarefresh_delay

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedirectMiddleware:
        s = crawler.settings
        return cls(max_redirects=s["max_redirects"], stats=crawler.stats,
                   max_metarefresh_delay=s["max_metarefresh_delay"])

    def process_response(self, request: Request, response: Response,
                         spider: Any) -> Response | Request:
        status = response.status
        meta = request.meta
        if meta and (meta.get("dont_redirect") or meta.get("handle_httpstatus_all")
                     or status in (meta.get("handle_httpstatus_list") or ())):
            return response
        if status in REDIRECT_CODES:
            if "Location" not in response.headers or _spider_handles(spider, status):
                return response
            return self._follow(request, response, response.headers.get("Location", ""),
                                status)
        if 200 <= status < 300 and self.max_metarefresh_delay > 0:
            location = self._meta_refresh(response)
            if location is not None:
                self.stats.inc("redirects/meta_refresh")
                return self._follow(request, response, location, 302 if
                                    request.method == "POST" else 307)
        return response

    def _meta_refresh(self, response: Response) -> str | None:
        body = response.body
        # cheap, in the first 4 KiB without copying them: most pages have no refresh
        if body.find(b"efresh", 0, 4096) < 0 and body.find(b"EFRESH", 0, 4096) < 0:
            return None
        ctype = response.headers.get("Content-Type", "")
        if ctype and "html" not in ctype.lower():
            return None
        try:
            delay, url = get_meta_refresh(response.text[:4096], response.url)
        except Exception:  # a page w3lib cannot read: no refresh
            return None
        if url is None or delay is None or delay >= self.max_metarefresh_delay:
            return None
        if canonicalize(url) == canonicalize(response.url):
            return None
        return str(url)

    def _follow(self, request: Request, response: Response, location: str,
                status: int) -> Request:
        self.stats.inc("redirects")
        chain = [*request.meta.get("redirect_urls", ()), request.url]
        try:  # percent-encoded as browsers do (raw non-UTF-8 bytes too)
            target = redirect_url(response.url, location)
        except ValueError:
            target = ""
        if not target:
            raise DownloadError(
                f"unparsable redirect Location {location[:200]!r} at {request.url}", request)
        if request.redirects >= self.max_redirects:
            raise TooManyRedirects(
                f"more than {self.max_redirects} redirects: {chain[0]}", request)
        if canonicalize(target) in {canonicalize(u) for u in chain}:
            raise TooManyRedirects(f"redirect loop at {target}", request)
        return redirected(request, target, status, chain)


def _spider_handles(spider: Any, status: int) -> bool:
    """A status in the spider's ``handle_httpstatus_list`` reaches its callback (Scrapy: the
    spider's ``handle_httpstatus_all`` does not stop redirects, a request's does)."""
    return status in (getattr(spider, "handle_httpstatus_list", None) or ())


def redirected(request: Request, target: str, status: int, chain: list[str]) -> Request:
    """The request a redirect leads to: a new request, one hop further."""
    method, body = request.method, request.body
    headers = dict(request.headers)
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
    # same origin = same scheme and host:port (host_key already drops default ports)
    if (scheme_of(target), host_key(target)) != (scheme_of(request.url), host_key(request.url)):
        headers = {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}
    meta = {**request.meta, "redirect_urls": chain}
    # ``Request(cookies=...)`` are in the jar by now, for the first URL's host: not carried to
    # the next hop (another host must not get them; the same host gets them from the jar)
    return attrs.evolve(
        request, url=target, method=method, body=body, headers=headers, meta=meta,
        redirects=request.redirects + 1, retries=0, cookies=None,
    )
