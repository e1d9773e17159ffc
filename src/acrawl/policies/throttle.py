"""AutoThrottle: a per-host delay that follows the server's latency and backs off on trouble.

Like Scrapy's AutoThrottle, the delay aims at ``target_concurrency`` requests in flight per host
(``delay ≈ latency / target``), moving halfway there after each response and never below
``download_delay``. Unlike it, it also backs off multiplicatively on 429/503 responses and on
timeouts or connection errors (the signs of an overloaded server), and recovers gradually.

>>> t = AutoThrottle(target_concurrency=2.0, min_delay=0.0, max_delay=30.0)
>>> t.observe("a.test", latency=0.4, status=200)   # -> 0.1 (halfway to 0.2 from 0.0)
0.1
>>> t.observe("a.test", latency=0.4, status=503)   # trouble: double, at least 1 s
1.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..http import Request, Response

__all__ = ["AutoThrottle", "ThrottleMiddleware"]

_OVERLOAD = frozenset({429, 503})


class AutoThrottle:
    def __init__(
        self, *, target_concurrency: float = 2.0, min_delay: float = 0.0, max_delay: float = 60.0
    ) -> None:
        self.target = max(target_concurrency, 0.1)
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.delays: dict[str, float] = {}

    def observe(self, host: str, *, latency: float, status: int | None) -> float:
        """Record one download of ``host`` (``status`` None: it failed); return the new delay."""
        old = self.delays.get(host, self.min_delay)
        if status is None or status in _OVERLOAD:
            new = max(old * 2, 1.0)
        else:
            target = latency / self.target
            new = (old + target) / 2
            if status >= 400:  # errors are fast; don't let them pull the delay down
                new = max(new, old)
        new = min(max(new, self.min_delay), self.max_delay)
        self.delays[host] = round(new, 6)
        return self.delays[host]


class ThrottleMiddleware:
    """Built-in component ``throttle`` (with ``autothrottle = true``): feeds each download's
    latency and status to the crawl's per-host politeness, whose :class:`AutoThrottle` turns
    them into the host's delay."""

    name = "throttle"

    def __init__(self, *, observe: Callable[..., None]) -> None:
        self._observe_host = observe

    def _observe(self, request: Request, status: int | None) -> None:
        latency = request.meta.get("download_latency", 0.0)
        self._observe_host(request.host, latency=latency, status=status)

    def process_response(self, request: Request, response: Response, spider: Any) -> Response:
        if "cached" in response.flags:  # the replay cache's: no download to learn from
            return response
        self._observe(request, response.status)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Any) -> None:
        self._observe(request, None)
