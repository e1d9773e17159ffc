"""Cookie jars: one per session (Scrapy's ``meta["cookiejar"]``), with the browser's rules.

>>> jar = CookieJar()
>>> jar.store("http://a.example/login", ["sid=1; Path=/", "all=2; Domain=example"])
1
>>> jar.header("http://a.example/account")      # the second one was for a public suffix
'sid=1'

The rules of RFC 6265 are the standard library's :mod:`http.cookiejar` (its
``DefaultCookiePolicy``, with strict host-only matching): a cookie without ``Domain`` goes back
to its host only, a ``Domain=`` cookie to that domain and its subdomains, never to another
site; ``Path`` prefixes match on ``/`` boundaries; ``Secure`` cookies only over https; expiry
(``Expires``, ``Max-Age``) honoured; ports ignored, as RFC 6265 says. On top of it:

* a cookie whose ``Domain`` is a public suffix (``co.uk``, ``github.io``; the list of the
  maintained ``publicsuffixlist`` package, loaded on first use) is refused — unless it is the
  request's own host, where it becomes a host-only cookie (RFC 6265 §5.3 step 5);
* a ``Secure`` cookie set over plain http is refused (RFC 6265bis);
* cookies are kept per **site** (the registrable domain, ``example.co.uk``; the host itself for
  addresses and single labels), so looking up a request's cookies reads only its own site's;
* when all of a site's cookies have ``Path=/`` (the usual case) its header is computed once per
  scheme and host, until the site's cookies change or one expires (~0.7 µs instead of ~30 µs
  of ``http.cookiejar`` per request).

:meth:`dump` and :meth:`load` give a site's cookies as JSON data, for ``--state``.
"""

from __future__ import annotations

import http.cookiejar
import math
import time
import urllib.request
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

from ..urls import hostname, scheme_of

__all__ = ["CookieJar", "site_of"]

#: the public suffix list, loaded on first use (it takes ~50 ms)
_psl: Any = None


def _public_suffixes() -> Any:
    global _psl
    if _psl is None:
        from publicsuffixlist import PublicSuffixList

        _psl = PublicSuffixList()
    return _psl


def is_public_suffix(domain: str) -> bool:
    """``co.uk``, ``github.io``, ``com``, and an unknown single label such as ``test``."""
    return bool(_public_suffixes().is_public(domain))


