"""The periodic stats line, for crawls watched through their logs (Scrapy's LogStats).

>>> task = asyncio.create_task(LogStats(view=view, interval=60).run())

Every ``interval`` seconds (``log_stats_interval``) one INFO line on the ``acrawl.stats``
logger::

    12:00:00 INFO acrawl.stats: 1,234 pages (20.6/s), 1,200 items (20.0/s), 5.1 MiB
    (85.2 KiB/s); queue 340, in flight 16, errors 0; 60s

(one line; wrapped here).

Rates are over the interval. With ``--log-format json`` the figures are fields of the record
(``pages``, ``pages_per_second``, ``items``, ``items_per_second``, ``bytes``,
``bytes_per_second``, ``queue``, ``in_flight``, ``errors``, ``elapsed_seconds``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .view import CrawlView, Snapshot

__all__ = ["LogStats", "human_bytes"]

logger = logging.getLogger("acrawl.stats")


def human_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class LogStats:
    def __init__(self, *, view: CrawlView, interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.view = view
        self.interval = interval
        self._clock = clock

    async def run(self) -> None:
        """Log a line every :attr:`interval` seconds until cancelled (on a fixed beat: a slow
        line does not push the next ones back)."""
        previous = await self.view.snapshot(top=0)
        due = self._clock() + self.interval
        while True:
            await asyncio.sleep(max(0.0, due - self._clock()))
            snap = await self.view.snapshot(top=0)
            message, fields = self.line(snap, previous)
            logger.info(message, extra={"stats": fields})
            previous = snap
            due += self.interval
            now = self._clock()
            if due < now:  # the loop was blocked for more than an interval: skip the beats
                due = now + self.interval

    @staticmethod
    def line(snap: Snapshot, previous: Snapshot | None) -> tuple[str, dict[str, Any]]:
        """The message and its fields for ``snap``, rates since ``previous``."""
        rates = snap.rates_since(previous)
        fields: dict[str, Any] = {
            "pages": snap.pages, "pages_per_second": round(rates["pages"], 2),
            "items": snap.items, "items_per_second": round(rates["items"], 2),
            "bytes": snap.bytes, "bytes_per_second": round(rates["bytes"]),
            "queue": snap.queue, "in_flight": snap.in_flight, "errors": snap.errors,
            "elapsed_seconds": round(snap.elapsed, 1),
        }
        message = (f"{snap.pages:,} pages ({rates['pages']:,.1f}/s), {snap.items:,} items "
                   f"({rates['items']:,.1f}/s), {human_bytes(snap.bytes)} "
                   f"({human_bytes(rates['bytes'])}/s); queue {snap.queue:,}, in flight "
                   f"{snap.in_flight}, errors {snap.errors}; {snap.elapsed:,.0f}s")
        return message, fields
