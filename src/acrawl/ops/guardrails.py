"""Guardrails: limits that stop a crawl gracefully, as Scrapy's ``CLOSESPIDER_*`` and
``MEMUSAGE_*`` do, with the reason recorded.

>>> guard = Guardrails.from_settings(settings, stats)
>>> if guard.active:
...     task = asyncio.create_task(guard.watch(engine.stop))   # engine.stop("close_timeout")

Each limit counts this run (a resumed ``--state`` crawl starts its counts again): seconds of
crawling (``close_timeout``), items scraped (``close_item_count``), errors counted
(``close_error_count``: the ``errors/*`` stats, the ones that make the exit code 1) and the
resident memory of the process (``memory_limit_mb``, with a warning at ``memory_warning_mb``).
A stop is a graceful one: no new request starts, the ones downloading finish and their items
are written, so a few more items than ``close_item_count`` may be written.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..stats import peak_rss_bytes

if TYPE_CHECKING:
    from ..settings import Settings
    from ..stats import Stats

__all__ = ["Guardrails", "rss_bytes"]

logger = logging.getLogger(__name__)

MiB = 1024 * 1024


def rss_bytes() -> int:
    """The resident memory of this process now, in bytes (where ``/proc`` is missing: the
    peak so far, which never decreases)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes()


class Guardrails:
    """Watches a crawl's stats (and memory) and stops it once a limit is passed."""

    #: seconds between two checks of the counts (a few dictionary reads) ...
    interval = 0.05
    #: ... and of the memory (``/proc/self/statm``)
    memory_interval = 0.1

    def __init__(
        self,
        *,
        stats: Stats,
        timeout: float | None = None,
        item_count: int | None = None,
        error_count: int | None = None,
        memory_limit: int | None = None,
        memory_warning: int | None = None,
        rss: Callable[[], int] = rss_bytes,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = stats
        self.timeout = timeout
        self.item_count = item_count
        self.error_count = error_count
        self.memory_limit = memory_limit
        self.memory_warning = memory_warning
        self._rss = rss
        self._clock = clock
        self._warned = False
        self._memory_due = 0.0
        self._started = clock()
        self._items0 = stats.get("items")
        self._errors0 = stats.error_count
        #: ``(reason, detail)`` once a limit stopped the crawl
        self.tripped: tuple[str, str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, stats: Stats) -> Guardrails:
        limit = settings["memory_limit_mb"]
        warning = settings["memory_warning_mb"]
        if warning is None and limit is not None:
            warning = 0.8 * limit
        return cls(
            stats=stats, timeout=settings["close_timeout"],
            item_count=settings["close_item_count"], error_count=settings["close_error_count"],
            memory_limit=int(limit * MiB) if limit is not None else None,
            memory_warning=int(warning * MiB) if warning is not None else None,
        )

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.timeout, self.item_count, self.error_count,
                                           self.memory_limit, self.memory_warning))

    def start(self) -> None:
        """The crawl starts now: counts and the clock start from here."""
        self._started = self._clock()
        self._items0 = self.stats.get("items")
        self._errors0 = self.stats.error_count

    def check(self) -> tuple[str, str] | None:
        """``(reason, detail)`` of the first limit passed, else None; warns about memory."""
        if self.timeout is not None:
            elapsed = self._clock() - self._started
            if elapsed >= self.timeout:
                return "close_timeout", f"{elapsed:.1f}s of crawling, limit {self.timeout:g}s"
        if self.item_count is not None:
            items = self.stats.get("items") - self._items0
            if items >= self.item_count:
                return "close_item_count", f"{items} items, limit {self.item_count}"
        if self.error_count is not None:
            errors = self.stats.error_count - self._errors0
            if errors >= self.error_count:
                return ("close_error_count",
                        f"{errors} errors, limit {self.error_count}")
        if (self.memory_limit is not None or self.memory_warning is not None) and (
                self._clock() >= self._memory_due):
            self._memory_due = self._clock() + self.memory_interval
            rss = self._rss()
            if not self._warned and self.memory_warning is not None and rss >= self.memory_warning:
                self._warned = True
                self.stats.set("memory_warning_rss_mb", round(rss / MiB, 1))
                logger.warning("memory: RSS %.0f MiB passed memory_warning_mb=%g%s", rss / MiB,
                               self.memory_warning / MiB,
                               f" (the crawl stops at {self.memory_limit / MiB:g})"
                               if self.memory_limit is not None else "")
            if self.memory_limit is not None and rss >= self.memory_limit:
                return ("memory_limit", f"RSS {rss / MiB:.0f} MiB, limit "
                        f"{self.memory_limit / MiB:g} MiB")
        return None

    def _sleep_for(self) -> float:
        if self.timeout is None:
            return self.interval
        left = self.timeout - (self._clock() - self._started)
        return max(0.0, min(self.interval, left))

    async def watch(self, stop: Callable[[str], None]) -> None:
        """Check every :attr:`interval` until a limit is passed, then ``stop(reason)``
        (the engine's graceful stop) and return. Cancel it when the crawl ends first."""
        self.start()
        while True:
            tripped = self.check()
            if tripped is not None:
                break
            await asyncio.sleep(self._sleep_for())
        reason, detail = self.tripped = tripped
        self.stats.set("finish_detail", detail)
        logger.warning("stopping the crawl: %s: %s", reason, detail)
        stop(reason)
