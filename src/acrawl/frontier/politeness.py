"""Per-host politeness, one owner: when may a request to a host start.

>>> polite = Politeness(per_host=2, download_delay=1.0)
>>> claim = polite.claimer(now=0.0)       # what the scheduler hands the queue's pop
>>> claim("a.test"), claim("a.test")      # the delay: one start per second
(True, False)
>>> polite.wake_at                        # when a.test may start again
1.0
>>> polite.release("a.test")              # its download ended

Per host it holds the requests in flight (at most :attr:`per_host`), when the last one
started and the earliest the next may, the delay between two starts -- the largest of
:attr:`download_delay`, the gates' ``delay(host)`` (robots.txt ``Crawl-delay``) and the
AutoThrottle delay -- and pauses a server asked for (``Retry-After``). AutoThrottle
(:class:`acrawl.policies.throttle.AutoThrottle`, the :class:`Throttle` given) decides the
adaptive delay; this object stores its result.

Who calls what: the scheduler, :meth:`claimer` when it takes requests, :meth:`started` just
before a download, :meth:`release` after it; the engine, :meth:`observe` after each download
and :meth:`retry_after` for a response with ``Retry-After`` (a 429/503 pauses the host); a
shared frontier reads :attr:`per_host`, :attr:`download_delay`, :meth:`delay` and
:meth:`pauses` to keep the same limits for all workers (its global slots live in Redis).
Rules and tests: docs/politeness.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..gates import Gate
    from ..settings import Settings

__all__ = ["PAUSE_STATUSES", "Politeness", "Throttle"]

#: statuses whose ``Retry-After`` pauses the whole host, not only the retried request
#: (503 Service Unavailable, RFC 9110; 429 Too Many Requests, RFC 6585)
PAUSE_STATUSES = frozenset({429, 503})


class Throttle(Protocol):
    """Adapts a host's delay to what its downloads show (AutoThrottle)."""

    def observe(self, host: str, *, latency: float, status: int | None) -> float:
        """Record one download of ``host`` (``status`` None: it failed); the new delay."""
        ...


