"""Built-in robots.txt plugin: a gate that obeys ``robots.txt`` (via protego) per origin.

Each origin's ``robots.txt`` is fetched once, with the crawl's ``user_agent``, and cached:

* 2xx: parsed; disallowed URLs are dropped (``filtered/robots``), ``Crawl-delay`` becomes the
  host's minimum delay;
* 4xx (missing): everything allowed;
* 5xx, timeouts, connection errors: retried twice with backoff, then the origin counts as
  disallowed (``filtered/robots_unavailable``) for ``unavailable_for`` seconds (10 minutes),
  after which robots.txt is fetched again — as Google does.

At most :data:`ROBOTS_MAX_SIZE` (500 KiB, the limit RFC 9309 lets a crawler stop at) of a
robots.txt is read, whatever ``max_response_size`` says; a longer one is cut at its last whole
line and the rest ignored. It is decoded and parsed in a worker thread, never on the event
loop, and so are the checks against a large one.

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
from ..urls import host_key, scheme_of

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..settings import Settings
    from ..spider import Spider

__all__ = ["ROBOTS_MAX_SIZE", "RobotsGate", "acrawl_open_gate", "robots_origin"]

logger = logging.getLogger(__name__)

_ALLOW_ALL = "allow"
_DISALLOW_ALL = "disallow"

#: what is read of a robots.txt (decompressed bytes): RFC 9309 section 2.5 lets a crawler
#: stop parsing at 500 KiB
ROBOTS_MAX_SIZE = 500 * 1024
#: rules parsed from more text than this are checked in a worker thread (matching a URL
#: against tens of thousands of rules takes milliseconds)
_BIG = 64 * 1024


class _BigRules:
    """Parsed rules of a large robots.txt: ``can_fetch`` is run off the event loop."""

    __slots__ = ("rules",)

    def __init__(self, rules: Any) -> None:
        self.rules = rules


class RobotsGate:
    """Checks requests against their origin's robots.txt, fetching it once per origin.
    ``meta["dont_obey_robotstxt"]`` lets one request through unchecked; :meth:`describe`
    says what was found there (for ``acrawl explain``)."""

    name = "robots"

    def __init__(
        self,
        *,
        fetch: Callable[..., Awaitable[Response]],
        user_agent: str,
        max_size: int = ROBOTS_MAX_SIZE,
        attempts: int = 3,
        backoff: float = 1.0,
        unavailable_for: float = 600.0,
    ) -> None:
        self._unavailable_for = unavailable_for
        self._unavailable_until: dict[str, float] = {}
        self._fetch = fetch
        self._max_size = max_size
        self._ua = user_agent
        self._attempts = attempts
        self._backoff = backoff
        self._rules: dict[str, Any] = {}
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self._delays: dict[str, float] = {}
        #: origin -> what its robots.txt fetch gave, in words
        self._notes: dict[str, str] = {}

    def describe(self, request: Request) -> str | None:
        """What ``request``'s origin's robots.txt said, once :meth:`check` fetched it."""
        parts = urlsplit(request.url)
        return self._notes.get(f"{parts.scheme}://{parts.netloc}")

    async def check(self, request: Request) -> str | None:
        if request.meta and request.meta.get("dont_obey_robotstxt"):
            return None
        parts = urlsplit(request.url)
        if parts.path == "/robots.txt":
            return None
        origin = robots_origin(request.url)
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
        if type(rules) is _BigRules:
            allowed = await asyncio.to_thread(rules.rules.can_fetch, request.url, self._ua)
        else:
            allowed = rules.can_fetch(request.url, self._ua)
        return None if allowed else "robots"

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
        last = ""
        for attempt in range(self._attempts):
            try:
                resp = await self._fetch(url, max_size=self._max_size)
            except BlockedAddress:
                self._notes[origin] = f"{url} not fetched: the address guard refuses the host"
                return _ALLOW_ALL  # the page fetch itself is refused by the address guard
            except CacheMiss as exc:  # a replay crawl without it: nothing to obey offline
                logger.info("robots.txt %s: %s; allowing everything", url, exc)
                return _ALLOW_ALL
            except DownloadError as exc:
                logger.info("robots.txt %s: %s (attempt %d)", url, exc, attempt + 1)
                last = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= resp.status < 300:
                    if resp.truncated:
                        logger.warning("robots.txt %s is larger than %d bytes: the rest is "
                                       "ignored", url, self._max_size)
                    rules = await asyncio.to_thread(_parse, resp)
                    delay = rules.crawl_delay(self._ua)
                    if delay:
                        self._delays[host_key(origin)] = float(delay)
                    self._notes[origin] = f"{url}: HTTP {resp.status}" + (
                        f", Crawl-delay {float(delay):g}s" if delay else "")
                    return _BigRules(rules) if len(resp.body) > _BIG else rules
                if 300 <= resp.status < 500:
                    self._notes[origin] = (f"{url}: HTTP {resp.status}, so no rules: "
                                           "everything allowed")
                    return _ALLOW_ALL
                logger.info("robots.txt %s: HTTP %d (attempt %d)", url, resp.status, attempt + 1)
                last = f"HTTP {resp.status}"
            if attempt + 1 < self._attempts:
                await asyncio.sleep(self._backoff * 2**attempt)
        logger.warning("robots.txt %s unavailable; not crawling that origin for %.0fs",
                       url, self._unavailable_for)
        self._notes[origin] = (f"{url} unavailable after {self._attempts} attempts ({last}): "
                               f"the origin is off-limits for {self._unavailable_for:.0f}s")
        self._unavailable_until[origin] = time.monotonic() + self._unavailable_for
        return _DISALLOW_ALL


def robots_origin(url: str) -> str:
    """The origin whose robots.txt rules ``url``: scheme, host and port only, as the client
    connects to them (``http://u:p@Host:80/x`` -> ``http://host``). Credentials, letter case
    and a default port are not part of it, so robots.txt is fetched once per origin, and
    without credentials."""
    return f"{scheme_of(url)}://{host_key(url)}"


def _parse(resp: Response) -> Any:
    """Decode and parse a robots.txt body (run in a worker thread). A cut body loses its
    last, partial line: half a rule is not a rule."""
    text = resp.text
    if resp.truncated:
        text = text[: text.rfind("\n") + 1]
    return Protego.parse(text)


@hookimpl
def acrawl_open_gate(settings: Settings, spider: Spider, fetch: Any) -> RobotsGate | None:
    if not settings["obey_robots"]:
        return None
    return RobotsGate(fetch=fetch, user_agent=settings["user_agent"])
