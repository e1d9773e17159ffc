"""Live progress on a terminal (rich) and the final summary lines."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..crawler import Crawler
    from ..stats import Stats

__all__ = ["Progress", "summary_lines"]


class Progress:
    """Redraws one status line on stderr twice a second: pages, pages/s, items, queue,
    in flight, errors."""

    def __init__(self, crawler: Crawler, interval: float = 0.5) -> None:
        self.crawler = crawler
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._live: Any = None
        self._last = (time.monotonic(), 0)
        self._rate = 0.0

    def start(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(stderr=True)
        self._console = console
        if console.is_terminal:
            self._live = Live(self._render(0), console=console, transient=False,
                              refresh_per_second=4, redirect_stderr=False)
            self._live.start()
        else:  # a log file or pipe: one plain line every few seconds instead of redraws
            self.interval = max(self.interval, 5.0)
        self._task = asyncio.create_task(self._run())

    async def _pending(self) -> int:
        engine = self.crawler.engine
        return await engine.scheduler.pending() if engine else 0

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            text = self._render(await self._pending())
            if self._live is not None:
                self._live.update(text)
            else:
                self._console.print(text, soft_wrap=True)

    def _render(self, pending: int) -> Any:
        from rich.text import Text

        stats = self.crawler.stats
        pages = stats.get("pages")
        now = time.monotonic()
        t0, p0 = self._last
        if now - t0 >= 1.0:
            self._rate = (pages - p0) / (now - t0)
            self._last = (now, pages)
        engine = self.crawler.engine
        return Text.assemble(
            ("acrawl ", "bold cyan"), (f"{self.crawler.spider.name}  ", "bold"),
            f"pages {pages:,} ({self._rate:,.0f}/s)  items {stats.get('items'):,}  "
            f"queue {pending:,}  in flight {engine.in_flight if engine else 0}  ",
            (f"errors {stats.error_count}", "red" if stats.error_count else ""),
            f"  {stats.elapsed:,.0f}s",
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        text = self._render(await self._pending())
        if self._live is not None:
            self._live.update(text)
            self._live.stop()
        else:
            self._console.print(text, soft_wrap=True)


def summary_lines(stats: Stats, reason: str = "finished") -> list[str]:
    """A short human summary of a finished crawl."""
    c = stats.counters
    elapsed = stats.elapsed
    pages = c.get("pages", 0)
    this_run = pages - stats.pages_before
    lines = [
        f"crawl finished in {elapsed:.1f}s: {pages} pages "
        f"({this_run / elapsed if elapsed > 0 else 0:.1f}/s), {c.get('items', 0)} items, "
        f"{c.get('requests/downloaded', 0)} downloads, {c.get('retries', 0)} retries, "
        f"{stats.error_count} errors",
    ]
    if reason != "finished":
        detail = stats.values.get("finish_detail")
        lines.append(f"  stopped: {reason}" + (f" ({detail})" if detail else ""))
    dropped = {k: v for k, v in c.items() if k.startswith(("dropped/", "filtered/", "failed/"))}
    if dropped:
        lines.append("  not crawled: " + ", ".join(f"{k} {v}" for k, v in sorted(dropped.items())))
    errors = {k: v for k, v in c.items() if k.startswith("errors/")}
    if errors:
        lines.append("  errors: " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items())))
    hosts = stats.values.get("hosts")
    if hosts:
        lines.append("  hosts: " + "; ".join(
            f"{host} {h['pages']} pages, {h['errors']} errors, delay {h['delay']:g}s"
            for host, h in list(hosts.items())[:5]) + (
            f"; {len(hosts) - 5} more in --stats" if len(hosts) > 5 else ""))
    return lines
