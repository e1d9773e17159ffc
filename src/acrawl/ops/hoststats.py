"""Per-host figures of a crawl: pages, downloads, bytes, errors and downloads in flight, for
the live view, the stats line, ``--stats``, the summary and the metrics.

>>> hosts = HostStats()
>>> downloader = MeteredDownloader(AiohttpDownloader(...), hosts=hosts, stats=stats)
>>> pm.register(hosts)                # counts pages through acrawl_response_received
>>> hosts.top(5)                      # [("a.example:8080", HostFigures(...)), ...]

A host is the politeness key ``host[:port]``. ``errors`` counts the downloads of the host that
failed (timeouts, refused or reset connections) or were answered 429 or 5xx: the trouble that
slows a crawl down. At most :attr:`HostStats.max_hosts` hosts are kept; past that the least
active half is forgotten, so a broad crawl does not grow this table without bound.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from ..errors import DownloadError
from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..stats import Stats

__all__ = ["HostFigures", "HostStats", "MeteredDownloader"]


class HostFigures:
    __slots__ = ("active", "bytes", "errors", "pages", "requests")

    def __init__(self) -> None:
        self.pages = 0  # responses that reached a callback
        self.requests = 0  # downloads started
        self.bytes = 0  # response bodies (decompressed)
        self.errors = 0  # failed downloads, 429 and 5xx answers
        self.active = 0  # downloads in flight now

    def as_dict(self) -> dict[str, int]:
        return {"pages": self.pages, "requests": self.requests, "bytes": self.bytes,
                "errors": self.errors, "in_flight": self.active}


class HostStats:
    """The figures of every host of a crawl (up to :attr:`max_hosts`)."""

    max_hosts = 10_000

    def __init__(self) -> None:
        self.hosts: dict[str, HostFigures] = {}

    def __getitem__(self, host: str) -> HostFigures:
        figures = self.hosts.get(host)
        if figures is None:
            if len(self.hosts) >= self.max_hosts:
                self._forget()
            figures = self.hosts[host] = HostFigures()
        return figures

    def _forget(self) -> None:
        """Drop the least active half of the hosts (never one with a download in flight)."""
        ranked = sorted(self.hosts.items(), key=lambda kv: (kv[1].active > 0,
                                                            kv[1].pages + kv[1].requests))
        for host, figures in ranked[: len(ranked) // 2]:
            if not figures.active:
                del self.hosts[host]

    def top(self, n: int) -> list[tuple[str, HostFigures]]:
        """The ``n`` busiest hosts: most downloads in flight, then most pages, then most
        downloads."""
        return heapq.nsmallest(n, self.hosts.items(), key=lambda kv: (
            -kv[1].active, -kv[1].pages, -kv[1].requests, kv[0]))

    @hookimpl
    def acrawl_response_received(self, response: Response) -> None:
        self[response.request.host].pages += 1


class MeteredDownloader:
    """Wraps a downloader (``async fetch(request) -> Response``) and counts each download
    for its host, and the bytes received in the ``responses/bytes`` stat."""

    def __init__(self, downloader: Any, *, hosts: HostStats, stats: Stats) -> None:
        self.downloader = downloader
        self.hosts = hosts
        self.stats = stats

    async def fetch(self, request: Request) -> Response:
        figures = self.hosts[request.host]
        figures.requests += 1
        figures.active += 1
        try:
            response: Response = await self.downloader.fetch(request)
        except DownloadError:
            figures.errors += 1
            raise
        finally:
            figures.active -= 1
        size = len(response.body)
        figures.bytes += size
        self.stats.inc("responses/bytes", size)
        status = response.status
        if status >= 500 or status == 429:
            figures.errors += 1
        return response

    def __getattr__(self, name: str) -> Any:  # close() and the rest: the wrapped downloader's
        return getattr(self.downloader, name)
