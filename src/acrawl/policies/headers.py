"""Built-in component ``headers``: the default request headers, the user agent and the
``Referer`` (Scrapy's ``DefaultHeadersMiddleware`` and ``UserAgentMiddleware`` in one).

>>> mw = HeadersMiddleware(user_agent="bot/1", default_headers={"Accept": "*/*"})
>>> request = acrawl.Request("http://a.test/", headers={"accept": "text/html"})
>>> mw.process_request(request, None)
>>> request.headers
{'accept': 'text/html', 'User-Agent': 'bot/1'}

Each header of ``default_headers`` and ``User-Agent: <user_agent>`` is added to the request's
``headers`` unless the request has it already (names compared case-insensitively: a request's
own headers win; a ``User-Agent`` in ``default_headers`` wins over ``user_agent``), and
``Referer`` is the page the request was found on (``request.referer``) unless the request has
its own. ``Authorization`` and ``Cookie`` in ``default_headers`` are credentials: they go only
to the origins the user named (``named_origin(url)``: the start URLs' and start requests'),
never to another origin a link or a redirect leads to. ``Proxy-Authorization`` is never
taken from ``default_headers`` (it is derived from the proxy, see ``proxy``).

It runs first after ``robots``, so the user's middlewares see the headers that will be sent
(a request signer, say). ``-s disable=headers`` sends only what requests carry themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..http import CREDENTIAL_HEADERS

if TYPE_CHECKING:
    from ..http import Request

__all__ = ["HeadersMiddleware"]


class HeadersMiddleware:
    name = "headers"

    def __init__(
        self,
        *,
        user_agent: str | None,
        default_headers: Mapping[str, str],
        named_origin: Callable[[str], bool] = lambda url: False,
    ) -> None:
        defaults = {k: v for k, v in default_headers.items()
                    if k.lower() != "proxy-authorization"}
        if user_agent and not any(k.lower() == "user-agent" for k in defaults):
            defaults["User-Agent"] = user_agent
        self.plain = {k: v for k, v in defaults.items() if k.lower() not in CREDENTIAL_HEADERS}
        self._plain = [(k.lower(), k, v) for k, v in self.plain.items()]
        self._credentials = [(k.lower(), k, v) for k, v in defaults.items()
                             if k.lower() in CREDENTIAL_HEADERS]
        self._named_origin = named_origin

    @classmethod
    def from_crawler(cls, crawler: Any) -> HeadersMiddleware:
        s = crawler.settings
        return cls(user_agent=s["user_agent"], default_headers=s["default_headers"],
                   named_origin=crawler.is_named_origin)

    def process_request(self, request: Request, spider: Any) -> None:
        headers = request.headers
        if not headers:  # the common case (a followed link): a few dict operations
            headers.update(self.plain)
            own: set[str] | None = None
        else:
            own = {k.lower() for k in headers}
            for low, name, value in self._plain:
                if low not in own:
                    headers[name] = value
        referer = request.referer
        if referer and (own is None or "referer" not in own):
            headers["Referer"] = referer
        if self._credentials and self._named_origin(request.url):
            for low, name, value in self._credentials:
                if own is None or low not in own:
                    headers[name] = value
        return None
