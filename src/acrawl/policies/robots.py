"""Built-in robots.txt plugin: a gate that obeys ``robots.txt`` (via protego) per origin.

Each origin's ``robots.txt`` is fetched once, with the crawl's ``user_agent``, and cached:

* 2xx: parsed; disallowed URLs are dropped (``filtered/robots``), ``Crawl-delay`` becomes the
  host's minimum delay;
* 4xx (missing): everything allowed;
* 5xx, timeouts, connection errors: retried twice with backoff, then the origin counts as
  disallowed (``filtered/robots_unavailable``) for ``unavailable_for`` seconds (10 minutes),
  after which robots.txt is fetched again — as Google does.

Turned off with ``obey_robots = false`` (``--no-robots``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from protego import Protego

from ..errors import BlockedAddress, CacheMiss, DownloadError
from ..hookspecs import hookimpl
from ..urls import host_key

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..settings import Settings
    from ..spider import Spider

__all__ = ["RobotsGate", "acrawl_open_gate"]

logger = logging.getLogger(__name__)

_ALLOW_ALL = "allow"
_DISALLOW_ALL = "disallow"


class RobotsGate:
    """Checks requests against their origin's robots.txt, fetching it once per origin.
    ``meta["dont_obey_robotstxt"]`` lets one request through unchecked."""

    name = "robots"

    def __init__(
        self,
        *,
        fetch: Callable[[str], Awaitable[Response]],
        user_agent: str,
        attempts: int = 3,
        backoff: float = 1.0,
        unavailable_for: float = 600.0,
    ) -> None:
        self._unavailable_for = unavailable_for
        self._unavailable_until: dict[str, float] = {}
        self._fetch = fetch
        self._ua = user_agent
        self._attempts = attempts
        self._backoff = backoff
        self._rules: dict[str, Any] = {}
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self._delays: dict[str, float] = {}

    async def check(self, request: Request) -> str | None:
        if request.meta and request.meta.get("dont_obey_robotstxt"):
            return None
        parts = urlsplit(request.url)
        if parts.path == "/robots.txt":
            return None
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = self._rules.get(origin)
        if rules is _DISALLOW_ALL and time.monotonic() > self._unavailable_until.get(origin, 0):
            self._rules.pop(origin, None)
            self._loading.pop(origin, None)
            rules = None
        if rules is None:
            rules = await self._load(origin)
        if rules is _ALLOW_ALL:
            return None
        if rules is _DISALLOW_ALL:
            return "robots_unavailable"
        return None if rules.can_fetch(request.url, self._ua) else "robots"

    def delay(self, host: str) -> float | None:
        return self._delays.get(host)

    async def close(self) -> None:
        for fut in self._loading.values():
            fut.cancel()

    async def _load(self, origin: str) -> Any:
        fut = self._loading.get(origin)
        if fut is None:
            fut = self._loading[origin] = asyncio.ensure_future(self._download(origin))
        rules = await asyncio.shield(fut)
        self._rules[origin] = rules
        return rules

    async def _download(self, origin: str) -> Any:
        url = origin + "/robots.txt"
        for attempt in range(self._attempts):
            try:
                resp = await self._fetch(url)
            except BlockedAddress:
                return _ALLOW_ALL  # the page fetch itself is refused by the address guard
            except CacheMiss as exc:  # a replay crawl without it: nothing to obey offline
                logger.info("robots.txt %s: %s; allowing everything", url, exc)
                return _ALLOW_ALL
            except DownloadError as exc:
                logger.info("robots.txt %s: %s (attempt %d)", url, exc, attempt + 1)
            else:
                if 200 <= resp.status < 300:
                    rules = Protego.parse(resp.text)
                    delay = rules.crawl_delay(self._ua)
                    if delay:
                        self._delays[host_key(origin)] = float(delay)
                    return rules
                if 300 <= resp.status < 500:
                    return _ALLOW_ALL
                logger.info("robots.txt %s: HTTP %d (attempt %d)", url, resp.status, attempt + 1)
            if attempt + 1 < self._attempts:
                await asyncio.sleep(self._backoff * 2**attempt)
        logger.warning("robots.txt %s unavailable; not crawling that origin for %.0fs",
                       url, self._unavailable_for)
        self._unavailable_until[origin] = time.monotonic() + self._unavailable_for
        return _DISALLOW_ALL


@hookimpl
def acrawl_open_gate(settings: Settings, spider: Spider, fetch: Any) -> RobotsGate | None:
    if not settings["obey_robots"]:
        return None
    return RobotsGate(fetch=fetch, user_agent=settings["user_agent"])