def _is_address(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit()


_sites: dict[str, str] = {}
_MISS = object()


def site_of(host: str) -> str:
    """The site a host's cookies are kept under: its registrable domain (``a.b.example.co.uk``
    -> ``example.co.uk``), or the host itself (an address, ``localhost``, a public suffix)."""
    site = _sites.get(host)
    if site is None:
        site = host if _is_address(host) else (_public_suffixes().privatesuffix(host) or host)
        if len(_sites) > 10_000:
            _sites.clear()
        _sites[host] = site
    return site


class _Headers:
    """The ``response.info()`` the standard library asks for ``Set-Cookie`` values."""

    def __init__(self, values: list[str]) -> None:
        self.values = values

    def get_all(self, name: str, default: Any = None) -> Any:
        return self.values if name.lower() == "set-cookie" and self.values else default


class _Response:
    def __init__(self, values: list[str]) -> None:
        self._headers = _Headers(values)

    def info(self) -> _Headers:
        return self._headers


def _policy() -> http.cookiejar.DefaultCookiePolicy:
    return http.cookiejar.DefaultCookiePolicy(
        rfc2965=False,  # Set-Cookie2 is long dead
        strict_ns_domain=http.cookiejar.DefaultCookiePolicy.DomainStrictNonDomain,  # host-only
    )


#: the fields of a stored cookie (``http.cookiejar.Cookie``'s arguments) and their types
_FIELDS: dict[str, tuple[type, ...]] = {
    "version": (int, type(None)), "name": (str,), "value": (str, type(None)),
    "port": (str, type(None)), "port_specified": (bool,), "domain": (str,),
    "domain_specified": (bool,), "domain_initial_dot": (bool,), "path": (str,),
    "path_specified": (bool,), "secure": (bool,), "expires": (int, type(None)),
    "discard": (bool,),
}


class CookieJar:
    """The cookies of one session, by site; see the module docstring."""

    def __init__(self) -> None:
        self._policy = _policy()
        self._sites: dict[str, http.cookiejar.CookieJar] = {}
        #: site -> {(scheme, host): header}, for a site whose cookies all have path "/" and no
        #: port (then the header depends on nothing else), until its first cookie expires
        self._headers: dict[str, dict[tuple[str, str], str | None]] = {}
        self._expiry: dict[str, float] = {}

    def __bool__(self) -> bool:
        return bool(self._sites)

    def _jar(self, site: str, create: bool) -> http.cookiejar.CookieJar | None:
        jar = self._sites.get(site)
        if jar is None and create:
            jar = self._sites[site] = http.cookiejar.CookieJar(self._policy)
        return jar

    def header(self, url: str) -> str | None:
        """The ``Cookie`` header the jar has for ``url`` (``name=value; ...``), or None."""
        host = hostname(url)
        site = site_of(host) if host else ""
        jar = self._sites.get(site)
        if jar is None:
            return None
        cache = self._headers.get(site)
        if cache is not None and time.time() >= self._expiry[site]:
            self._changed(site)
            cache = self._headers.get(site)
        key = (scheme_of(url), host)
        if cache is not None:
            value = cache.get(key, _MISS)
            if value is not _MISS:
                return value  # type: ignore[return-value]
        request = urllib.request.Request(url)
        jar.add_cookie_header(request)
        value = request.get_header("Cookie")
        if cache is not None:
            if len(cache) > 256:
                cache.clear()
            cache[key] = value
        return value

    def _changed(self, site: str) -> None:
        """The cookies of ``site`` changed (or one expired): forget its cached headers."""
        jar = self._sites.get(site)
        cookies = list(jar) if jar is not None else []
        if cookies and all(c.path == "/" and c.port is None for c in cookies):
            self._headers[site] = {}
            self._expiry[site] = min((c.expires for c in cookies if c.expires is not None),
                                     default=math.inf)
        else:
            self._headers.pop(site, None)
            self._expiry.pop(site, None)

    def store(self, url: str, set_cookies: Iterable[str]) -> int:
        """Store the cookies of ``Set-Cookie`` values received from ``url``; how many were
        kept (refused: not for this host, a public suffix, ``Secure`` over http, expired)."""
        values = list(set_cookies)
        host = hostname(url)
        if not values or not host:
            return 0
        site = site_of(host)
        jar = self._jar(site, create=True)
        assert jar is not None
        request = urllib.request.Request(url)
        secure = scheme_of(url) == "https"
        kept = 0
        for cookie in _read_cookies(jar, values, request):
            if cookie.secure and not secure:
                continue
            if cookie.domain_specified:
                domain = cookie.domain.lstrip(".")
                if is_public_suffix(domain):
                    if domain != host:
                        continue
                    cookie.domain, cookie.domain_specified = host, False  # host-only
                    cookie.domain_initial_dot = False
            try:
                ok = self._policy.set_ok(cookie, request)
            except (ValueError, UnicodeError):  # a name or path the rules cannot read
                ok = False
            if ok:
                jar.set_cookie(cookie)
                kept += 1
        if not len(jar):
            del self._sites[site]
        self._changed(site)
        return kept

    def __iter__(self) -> Iterator[http.cookiejar.Cookie]:
        for jar in self._sites.values():
            yield from jar

    def sites(self) -> list[str]:
        return list(self._sites)

    def site_for(self, url: str) -> str:
        return site_of(hostname(url))

    # -- persistence ----------------------------------------------------------------------------
    def dump(self, site: str) -> list[dict[str, Any]]:
        """The unexpired cookies of ``site`` (session cookies too) as JSON data."""
        jar = self._sites.get(site)
        if jar is None:
            return []
        now = int(time.time())
        return [{f: getattr(c, f) for f in _FIELDS} for c in jar if not c.is_expired(now)]

    def load(self, site: str, cookies: list[Any]) -> None:
        """Put back what :meth:`dump` gave; ValueError for anything it did not write."""
        if not isinstance(cookies, list):
            raise ValueError(f"cookies of {site!r} are not a list")
        jar = self._jar(site, create=True)
        assert jar is not None
        for data in cookies:
            if not isinstance(data, dict) or set(data) != set(_FIELDS) or any(
                    not isinstance(data[f], t) or (isinstance(data[f], bool) and bool not in t)
                    for f, t in _FIELDS.items()):
                raise ValueError(f"a stored cookie of {site!r} is not what acrawl wrote")
            jar.set_cookie(http.cookiejar.Cookie(comment=None, comment_url=None, rest={},
                                                 **data))
        if not len(jar):
            del self._sites[site]
        self._changed(site)


def _read_cookies(jar: Any, values: list[str],
                  request: urllib.request.Request) -> list[Any]:
    """The cookies of each ``Set-Cookie`` value; a value http.cookiejar cannot read (raw
    bytes a server sent, say) is left out alone, never the response's other cookies."""
    out: list[Any] = []
    for value in values:
        # http.cookiejar reports a value it cannot read as its own "bug" (a UserWarning on
        # stderr) and gives no cookie: that is what a hostile value should get, silently
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                out.extend(jar.make_cookies(_Response([value]), request))
            except (ValueError, UnicodeError, IndexError):
                continue
    return out
