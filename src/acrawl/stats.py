"""Crawl statistics: named counters plus timing, readable live and dumped as JSON at the end.

Keys are slash-separated: ``pages``, ``items``, ``requests/scheduled``, ``dropped/duplicate``,
``filtered/allowed_hosts``, ``http/404``, ``errors/callback``, ``retries``…
"""

from __future__ import annotations

import resource
import sys
import time
from collections import Counter
from typing import Any

__all__ = ["Stats", "peak_rss_bytes"]


def peak_rss_bytes() -> int:
    """Peak resident memory of this process, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class Stats:
    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.started = time.monotonic()
        self.started_wall = time.time()
        self.finished: float | None = None
        self.values: dict[str, Any] = {}
        #: pages crawled by earlier runs of a resumed crawl (rates are for this run)
        self.pages_before = 0

    def inc(self, key: str, n: int = 1) -> None:
        self.counters[key] += n

    def get(self, key: str, default: int = 0) -> int:
        return self.counters.get(key, default)

    def __getitem__(self, key: str) -> int:
        return self.counters[key]

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    # Scrapy's StatsCollector names, for ported components (``crawler.stats.inc_value``):
    # a number goes to the counters (summed, shown with them), anything else to the values.
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        if key not in self.counters:
            self.counters[key] = start
        self.counters[key] += count

    def get_value(self, key: str, default: Any = None) -> Any:
        if key in self.counters:
            return self.counters[key]
        return self.values.get(key, default)

    def set_value(self, key: str, value: Any) -> None:
        if type(value) is int:
            self.values.pop(key, None)
            self.counters[key] = value
        else:
            self.counters.pop(key, None)
            self.values[key] = value

    def max_value(self, key: str, value: Any) -> None:
        current = self.get_value(key)
        self.set_value(key, value if current is None else max(current, value))

    def min_value(self, key: str, value: Any) -> None:
        current = self.get_value(key)
        self.set_value(key, value if current is None else min(current, value))

    def get_stats(self) -> dict[str, Any]:
        return self.to_dict()

    def finish(self) -> None:
        self.finished = time.monotonic()

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def error_count(self) -> int:
        return sum(v for k, v in self.counters.items() if k.startswith("errors/"))

    def to_dict(self) -> dict[str, Any]:
        elapsed = self.elapsed
        cpu = time.process_time()
        pages = self.counters.get("pages", 0) - self.pages_before
        return {
            **dict(sorted(self.counters.items())),
            **self.values,
            "elapsed_seconds": round(elapsed, 3),
            "pages_per_second": round(pages / elapsed, 2) if elapsed > 0 else 0.0,
            "cpu_seconds": round(cpu, 3),
            "peak_rss_bytes": peak_rss_bytes(),
            "started_at": self.started_wall,
        }
