"""The scheduler: dedup, then queue, then politeness slots when requests are taken.

>>> sched = Scheduler(queue=MemoryQueue(), dupefilter=MemoryDupeFilter(), per_host=2)
>>> accepted = await sched.add([Request("http://a.test/"), Request("http://a.test/#x")])
>>> len(accepted)        # the second is the same page
1
>>> [r.url for r in await sched.take(8)]
['http://a.test/']
>>> sched.release(accepted[0])

``take`` hands out a request only when its host has a free slot (``per_host``) and its delay
(``download_delay``, robots ``Crawl-delay`` or autothrottle, whichever is largest) has passed
since the host's previous request started. Retries wait in a timer heap, outside dedup.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import SerializationError
from ..urls import fingerprint

if TYPE_CHECKING:
    from ..frontier.base import DupeFilter, RequestQueue
    from ..http import Request

__all__ = ["Scheduler"]


class Scheduler:
    def __init__(
        self,
        *,
        queue: RequestQueue,
        dupefilter: DupeFilter,
        per_host: int = 8,
        delay: float = 0.0,
        host_delay: Callable[[str], float | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue = queue
        self.dupefilter = dupefilter
        self.per_host = per_host
        self.delay = delay
        self._host_delay = host_delay
        self._clock = clock
        self._active: dict[str, int] = {}
        self._next_start: dict[str, float] = {}
        self._last_start: dict[str, float] = {}
        self._later: list[tuple[float, int, Request, Request]] = []
        self._seq = itertools.count()
        self._wake_at: float | None = None
        self.extra_delay: dict[str, float] = {}  # autothrottle writes here

    # -- adding ---------------------------------------------------------------------------------
    async def add(
        self,
        requests: Sequence[Request],
        on_invalid: Callable[[Request, Exception], None] | None = None,
    ) -> list[Request]:
        """Queue the requests not seen before (``dont_filter`` ones always); return those.

        With a backend that stores requests (``queue.encode``), a request it cannot store is
        reported to ``on_invalid`` and skipped *before* dedup, so it is not marked as seen."""
        if not requests:
            return []
        add_unseen = getattr(self.queue, "add_unseen", None)
        if add_unseen is not None:  # a backend that dedups and stores itself
            fps = [None if r.dont_filter else fingerprint(r) for r in requests]
            accepted: list[Request] = await add_unseen(requests, fps, on_invalid)
            return accepted
        encode = getattr(self.queue, "encode", None)
        if encode is not None:
            valid = []
            for r in requests:
                try:
                    encode(r)
                except SerializationError as exc:
                    if on_invalid is None:
                        raise
                    on_invalid(r, exc)
                else:
                    valid.append(r)
            requests = valid
        check = [r for r in requests if not r.dont_filter]
        new_flags = await self.dupefilter.add([fingerprint(r) for r in check]) if check else []
        flags = iter(new_flags)
        accepted = [r for r in requests if r.dont_filter or next(flags)]
        if accepted:
            await self.queue.push(accepted)
        return accepted

    def add_later(self, request: Request, delay: float, replaces: Request | None = None) -> None:
        """Queue ``request`` again after ``delay`` seconds, bypassing dedup (a retry).

        ``replaces`` (the failed attempt) stays in flight in the queue until then, so a crash
        during the backoff still returns it to the queue."""
        heapq.heappush(self._later, (self._clock() + delay, next(self._seq), request,
                                     replaces or request))

    # -- taking ---------------------------------------------------------------------------------
    def host_delay(self, host: str) -> float:
        d = self.delay
        if self._host_delay is not None:
            d = max(d, self._host_delay(host) or 0.0)
        extra = self.extra_delay.get(host)
        return max(d, extra) if extra else d

    async def take(self, limit: int) -> list[Request]:
        """Up to ``limit`` requests whose hosts are ready, each holding a slot until
        :meth:`release`."""
        now = self._clock()
        self._wake_at = None
        due: list[Request] = []
        replaced: list[Request] = []
        while self._later and self._later[0][0] <= now:
            _, _, request, old = heapq.heappop(self._later)
            due.append(request)
            replaced.append(old)
        if due:
            requeue = getattr(self.queue, "requeue", None)
            if requeue is not None:  # both in one transaction
                await requeue(due, replaced)
            else:
                await self.queue.push(due)
                await self.queue.done(replaced)
        if limit <= 0:
            return []
        active, next_start, per_host = self._active, self._next_start, self.per_host

        def claim(host: str) -> bool:
            if active.get(host, 0) >= per_host:
                return False
            start = next_start.get(host)
            if start is not None and start > now:
                if self._wake_at is None or start < self._wake_at:
                    self._wake_at = start
                return False
            active[host] = active.get(host, 0) + 1
            delay = self.host_delay(host)
            if delay:
                next_start[host] = now + delay
            return True

        return await self.queue.pop(limit, claim)

    async def pace(self, request: Request) -> None:
        """Wait, holding the slot, until ``request`` may start: its host's delay after the
        previous start. Needed because a delay can grow after the request was taken (robots
        ``Crawl-delay`` becomes known with the first request, AutoThrottle adapts)."""
        host = request.host
        delay = self.host_delay(host)
        now = self._clock()
        last = self._last_start.get(host)
        start = now if last is None or not delay else max(now, last + delay)
        self._last_start[host] = start
        if delay:
            self._next_start[host] = max(self._next_start.get(host, 0.0), start + delay)
        if start > now:
            await asyncio.sleep(start - now)

    def skip_delay(self, request: Request) -> None:
        """``request`` was answered without a download (the replay cache): the delay its
        claim reserved is given back, so the host's next request need not wait for it. The
        host's last real download still spaces the next one (:meth:`pace`)."""
        host = request.host
        last = self._last_start.get(host)
        delay = self.host_delay(host)
        if last is None or not delay:
            self._next_start.pop(host, None)
        else:
            self._next_start[host] = last + delay

    def release(self, request: Request) -> None:
        """Free the host slot ``request`` held (call once per taken request). A shared queue
        that keeps slots across workers is told too (``queue.release``)."""
        host = request.host
        n = self._active.get(host, 0) - 1
        if n > 0:
            self._active[host] = n
        else:
            self._active.pop(host, None)
        release = getattr(self.queue, "release", None)
        if release is not None:
            release(request)

    async def done(self, requests: Sequence[Request]) -> None:
        await self.queue.done(requests)

    def seconds_to_wake(self) -> float | None:
        """How long until a delayed host or a retry may become ready (None: nothing waiting)."""
        times = [t for t in (self._wake_at, self._later[0][0] if self._later else None) if t]
        wait = max(0.0, min(times) - self._clock()) if times else None
        poll = getattr(self.queue, "poll_interval", None)  # shared queues: others add work
        if poll is not None and (wait is None or poll < wait):
            return float(poll)
        return wait

    async def pending(self) -> int:
        return await self.queue.size() + len(self._later)

    async def close(self) -> None:
        await self.queue.close()
        await self.dupefilter.close()
