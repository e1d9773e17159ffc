"""A read-only view of a running crawl: the figures the live view, the stats line and the
metrics show, taken at one moment.

>>> view = CrawlView(stats=stats, hosts=host_stats, pending=scheduler.pending,
...                  in_flight=lambda: engine.in_flight, host_delay=scheduler.host_delay)
>>> snap = await view.snapshot()
>>> snap.pages, snap.queue, snap.hosts[0].host

Rates come from two snapshots: :meth:`Snapshot.rates_since`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ..stats import Stats
    from .hoststats import HostStats

__all__ = ["CrawlView", "HostRow", "Snapshot"]


@attrs.frozen
class HostRow:
    host: str
    in_flight: int
    queued: int | None  # None: the frontier does not tell
    delay: float
    pages: int
    errors: int


@attrs.frozen
class Snapshot:
    at: float  # monotonic
    elapsed: float  # seconds since the crawl started
    pages: int  # crawl total (a resumed crawl counts its earlier runs)
    pages_this_run: int
    items: int
    bytes: int
    queue: int
    in_flight: int
    errors: int
    counters: dict[str, int]
    hosts: tuple[HostRow, ...]

    def rates_since(self, earlier: Snapshot | None) -> dict[str, float]:
        """Pages, items and bytes per second since ``earlier`` (None: since the start)."""
        if earlier is None:
            span = self.elapsed
            base = {"pages": self.pages - self.pages_this_run, "items": 0, "bytes": 0}
        else:
            span = self.at - earlier.at
            base = {"pages": earlier.pages, "items": earlier.items, "bytes": earlier.bytes}
        if span <= 0:
            return {"pages": 0.0, "items": 0.0, "bytes": 0.0}
        return {"pages": (self.pages - base["pages"]) / span,
                "items": (self.items - base["items"]) / span,
                "bytes": (self.bytes - base["bytes"]) / span}


class CrawlView:
    """Reads a crawl's figures through the callables it is given (see the module example)."""

    def __init__(
        self,
        *,
        stats: Stats,
        hosts: HostStats,
        pending: Callable[[], Awaitable[int]],
        in_flight: Callable[[], int],
        host_delay: Callable[[str], float],
        queued_by_host: Callable[[Sequence[str]], Awaitable[dict[str, int]]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = stats
        self.host_stats = hosts
        self._pending = pending
        self._in_flight = in_flight
        self._host_delay = host_delay
        self._queued_by_host = queued_by_host
        self._clock = clock
        self._final: Snapshot | None = None
        self._last_queue = 0

    #: longest a snapshot waits for the frontier (a Redis in an outage): then the last figure
    frontier_wait = 1.0

    async def _bounded(self, aw: Awaitable[Any], default: Any) -> Any:
        # (asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
        # lands as the awaited call completes, and the task that was cancelled goes on)
        try:
            async with asyncio.timeout(self.frontier_wait):
                return await aw
        except TimeoutError:
            return default

    async def freeze(self, top: int = 10) -> None:
        """The crawl is over (its frontier about to close): from now on every snapshot is
        the one taken now."""
        self._final = await self.snapshot(top)

    async def snapshot(self, top: int = 10) -> Snapshot:
        """The figures now, with the ``top`` busiest hosts."""
        if self._final is not None:
            return attrs.evolve(self._final, hosts=self._final.hosts[:top])
        stats = self.stats
        counters = dict(stats.counters)
        busiest = self.host_stats.top(top)
        queued: dict[str, int] = {}
        if busiest and self._queued_by_host is not None:
            queued = await self._bounded(self._queued_by_host([h for h, _ in busiest]), {})
        rows = tuple(
            HostRow(host=h, in_flight=f.active, queued=queued.get(h, 0) if
                    self._queued_by_host is not None else None,
                    delay=self._host_delay(h), pages=f.pages, errors=f.errors)
            for h, f in busiest)
        pages = counters.get("pages", 0)
        self._last_queue = queue = await self._bounded(self._pending(), self._last_queue)
        return Snapshot(
            at=self._clock(), elapsed=stats.elapsed, pages=pages,
            pages_this_run=pages - stats.pages_before, items=counters.get("items", 0),
            bytes=counters.get("responses/bytes", 0), queue=queue,
            in_flight=self._in_flight(), errors=stats.error_count, counters=counters,
            hosts=rows)

    def host_summary(self, top: int) -> dict[str, dict[str, Any]]:
        """The ``top`` busiest hosts' figures, for ``--stats`` and the summary (no I/O)."""
        return {h: {**f.as_dict(), "delay": round(self._host_delay(h), 3)}
                for h, f in self.host_stats.top(top)}