class Politeness:
    def __init__(
        self,
        *,
        per_host: int = 8,
        download_delay: float = 0.0,
        crawl_delay: Callable[[str], float | None] | None = None,
        throttle: Throttle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        #: requests in flight to one host at most (a shared frontier: for all workers)
        self.per_host = per_host
        #: the least delay between two starts of requests to one host, seconds
        self.download_delay = download_delay
        self.throttle = throttle
        self.clock = clock
        #: after a :meth:`claimer`'s refusals: the earliest time a refused host may start
        #: (None: none was refused for its delay or a pause)
        self.wake_at: float | None = None
        self._crawl_delay = crawl_delay
        self._active: dict[str, int] = {}  # host -> requests holding a slot
        self._next_start: dict[str, float] = {}  # host -> no claim before (delay, pause)
        self._last_start: dict[str, float] = {}  # host -> when its last request started
        self._adaptive: dict[str, float] = {}  # host -> AutoThrottle's delay
        self._paused: dict[str, float] = {}  # host -> paused until (Retry-After)

    @classmethod
    def from_settings(cls, settings: Settings, *, throttle: Throttle | None = None,
                      ) -> Politeness:
        """``per_host_concurrency`` and ``download_delay`` from ``settings``."""
        return cls(per_host=settings["per_host_concurrency"],
                   download_delay=settings["download_delay"], throttle=throttle)

    def use_gates(self, gates: Sequence[Gate]) -> None:
        """From now on a host's delay is at least the largest ``gate.delay(host)`` of
        ``gates`` (robots.txt ``Crawl-delay``); called when the crawl opens its gates."""
        delays = [gate.delay for gate in gates]
        self._crawl_delay = (
            (lambda host: max((d(host) or 0.0 for d in delays), default=0.0)) if delays
            else None)

    # -- asking -------------------------------------------------------------------------------
    def delay(self, host: str) -> float:
        """The least time between two starts of requests to ``host``, seconds: the largest of
        ``download_delay``, the gates' (robots.txt ``Crawl-delay``) and AutoThrottle's."""
        d = self.download_delay
        if self._crawl_delay is not None:
            d = max(d, self._crawl_delay(host) or 0.0)
        if not self._adaptive:
            return d
        adaptive = self._adaptive.get(host)
        return max(d, adaptive) if adaptive else d

    def in_flight(self, host: str) -> int:
        """Requests to ``host`` holding a slot (claimed and not released)."""
        return self._active.get(host, 0)

    def pauses(self) -> dict[str, float]:
        """The hosts paused now, each with the :attr:`clock` time its pause ends."""
        paused = self._paused
        if paused:
            now = self.clock()
            for host in [h for h, until in paused.items() if until <= now]:
                del paused[host]
        return dict(paused)

    # -- a request's turn ---------------------------------------------------------------------
    def claimer(self, now: float) -> Callable[[str], bool]:
        """The ``claim(host)`` for one :meth:`~acrawl.frontier.base.RequestQueue.pop` at time
        ``now``: ``True`` reserves a slot of ``host`` (the caller then holds it until
        :meth:`release`), if the host has fewer than :attr:`per_host` requests in flight and
        neither its delay since the previous claim nor a pause is still running; ``False``
        otherwise (the queue skips the host). Afterwards :attr:`wake_at` is the earliest time
        a host it refused for its delay or a pause may start."""
        self.wake_at = None
        active, next_start, per_host, delay_of = (
            self._active, self._next_start, self.per_host, self.delay)

        def claim(host: str) -> bool:
            n = active.get(host, 0)
            if n >= per_host:
                return False
            start = next_start.get(host)
            if start is not None and start > now:
                if self.wake_at is None or start < self.wake_at:
                    self.wake_at = start
                return False
            active[host] = n + 1
            delay = delay_of(host)
            if delay:
                next_start[host] = now + delay
            return True

        return claim

    def started(self, host: str) -> float:
        """A request holding a slot of ``host`` is about to be sent: how many seconds it must
        wait first (0.0: none), so that it starts at least :meth:`delay` after the host's
        previous start and not before a pause ends; that start is recorded. Needed on top
        of the claim because a delay can grow after the request was claimed (robots.txt
        ``Crawl-delay`` becomes known with the first request, AutoThrottle adapts, a server
        asks for a pause)."""
        delay = self.delay(host)
        now = self.clock()
        last = self._last_start.get(host)
        start = now if last is None or not delay else max(now, last + delay)
        if self._paused:
            until = self._paused.get(host)
            if until is not None and until > start:
                start = until
        self._last_start[host] = start
        if delay:
            self._next_start[host] = max(self._next_start.get(host, 0.0), start + delay)
        return start - now

    def sent(self, host: str) -> None:
        """A request to ``host`` is being sent now (its connection is ready): the host's
        delay counts from this moment, not from when :meth:`started` let it go."""
        last = self._last_start.get(host)
        if last is None:
            return
        now = self.clock()
        if now > last:
            self._last_start[host] = now
            delay = self.delay(host)
            if delay:
                self._next_start[host] = max(self._next_start.get(host, 0.0), now + delay)

    def skip_delay(self, host: str) -> None:
        """A request of ``host`` was answered without a download (the replay cache): the
        delay its claim reserved is given back; the host's last real start still spaces
        the next request."""
        last = self._last_start.get(host)
        delay = self.delay(host)
        if last is None or not delay:
            self._next_start.pop(host, None)
        else:
            self._next_start[host] = last + delay

    def release(self, host: str) -> None:
        """A request to ``host`` has finished downloading: its slot is free (once per claim)."""
        n = self._active.get(host, 0) - 1
        if n > 0:
            self._active[host] = n
        else:
            self._active.pop(host, None)

    # -- what the downloads show -------------------------------------------------------------
    def observe(self, host: str, *, latency: float, status: int | None) -> None:
        """A download of ``host`` took ``latency`` seconds and got ``status`` (None: it failed
        without a response); with AutoThrottle on, the host's delay follows."""
        if self.throttle is not None:
            self._adaptive[host] = self.throttle.observe(host, latency=latency, status=status)

    def pause(self, host: str, seconds: float) -> None:
        """Leave ``host`` alone for ``seconds`` (a ``Retry-After`` on one of
        :data:`PAUSE_STATUSES`): nothing is claimed for it, nor started, before then. A
        shorter pause never cuts a longer one short."""
        if seconds <= 0:
            return
        until = self.clock() + seconds
        if until > self._paused.get(host, 0.0):
            self._paused[host] = until
        if until > self._next_start.get(host, 0.0):
            self._next_start[host] = until

    def retry_after(self, host: str, status: int, seconds: float) -> None:
        """A response of ``host`` with ``status`` said ``Retry-After: seconds`` (already
        capped by ``max_retry_after``): one of :data:`PAUSE_STATUSES` pauses the whole host
        (:meth:`pause`); any other status delays only its own retry (the caller's business)."""
        if status in PAUSE_STATUSES:
            self.pause(host, seconds)

    def __repr__(self) -> str:
        return (f"<Politeness per_host={self.per_host} download_delay={self.download_delay} "
                f"in_flight={sum(self._active.values())} paused={len(self._paused)}>")
