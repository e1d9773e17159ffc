"""Live progress on a terminal (rich) and the final summary lines."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from ..ops.logstats import human_bytes

if TYPE_CHECKING:
    from ..crawler import Crawler
    from ..ops.view import Snapshot
    from ..stats import Stats

__all__ = ["Progress", "summary_lines"]


class Progress:
    """The live view on stderr, redrawn twice a second: a status line (pages, pages/s,
    items, queue, in flight, errors, bytes/s); a progress bar with an estimate when a limit
    gives a total (``max_pages``, ``close_item_count``, ``close_timeout``); and the busiest
    hosts (in flight, queued, delay, pages, errors). Where stderr is no terminal, the status
    line alone, every few seconds. The last view shows the crawl's own rates."""

    #: hosts in the live table
    hosts = 5

    def __init__(self, crawler: Crawler, interval: float = 0.5) -> None:
        self.crawler = crawler
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._live: Any = None
        self._window: Snapshot | None = None  # the start of the current rate window
        self._rates = {"pages": 0.0, "items": 0.0, "bytes": 0.0}
        self._items0: int | None = None

    def start(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(stderr=True)
        self._console = console
        if console.is_terminal:
            self._live = Live(self._render(None), console=console, transient=False,
                              auto_refresh=False, redirect_stderr=False)
            self._live.start()
        else:  # a log file or pipe: one plain line every few seconds instead of redraws
            self.interval = max(self.interval, 5.0)
        self._task = asyncio.create_task(self._run())

    async def _snapshot(self) -> Snapshot | None:
        view = self.crawler.view
        if view is None:
            return None
        return await view.snapshot(top=self.hosts if self._live is not None else 0)

    async def _run(self) -> None:
        while self._task is not None:  # (stop() clears it: a lost cancel cannot keep it on)
            await asyncio.sleep(self.interval)
            self._show(self._render(await self._snapshot()))

    def _show(self, renderable: Any) -> None:
        if self._live is not None:
            self._live.update(renderable, refresh=True)
        else:
            self._console.print(renderable, soft_wrap=True)

    def _render(self, snap: Snapshot | None, final: bool = False) -> Any:
        from rich.console import Group
        from rich.text import Text

        if snap is not None:
            if final:  # the whole run's rates, not the last window's
                self._rates = snap.rates_since(None)
            elif self._window is None:
                self._window = snap
            elif snap.at - self._window.at >= 1.0:
                self._rates = snap.rates_since(self._window)
                self._window = snap
        stats = self.crawler.stats
        pages, items = stats.get("pages"), stats.get("items")
        errors = stats.error_count
        rates = self._rates
        line = Text.assemble(
            ("acrawl ", "bold cyan"), (f"{self.crawler.spider.name}  ", "bold"),
            f"pages {pages:,} ({rates['pages']:,.0f}/s)  items {items:,}  "
            f"queue {snap.queue if snap else 0:,}  in flight {snap.in_flight if snap else 0}  ",
            (f"errors {errors}", "red" if errors else ""),
            f"  {human_bytes(rates['bytes'])}/s  {stats.elapsed:,.0f}s",
        )
        if self._live is None:
            return line
        parts: list[Any] = [line]
        bar = self._bar(pages, items, stats.elapsed)
        if bar is not None:
            parts.append(bar)
        if snap is not None and snap.hosts:
            parts.append(_host_table(snap))
        return Group(*parts)

    def _bar(self, pages: int, items: int, elapsed: float) -> Any:
        """A bar towards the nearest limit, with an estimate of the time left."""
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        settings = self.crawler.settings
        if self._items0 is None:
            self._items0 = items  # close_item_count counts this run's items
        limits: list[tuple[float, float, str, float]] = []  # done, total, what, rate
        if settings["max_pages"]:
            limits.append((pages, settings["max_pages"], "pages", self._rates["pages"]))
        if settings["close_item_count"]:
            limits.append((items - self._items0, settings["close_item_count"], "items",
                           self._rates["items"]))
        if settings["close_timeout"]:
            limits.append((elapsed, settings["close_timeout"], "s", 1.0))
        if not limits:
            return None
        done, total, what, rate = max(limits, key=lambda x: x[0] / x[1])
        done = min(done, total)
        left = (total - done) / rate if rate > 0 else None
        eta = (f"ETA {int(left) // 3600}:{int(left) % 3600 // 60:02d}:{int(left) % 60:02d}"
               if left is not None else "ETA -")
        grid = Table.grid(padding=(0, 1))
        grid.add_row(ProgressBar(total=total, completed=done, width=40),
                     f"{done:,.0f}/{total:,.0f} {what}  {done / total:.0%}  {eta}")
        return grid

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._show(self._render(await self._snapshot(), final=True))
        if self._live is not None:
            self._live.stop()


def _host_table(snap: Snapshot) -> Any:
    """The busiest hosts as aligned text lines (laid out by hand: a rich Table costs ten
    times as much to draw)."""
    from rich.text import Text

    width = max(4, *(len(row.host) for row in snap.hosts))
    table = Text(f" {'host':<{width}}  in flight  queued   delay   pages  errors", style="dim")
    for row in snap.hosts:
        queued = "-" if row.queued is None else f"{row.queued:,}"
        table.append(f"\n {row.host:<{width}}  {row.in_flight:>9}  {queued:>6}  "
                     f"{row.delay:>5g}s  {row.pages:>6,}  {row.errors:>6}",
                     style="red" if row.errors else "")
    return table


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
