"""What watches a running crawl from beside the engine: the guardrails, the periodic stats
line and the metrics endpoint, started and stopped together.

>>> monitor = Monitor.from_settings(settings, stats=stats, spider="books")
>>> await monitor.open()                  # binds the metrics port: ConfigError if it cannot
>>> monitor.watch(view, stop=engine.stop)  # the crawl runs: the periodic tasks start
>>> reason = await engine.run()
>>> await monitor.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .guardrails import Guardrails
from .logstats import LogStats
from .metrics import MetricsServer, require_prometheus_client

if TYPE_CHECKING:
    from ..settings import Settings
    from ..stats import Stats
    from .view import CrawlView

__all__ = ["Monitor"]

logger = logging.getLogger(__name__)


class Monitor:
    def __init__(self, *, guardrails: Guardrails, log_stats_interval: float = 0.0,
                 metrics: MetricsServer | None = None) -> None:
        self.guardrails = guardrails
        self.log_stats_interval = log_stats_interval
        self.metrics = metrics
        self._tasks: list[asyncio.Task[Any]] = []

    @classmethod
    def from_settings(cls, settings: Settings, *, stats: Stats, spider: str,
                      version: str = "") -> Monitor:
        """ConfigError if ``metrics_port`` is set and prometheus-client is missing."""
        metrics = None
        if settings["metrics_port"] is not None:
            require_prometheus_client()
            metrics = MetricsServer(spider=spider, host=settings["metrics_host"],
                                    port=settings["metrics_port"], version=version)
        return cls(guardrails=Guardrails.from_settings(settings, stats),
                   log_stats_interval=settings["log_stats_interval"],
                   metrics=metrics)

    async def open(self) -> None:
        if self.metrics is not None:
            await self.metrics.start()

    def watch(self, view: CrawlView, *, stop: Callable[[str], None],
              log_stats: bool = True) -> None:
        """The crawl starts: run the guardrails and (``log_stats``) the stats line; serve
        its metrics."""
        if self.guardrails.active:
            self._spawn(self.guardrails.watch(stop), "acrawl-guardrails")
        if log_stats and self.log_stats_interval > 0:
            self._spawn(LogStats(view=view, interval=self.log_stats_interval).run(),
                        "acrawl-log-stats")
        if self.metrics is not None:
            self.metrics.view = view

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        task.add_done_callback(_report)
        self._tasks.append(task)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.metrics is not None:
            await self.metrics.close()


def _report(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        logger.error("%s failed: %s: %s", task.get_name(), type(exc).__name__, exc,
                     exc_info=exc)
