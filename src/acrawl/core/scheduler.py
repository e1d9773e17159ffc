"""The scheduler: dedup, then queue, then politeness slots when requests are taken.

>>> sched = Scheduler(queue=MemoryQueue(), dupefilter=MemoryDupeFilter(),
...                   politeness=Politeness(per_host=2))
>>> accepted = await sched.add([Request("http://a.test/"), Request("http://a.test/#x")])
>>> len(accepted)        # the second is the same page
1
>>> [r.url for r in await sched.take(8)]
['http://a.test/']
>>> sched.release(accepted[0])

``take`` hands out a request only when its :class:`~acrawl.frontier.politeness.Politeness`
grants its host a slot (``per_host``) and its delay (``download_delay``, robots
``Crawl-delay`` or autothrottle, whichever is largest) and any ``Retry-After`` pause have
passed since the host's previous request started. Retries wait in a timer heap, outside dedup.

The delay is a promise about what the server sees, so a request "starts" when it is sent:
the downloader reports that moment (:meth:`Scheduler.sent`, once its connection is ready —
a new one may take long to open), and with a delay, ``pace`` lets the next request of the
host go only after the previous one was sent (or finished), plus the delay.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..urls import fingerprint

if TYPE_CHECKING:
    from ..frontier.base import DupeFilter, RequestQueue
    from ..frontier.politeness import Politeness
    from ..http import Request

__all__ = ["Scheduler"]


class Scheduler:
    def __init__(
        self,
        *,
        queue: RequestQueue,
        dupefilter: DupeFilter,
        politeness: Politeness,
    ) -> None:
        self.queue = queue
        self.dupefilter = dupefilter
        self.politeness = politeness
        self._clock = politeness.clock
        #: host -> (the request paced last, set once it was sent or finished), while a delay
        #: applies and that request has not been sent yet
        self._unsent: dict[str, tuple[Request, asyncio.Future[None]]] = {}
        self._later: list[tuple[float, int, Request, Request]] = []
        self._seq = itertools.count()

    # -- adding ---------------------------------------------------------------------------------
    async def add(
        self,
        requests: Sequence[Request],
        on_invalid: Callable[[Request, Exception], None] | None = None,
    ) -> list[Request]:
        """Queue the requests not seen before (``dont_filter`` ones always); return those.

        A request the backend cannot store (``queue.encode``) is reported to ``on_invalid``
        and skipped *before* dedup, so it is not marked as seen
        (:meth:`~acrawl.frontier.base.RequestQueue.add_unseen`)."""
        if not requests:
            return []
        fps = [None if r.dont_filter else fingerprint(r) for r in requests]
        return await self.queue.add_unseen(requests, fps, self.dupefilter, on_invalid)

    def add_later(self, request: Request, delay: float, replaces: Request | None = None) -> None:
        """Queue ``request`` again after ``delay`` seconds, bypassing dedup (a retry).

        ``replaces`` (the failed attempt) stays in flight in the queue until then, so a crash
        during the backoff still returns it to the queue."""
        heapq.heappush(self._later, (self._clock() + delay, next(self._seq), request,
                                     replaces or request))

    # -- taking ---------------------------------------------------------------------------------
    async def take(self, limit: int) -> list[Request]:
        """Up to ``limit`` requests whose hosts are ready, each holding a slot until
        :meth:`release`."""
        now = self._clock()
        claim = self.politeness.claimer(now)
        due: list[Request] = []
        replaced: list[Request] = []
        while self._later and self._later[0][0] <= now:
            _, _, request, old = heapq.heappop(self._later)
            due.append(request)
            replaced.append(old)
        if due:
            await self.queue.requeue(due, replaced)
        if limit <= 0:
            return []
        return await self.queue.pop(limit, claim)

    async def pace(self, request: Request) -> None:
        """Wait, holding the slot, until ``request`` may start: its host's delay after the
        previous start, and any pause (:meth:`Politeness.started
        <acrawl.frontier.politeness.Politeness.started>`). With a delay, the previous request
        of the host counts from when it was sent: wait for that first."""
        host = request.host
        politeness = self.politeness
        delay = politeness.delay(host)
        if delay:
            while (previous := self._unsent.get(host)) is not None:
                await asyncio.shield(previous[1])
        wait = politeness.started(host)
        if delay:
            self._unsent[host] = (request, asyncio.get_running_loop().create_future())
        if wait > 0:
            await asyncio.sleep(wait)

    def sent(self, request: Request) -> None:
        """``request`` is being sent now (the downloader's connection for it is ready): its
        host's delay counts from this moment, not from when ``pace`` let it go."""
        host = request.host
        self.politeness.sent(host)
        if self._unsent:
            self._settle(request, host)

    def _settle(self, request: Request, host: str) -> None:
        """``request`` was sent or is finished: the next request of its host may be paced."""
        entry = self._unsent.get(host)
        if entry is not None and entry[0] is request:
            del self._unsent[host]
            if not entry[1].done():
                entry[1].set_result(None)

    def skip_delay(self, request: Request) -> None:
        """``request`` was answered without a download (the replay cache): the delay its
        claim reserved is given back, so the host's next request need not wait for it. The
        host's last real download still spaces the next one (:meth:`pace`)."""
        self.politeness.skip_delay(request.host)

    def release(self, request: Request) -> None:
        """Free the host slot ``request`` held (call once per taken request); the queue is
        told too (a shared one frees the slot for every worker)."""
        host = request.host
        if self._unsent:  # finished without being sent (a failed connection): not waited for
            self._settle(request, host)
        self.politeness.release(host)
        self.queue.release(request)

    async def done(self, requests: Sequence[Request]) -> None:
        await self.queue.done(requests)

    def seconds_to_wake(self) -> float | None:
        """How long until a delayed host or a retry may become ready (None: nothing waiting)."""
        times = [t for t in (self.politeness.wake_at, self._later[0][0] if self._later else None)
                 if t]
        wait = max(0.0, min(times) - self._clock()) if times else None
        poll = self.queue.poll_interval  # shared queues: other workers add work
        if poll is not None and (wait is None or poll < wait):
            return float(poll)
        return wait

    @property
    def shared(self) -> bool:
        """The queue is shared with other workers (take in batches, poll when idle)."""
        return self.queue.shared

    async def count_page(self, limit: int) -> int | None:
        """:meth:`RequestQueue.count_page <acrawl.frontier.base.RequestQueue.count_page>`."""
        return await self.queue.count_page(limit)

    def stats(self) -> dict[str, int | float]:
        """The frontier's figures for the crawl's stats (the dedup filter's)."""
        return self.dupefilter.stats()

    async def pending(self) -> int:
        return await self.queue.size() + len(self._later)

    async def close(self) -> None:
        await self.queue.close()
        await self.dupefilter.close()
