"""Built-in component ``proxy``: which proxy each request goes through.

::

    acrawl-run shop -s 'proxy=["http://u:p@10.0.0.5:3128", "http://10.0.0.6:3128"]'

    yield acrawl.Request(url, meta={"proxy": "http://user:pass@proxy.test:8080"})  # this one
    yield acrawl.Request(url, meta={"proxy": None})                                # direct

The downloader sends a request through ``meta["proxy"]`` (an ``http://`` proxy URL; https
targets through ``CONNECT``) and derives ``Proxy-Authorization`` from the URL's credentials on
every attempt; a ``Proxy-Authorization`` header is never sent, so credentials cannot reach a
target or outlive a change of proxy. This component fills ``meta["proxy"]`` when the request
does not name one itself:

* from the ``proxy`` setting — one URL, or a list used in turn (round robin). A proxy that
  fails (a connection error or a timeout through it) is **benched**: left out for
  ``proxy_bench`` seconds, twice as long after each further failure in a row (at most ten
  minutes), while the others carry the crawl (when every proxy is benched, the one back
  soonest is used). A response through a proxy makes it healthy again. The request that
  failed is retried (``retry``) through another proxy: a proxy chosen here is chosen again
  on every attempt and every redirect hop (``meta["_proxy_pool"]`` marks it);
* else, with ``proxy_from_env = true``, from ``HTTP_PROXY``/``HTTPS_PROXY`` (by the target's
  scheme) unless ``NO_PROXY`` names the host — read once, at the start of the crawl. Without
  that setting proxy environment variables are ignored.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import BlockedAddress, ConnectError, DownloadError, DownloadTimeout
from ..urls import host_key, scheme_of

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..stats import Stats

__all__ = ["ProxyMiddleware", "ProxyPool"]

logger = logging.getLogger(__name__)

#: meta key: ``meta["proxy"]`` was chosen by this component (choose again on the next attempt)
POOLED = "_proxy_pool"
MAX_BENCH = 600.0


class ProxyPool:
    """Proxies in turn, leaving out the ones benched after failing.

    >>> pool = ProxyPool(["http://a:1", "http://b:1"], bench=30, clock=lambda: 0.0)
    >>> pool.failed("http://a:1")      # benched for 30 s, then 60 s if it fails again, ...
    30.0
    >>> [pool.choose() for _ in range(3)]
    ['http://b:1', 'http://b:1', 'http://b:1']
    """

    def __init__(self, proxies: Sequence[str], *, bench: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not proxies:
            raise ValueError("a proxy pool needs at least one proxy")
        self.proxies = list(dict.fromkeys(proxies))
        self.bench = bench
        self._clock = clock
        self._next = 0
        self._failures: dict[str, int] = {}
        self._benched_until: dict[str, float] = {}

    def choose(self) -> str:
        """The next proxy that is not benched (or, if all are, the one back soonest)."""
        proxies = self.proxies
        if not self._benched_until:  # all healthy: plain round robin
            proxy = proxies[self._next % len(proxies)]
            self._next += 1
            return proxy
        now = self._clock()
        for _ in range(len(proxies)):
            proxy = proxies[self._next % len(proxies)]
            self._next += 1
            until = self._benched_until.get(proxy)
            if until is None or until <= now:
                return proxy
        return min(proxies, key=lambda p: self._benched_until.get(p, 0.0))

    def failed(self, proxy: str) -> float:
        """``proxy`` failed: bench it; the seconds it is benched for."""
        n = self._failures[proxy] = self._failures.get(proxy, 0) + 1
        seconds = min(self.bench * 2 ** (n - 1), MAX_BENCH)
        self._benched_until[proxy] = self._clock() + seconds
        return seconds

    def succeeded(self, proxy: str) -> None:
        if proxy in self._failures:
            del self._failures[proxy]
            self._benched_until.pop(proxy, None)

    def benched(self) -> list[str]:
        now = self._clock()
        return [p for p, until in self._benched_until.items() if until > now]


class ProxyMiddleware:
    name = "proxy"

    def __init__(self, *, pool: ProxyPool | None = None, env: Mapping[str, str] | None = None,
                 stats: Stats | None = None) -> None:
        self.pool = pool
        self.env = dict(env or {})
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> ProxyMiddleware:
        s = crawler.settings
        pool = ProxyPool(s["proxy"], bench=s["proxy_bench"]) if s["proxy"] else None
        env = proxies_from_env() if s["proxy_from_env"] else None
        return cls(pool=pool, env=env, stats=crawler.stats)

    def process_request(self, request: Request, spider: Any) -> None:
        meta = request.meta
        if "proxy" in meta and not meta.get(POOLED):
            return None  # the request's own choice (None: no proxy)
        proxy = self.pool.choose() if self.pool is not None else self._from_env(request.url)
        if proxy is None:
            meta.pop("proxy", None)
            meta.pop(POOLED, None)
        else:
            meta["proxy"] = proxy
            meta[POOLED] = True
        return None

    def _from_env(self, url: str) -> str | None:
        env = self.env
        if not env:
            return None
        proxy = env.get(scheme_of(url))
        # the standard library's NO_PROXY matching (suffixes, ports, "*"; not in typeshed)
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if proxy is None or bypass(host_key(url), env):
            return None
        return proxy

    def process_response(self, request: Request, response: Response, spider: Any) -> Response:
        meta = request.meta
        if self.pool is not None and meta.get(POOLED):
            self.pool.succeeded(meta["proxy"])
        return response

    def process_exception(self, request: Request, exception: DownloadError,
                          spider: Any) -> None:
        meta = request.meta
        if (self.pool is not None and meta.get(POOLED) and len(self.pool.proxies) > 1
                and isinstance(exception, ConnectError | DownloadTimeout)
                and not isinstance(exception, BlockedAddress)):
            proxy = meta["proxy"]
            seconds = self.pool.failed(proxy)
            if self.stats is not None:
                self.stats.inc("proxy/benched")
            logger.warning("proxy %s benched for %gs after %s (%d of %d benched)",
                           _without_credentials(proxy), seconds, type(exception).__name__,
                           len(self.pool.benched()), len(self.pool.proxies))
        return None


def proxies_from_env() -> dict[str, str]:
    """``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` (either case) as ``{"http": ..., "https":
    ..., "no": ...}``; proxies that are not ``http://`` URLs are left out (with a warning)."""
    env = urllib.request.getproxies_environment()
    out = {k: v for k, v in env.items() if k == "no"}
    for scheme in ("http", "https"):
        proxy = env.get(scheme)
        if proxy is None:
            continue
        if scheme_of(proxy) not in ("http", "https"):
            logger.warning("%s_PROXY=%s is not an http:// proxy URL; ignored", scheme.upper(),
                           _without_credentials(proxy))
            continue
        out[scheme] = proxy
    return out


def _without_credentials(proxy: str) -> str:
    scheme, sep, rest = proxy.partition("://")
    if not sep:
        return proxy
    netloc, slash, path = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"
