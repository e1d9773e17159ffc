"""Wiring: the one place where acrawl's components are built and connected.

>>> crawler = Crawler.create(MySpider, settings={"concurrency": 32}, outputs=["items.jsonl"])
>>> result = await crawler.crawl()
>>> result.reason, result.stats["pages"]

``create`` validates settings, plugins and spider arguments and raises
:class:`~acrawl.errors.ConfigError`; ``crawl`` opens the outputs (ConfigError if one cannot
be opened), runs the engine and always closes sinks, gates and the downloader.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from . import __version__
from .core.engine import Engine
from .core.scheduler import Scheduler
from .download.downloader import AiohttpDownloader
from .errors import ConfigError, DownloadError, TooManyRedirects
from .frontier.base import DupeFilter, RequestQueue
from .frontier.memory import MemoryDupeFilter, MemoryQueue
from .frontier.sqlite import SqliteState
from .http import Request, Response
from .ops.hoststats import HostStats, MeteredDownloader
from .ops.monitor import Monitor
from .ops.tracing import TracingDownloader, require_opentelemetry
from .ops.view import CrawlView
from .plugins import Hooks, make_plugin_manager
from .plugins import check as check_plugins
from .policies.allowed_hosts import HostMatcher
from .policies.throttle import AutoThrottle
from .settings import Settings
from .sinks.base import Sink
from .spider import Spider, check_spider, spider_name
from .stats import Stats
from .urls import host_key, hostname, scheme_of

__all__ = ["CrawlResult", "Crawler"]

logger = logging.getLogger(__name__)


@attrs.frozen
class CrawlResult:
    reason: str
    stats: Stats

    @property
    def errors(self) -> int:
        return self.stats.error_count


class Crawler:
    """A configured crawl of one spider: settings, plugins, frontier, downloader, sinks."""

    frontier: Any = None  # the shared frontier (RedisFrontier) with --frontier
    #: the periodic stats line (``log_stats_interval``); the CLI turns it off when it shows
    #: the live view instead
    log_stats = True

    def __init__(
        self,
        *,
        spider: Spider,
        settings: Settings,
        hooks: Hooks,
        outputs: list[str],
        queue: RequestQueue,
        dupefilter: DupeFilter,
        downloader: AiohttpDownloader | None = None,
        state: SqliteState | None = None,
    ) -> None:
        self.spider = spider
        self.state = state
        self.settings = settings
        self.hooks = hooks
        self.outputs = outputs
        self.queue = queue
        self.dupefilter = dupefilter
        self.stats = Stats()
        if state is not None:
            state.load_stats(self.stats)
        self._trusted = HostMatcher(
            [*(_without_port(h) for h in getattr(spider, "allowed_hosts", None) or ()),
             *(hostname(u) for u in getattr(spider, "start_urls", None) or ())]
        )
        self._trusted_extra: set[str] = set()
        #: scheme://host[:port] of the start URLs and start requests: default credentials
        #: (``default_headers`` Authorization, Cookie) go to these only
        self._origins = {_origin(u) for u in getattr(spider, "start_urls", None) or ()
                         if isinstance(u, str)}
        self.downloader = downloader or AiohttpDownloader.from_settings(
            settings, trusted=self.is_trusted_host, named_origin=self.is_named_origin)
        self.engine: Engine | None = None
        #: per-host figures (pages through the hook, downloads through MeteredDownloader)
        self.host_stats = HostStats()
        hooks.pm.register(self.host_stats, name="acrawl.ops.hoststats")
        hooks.refresh()
        self.monitor = Monitor.from_settings(settings, stats=self.stats, spider=spider.name,
                                             version=__version__)
        if settings["otel_tracing"]:
            require_opentelemetry()  # (ConfigError now, not once the outputs are open)
        #: the running crawl's figures (live view, stats line, metrics), once it runs
        self.view: CrawlView | None = None

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        spider_cls: type[Spider],
        *,
        spider_args: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
        outputs: Iterable[str] = (),
        plugins: Iterable[str] = (),
        entry_points: bool | None = None,
        downloader: AiohttpDownloader | None = None,
        state_dir: str | None = None,
        frontier_url: str | None = None,
    ) -> Crawler:
        pm = make_plugin_manager(plugins, entry_points=entry_points)
        hooks = Hooks(pm)
        name = spider_name(spider_cls)
        try:
            spider = spider_cls(**dict(spider_args or {}))
        except ConfigError:
            raise
        except TypeError as exc:
            raise ConfigError(f"spider {name!r} rejected its arguments: {exc}") from None
        except Exception as exc:
            given = " ".join(f"-a {k}={v!r}" for k, v in (spider_args or {}).items())
            raise ConfigError(f"spider {name!r} failed to start"
                              f"{' with ' + given if given else ''}: "
                              f"{type(exc).__name__}: {exc}") from None
        check_spider(spider, spider_args)
        if any(name.startswith("acrawl_") for name in dir(type(spider))):
            pm.register(spider, name=f"spider:{spider.name}")
            check_plugins(pm)
            hooks.refresh()
        built = Settings.build(
            getattr(spider, "settings", None) or {}, overrides=settings,
            extra=hooks.add_settings(),
        )
        outputs = list(outputs)
        if frontier_url is not None:
            if state_dir is not None:
                raise ConfigError("--state and --frontier cannot be combined (the shared "
                                  "frontier keeps the crawl's state in Redis)")
            from .frontier.redis import RedisFrontier

            frontier = RedisFrontier.from_url(frontier_url, spider=spider, settings=built)
            crawler = cls(spider=spider, settings=built, hooks=hooks, outputs=outputs,
                          queue=frontier.queue, dupefilter=frontier.dupefilter,
                          downloader=downloader)
            crawler.frontier = frontier
            return crawler
        if state_dir is not None:
            state = SqliteState.open_dir(state_dir, spider)
            return cls(spider=spider, settings=built, hooks=hooks, outputs=outputs,
                       queue=state.queue, dupefilter=state.dupefilter, downloader=downloader,
                       state=state)
        return cls(
            spider=spider, settings=built, hooks=hooks, outputs=outputs,
            queue=MemoryQueue(), dupefilter=MemoryDupeFilter(), downloader=downloader,
        )

    # -- helpers given to the engine and plugins ------------------------------------------------
    def is_trusted_host(self, host: str) -> bool:
        """Hosts the user named (start URLs, allowed hosts) may be private addresses."""
        return host in self._trusted_extra or (
            not self._trusted.empty and self._trusted.allows_host(host))

    def is_named_origin(self, url: str) -> bool:
        """``url`` is on the origin of a start URL or start request."""
        return _origin(url) in self._origins

    def trust(self, url: str) -> None:
        host = hostname(url)
        if host:
            self._trusted_extra.add(host)
            self._origins.add(_origin(url))

    async def fetch(self, url: str) -> Response:
        """Download ``url`` outside the crawl (robots.txt, sitemaps), following redirects."""
        request = Request(url, headers={})
        for _hop in range(self.settings["max_redirects"] + 1):
            response = await self.downloader.fetch(request)
            location = response.headers.get("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                request = Request(response.urljoin(location))
                continue
            return response
        raise TooManyRedirects(f"too many redirects fetching {url}", request)

    # -- running --------------------------------------------------------------------------------
    async def _open_sinks(self) -> list[Sink]:
        built = [self.hooks.open_sink(uri, self.settings) for uri in self.outputs]
        _refuse_same_target(self.outputs, built)
        sinks: list[Sink] = []
        try:
            for uri, sink in zip(self.outputs, built, strict=True):
                checkpoint = self.state.sink_checkpoint(uri) if self.state else None
                if checkpoint is not None and hasattr(sink, "resume"):
                    await sink.resume(checkpoint)
                else:
                    if (self.state is not None and hasattr(sink, "pristine")
                            and hasattr(sink, "overwrite") and sink.pristine()):
                        # created by a run killed before it recorded the output's start (or
                        # otherwise empty of items): replacing it loses nothing
                        setattr(sink, "overwrite", True)  # noqa: B010 - not part of Sink
                    await sink.open()
                    if self.state is not None and hasattr(sink, "checkpoint"):
                        # from now on a resume reopens this output instead of refusing it
                        self.state.commit([], {uri: sink.checkpoint()}, self.stats)
                sinks.append(sink)
        except BaseException:
            for sink in sinks:
                await sink.close()
                if self.state is None and hasattr(sink, "discard"):
                    # the run never started: leave no new file that would block the next one
                    # (a --state crawl has recorded them, and reopens them on resume)
                    sink.discard()
            raise
        return sinks

    async def crawl(self) -> CrawlResult:
        """Run the crawl to its end; ConfigError if an output cannot be opened (or the
        metrics port cannot be bound)."""
        await self.monitor.open()  # before any output is opened
        try:
            result = await self._crawl()
        finally:
            await self.monitor.close()
        if self.frontier is not None and self.frontier.unavailable is not None:
            raise self.frontier.unavailable  # Redis stayed away: stopped, items kept
        return result

    async def _crawl(self) -> CrawlResult:
        sinks = await self._open_sinks()
        gates: list[Any] = []
        try:
            gates = self.hooks.open_gates(self.settings, self.spider, self.fetch)
            delays = [g.delay for g in gates]
            scheduler = Scheduler(
                queue=self.queue,
                dupefilter=self.dupefilter,
                per_host=self.settings["per_host_concurrency"],
                delay=self.settings["download_delay"],
                host_delay=(lambda host: max((d(host) or 0.0 for d in delays), default=0.0))
                if delays else None,
            )
            if self.frontier is not None:
                self.frontier.bind_scheduler(scheduler, self.stats)
                self.frontier.on_unavailable = self._frontier_unavailable
            self.engine = engine = Engine(
                spider=self.spider, settings=self.settings, hooks=self.hooks,
                scheduler=scheduler, sinks=sinks, gates=gates, downloader=self._fetcher(),
                stats=self.stats, fetch=self.fetch, trust=self.trust,
                commit=self._commit if self.state is not None else (
                    self._commit_shared if self.frontier is not None else None),
                durable=self.state is not None or self.frontier is not None,
                throttle=AutoThrottle(
                    target_concurrency=self.settings["autothrottle_target_concurrency"],
                    min_delay=self.settings["download_delay"],
                    max_delay=self.settings["autothrottle_max_delay"],
                ) if self.settings["autothrottle"] else None,
            )
            self.view = CrawlView(
                stats=self.stats, hosts=self.host_stats, pending=scheduler.pending,
                in_flight=lambda: engine.in_flight, host_delay=scheduler.host_delay,
                queued_by_host=getattr(self.queue, "queued_by_host", None))
            self.monitor.watch(self.view, stop=engine.stop, log_stats=self.log_stats)
            reason = await engine.run()
            await self.view.freeze()
            self.stats.set("finish_reason", reason)
            self.stats.set("hosts", self.view.host_summary(20))
        finally:
            for gate in gates:
                await _quietly(gate.close())
            for sink in sinks:
                try:
                    await sink.close()
                except Exception:
                    self.stats.inc("errors/sink")
                    logger.exception("sink %r failed to close", sink)
            await _quietly(self.downloader.close())
            await _quietly(self.queue.close())
            await _quietly(self.dupefilter.close())
            if self.state is not None:
                self.state.close()
        return CrawlResult(reason=reason, stats=self.stats)

    async def _commit(self, requests: list[Request], sinks: list[Sink]) -> None:
        """Durable crawls: requests done + sink positions + stats, in one transaction."""
        assert self.state is not None
        checkpoints = {
            uri: sink.checkpoint()
            for uri, sink in zip(self.outputs, sinks, strict=False) if hasattr(sink, "checkpoint")
        }
        self.state.commit(requests, checkpoints, self.stats)

    async def _commit_shared(self, requests: list[Request], sinks: list[Sink]) -> None:
        """Shared frontier: requests done + this worker's new stats counts, in one script."""
        await self.frontier.commit(requests, self.stats)

    def _fetcher(self) -> Any:
        """What the engine downloads through: :attr:`downloader` (as installed when the
        crawl starts), traced with ``otel_tracing``, counted per host."""
        fetcher: Any = self.downloader
        if self.settings["otel_tracing"]:
            fetcher = TracingDownloader(fetcher, spider=self.spider.name, version=__version__)
        return MeteredDownloader(fetcher, hosts=self.host_stats, stats=self.stats)

    def _frontier_unavailable(self, exc: BaseException) -> None:
        """Redis stayed away past ``redis_outage_timeout``: stop (``crawl`` then raises)."""
        if self.engine is not None:
            self.engine.stop("frontier_unavailable")

    def stop(self, *, force: bool = False) -> None:
        if self.engine is not None:
            self.engine.stop("interrupted", force=force)


def _refuse_same_target(uris: list[str], sinks: list[Sink]) -> None:
    """Two ``-o`` naming one file (``x.jsonl`` and ``./x.jsonl``) would write every item twice,
    or refuse each other: a usage error."""
    seen: dict[tuple[str, Any], str] = {}
    for uri, sink in zip(uris, sinks, strict=True):
        path = getattr(sink, "path", None)
        if not isinstance(path, Path):
            continue
        key = (os.path.realpath(path), getattr(sink, "table", None))
        if key in seen:
            raise ConfigError(f"outputs {seen[key]!r} and {uri!r} are the same file")
        seen[key] = uri


def _origin(url: str) -> str:
    return f"{scheme_of(url)}://{host_key(url)}"


def _without_port(entry: str) -> str:
    """``"127.0.0.1:8000"`` -> ``"127.0.0.1"``: trust is by host, whatever the port."""
    entry = entry.strip()
    if "://" in entry:
        return hostname(entry)
    if entry.startswith("["):
        return entry.split("]", 1)[0] + "]"
    return entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry


async def _quietly(aw: Any) -> None:
    try:
        await aw
    except (Exception, DownloadError):
        logger.debug("error while closing", exc_info=True)
