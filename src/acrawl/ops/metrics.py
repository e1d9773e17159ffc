"""The Prometheus endpoint (``--metrics-port PORT``): the figures of a running crawl in the
Prometheus text format, from the well-kept ``prometheus-client`` (``pip install
'acrawl[metrics]'``).

>>> server = MetricsServer(view=view, spider="books", host="127.0.0.1", port=9410)
>>> await server.start()          # ConfigError if the port cannot be bound
>>> # GET http://127.0.0.1:9410/metrics
>>> await server.close()

The endpoint is served by the crawl's own event loop (aiohttp), and every scrape reads the
crawl's figures at that moment: nothing is counted twice and the crawl pays nothing between
scrapes. Metrics (all prefixed ``acrawl_``):

=====================================  ========  =============================================
``pages_total``                        counter   responses that reached a callback
``items_total``                        counter   items scraped
``response_bytes_total``               counter   response body bytes (decompressed)
``downloads_total``                    counter   downloads started (retries included)
``requests_scheduled_total``           counter   requests queued (after filters and dedup)
``retries_total``                      counter   retries scheduled
``frontier_outages_total``             counter   times the shared frontier (Redis) went away
``responses_total{status}``            counter   responses by HTTP status
``errors_total{kind}``                 counter   ``errors/<kind>``: what makes the exit code 1
``failed_requests_total{error}``       counter   requests given up (``failed/<Error>``)
``dropped_requests_total{reason}``     counter   ``dropped/<reason>`` and ``filtered/<filter>``
``queue_depth``                        gauge     requests waiting in the frontier
``in_flight``                          gauge     requests being downloaded or processed
``resident_memory_bytes``              gauge     RSS of the process
``start_time_seconds``                 gauge     when the crawl started (unix time)
``host_delay_seconds{host}``           gauge     the delay between two requests to ``host``
``host_in_flight{host}``               gauge     downloads of ``host`` in flight
``info{spider,version}``               gauge     1
=====================================  ========  =============================================

The ``host`` label is given for the :attr:`MetricsServer.top_hosts` busiest hosts only, so the
number of series stays bounded on a crawl of many hosts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .guardrails import rss_bytes

if TYPE_CHECKING:
    from .view import CrawlView, Snapshot

__all__ = ["MetricsServer", "require_prometheus_client"]

logger = logging.getLogger(__name__)


def require_prometheus_client() -> None:
    """ConfigError (one line, exit 2) unless ``prometheus-client`` can be imported."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ConfigError("--metrics-port needs prometheus-client: pip install "
                          "'acrawl[metrics]'") from None


#: ``prefix/`` of a stats counter -> (metric, label name, help)
_LABELLED = {
    "http/": ("responses", "status", "responses by HTTP status"),
    "errors/": ("errors", "kind", "errors by kind (what makes the exit code 1)"),
    "failed/": ("failed_requests", "error", "requests given up, by error"),
    "dropped/": ("dropped_requests", "reason", "requests dropped or filtered, by reason"),
    "filtered/": ("dropped_requests", "reason", "requests dropped or filtered, by reason"),
}
#: stats counter -> (metric, help)
_PLAIN = {
    "pages": ("pages", "responses that reached a callback"),
    "items": ("items", "items scraped"),
    "responses/bytes": ("response_bytes", "response body bytes received (decompressed)"),
    "requests/downloaded": ("downloads", "downloads started (retries included)"),
    "requests/scheduled": ("requests_scheduled", "requests queued after filters and dedup"),
    "retries": ("retries", "retries scheduled"),
    "frontier/outages": ("frontier_outages", "times the shared frontier (Redis) went away"),
}


class MetricsServer:
    top_hosts = 10

    def __init__(self, *, view: CrawlView | None = None, spider: str, host: str = "127.0.0.1",
                 port: int = 0, version: str = "") -> None:
        self.view = view
        self.spider = spider
        self.host = host
        self.port = port
        self.version = version
        self._runner: Any = None
        self._high: dict[tuple[str, str], float] = {}  # counters never go down
        self._snap: Snapshot | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0: a free one, then :attr:`port` is it)."""
        require_prometheus_client()
        from aiohttp import web
        from prometheus_client import CollectorRegistry

        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)  # (a collector: see collect())
        app = web.Application()
        app.router.add_get("/metrics", self._handle)
        app.router.add_get("/", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(f"--metrics-port {self.port}: cannot listen on "
                              f"{self.host}:{self.port}: {exc.strerror or exc}") from None
        self._runner = runner
        if runner.addresses:
            self.port = int(runner.addresses[0][1])
        logger.info("metrics on %s", self.url)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if self.view is None:
            return web.Response(status=503, text="the crawl has not started\n")
        self._snap = await self.view.snapshot(top=self.top_hosts)
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    # -- the collector --------------------------------------------------------------------------
    def _counter(self, metric: str, labels: tuple[str, ...], value: float) -> float:
        key = (metric, "\0".join(labels))
        high = max(self._high.get(key, 0.0), value)
        self._high[key] = high
        return high

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self._snap
        if snap is None:
            return
        counters = snap.counters
        for key, (name, doc) in _PLAIN.items():
            family = CounterMetricFamily(f"acrawl_{name}", doc)
            family.add_metric([], self._counter(name, (), counters.get(key, 0)))
            yield family
        labelled: dict[str, Any] = {}
        for name, label, doc in _LABELLED.values():
            if name not in labelled:
                labelled[name] = CounterMetricFamily(f"acrawl_{name}", doc, labels=[label])
        for key, value in sorted(counters.items()):
            prefix, sep, rest = key.partition("/")
            spec = _LABELLED.get(prefix + sep) if sep else None
            if spec is None or not rest:
                continue
            name = spec[0]
            label = rest if prefix != "filtered" else f"filtered/{rest}"
            labelled[name].add_metric([label], self._counter(name, (label,), value))
        yield from labelled.values()
        gauges: tuple[tuple[str, str, float], ...] = (
            ("queue_depth", "requests waiting in the frontier", snap.queue),
            ("in_flight", "requests being downloaded or processed", snap.in_flight),
            ("resident_memory_bytes", "resident memory of the process", rss_bytes()),
            ("start_time_seconds", "when the crawl started (unix time)",
             self.view.stats.started_wall if self.view is not None else 0),
        )
        for name, doc, reading in gauges:
            gauge = GaugeMetricFamily(f"acrawl_{name}", doc)
            gauge.add_metric([], reading)
            yield gauge
        delay = GaugeMetricFamily("acrawl_host_delay_seconds",
                                  "delay between two requests to the host (busiest hosts)",
                                  labels=["host"])
        active = GaugeMetricFamily("acrawl_host_in_flight",
                                   "downloads of the host in flight (busiest hosts)",
                                   labels=["host"])
        for row in snap.hosts:
            delay.add_metric([row.host], row.delay)
            active.add_metric([row.host], row.in_flight)
        yield delay
        yield active
        info = GaugeMetricFamily("acrawl_info", "the crawl", labels=["spider", "version"])
        info.add_metric([self.spider, self.version], 1)
        yield info
