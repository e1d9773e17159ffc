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

from .core.components import Lifecycle, Slot, assemble, component_name, load
from .core.engine import Downloader, Engine
from .core.middleware import DownloadChain
from .core.pipelines import ItemPipelines
from .core.scheduler import Scheduler
from .core.spidermw import SpiderMiddlewares
from .download.downloader import AiohttpDownloader
from .download.handlers import HandlerRouter
from .errors import ComponentError, ConfigError, DownloadError, DropItem, TooManyRedirects
from .frontier.base import DupeFilter, RequestQueue
from .frontier.memory import MemoryDupeFilter, MemoryQueue
from .frontier.politeness import Politeness
from .frontier.sqlite import SqliteState
from .gates import Gate, GateMiddleware
from .http import Request, Response
from .ops.hoststats import HostStats, MeteredDownloader
from .ops.monitor import Monitor
from .ops.tracing import TracingDownloader, require_opentelemetry
from .ops.view import CrawlView
from .plugins import Hooks, make_plugin_manager
from .plugins import check as check_plugins
from .policies.allowed_hosts import HostMatcher
from .policies.cache import CacheMiddleware
from .policies.cache import check_settings as check_cache_settings
from .policies.cookies import CookiesMiddleware
from .policies.headers import HeadersMiddleware
from .policies.max_depth import DepthLimit
from .policies.proxy import ProxyMiddleware
from .policies.redirect import RedirectMiddleware
from .policies.retry import RetryMiddleware
from .policies.throttle import AutoThrottle, ThrottleMiddleware
from .settings import Layer, Settings, scrapy_order_hint
from .sinks.base import Sink
from .spider import Spider, check_spider, spider_name
from .stats import Stats
from .urls import host_key, hostname, redirect_url, scheme_of
from .version import __version__

__all__ = ["BUILTIN_COMPONENTS", "CrawlResult", "Crawler"]

logger = logging.getLogger(__name__)

#: the built-in components by name, and what each does (``-s disable=NAME`` turns it off)
BUILTIN_COMPONENTS: dict[str, str] = {
    "robots": "middleware: obey robots.txt (and its Crawl-delay); obey_robots=false too",
    "headers": "middleware: default_headers, user_agent and Referer (a request's own win)",
    "retry": "middleware: retry errors, timeouts and retry_http_codes, honouring Retry-After",
    "redirect": "middleware: follow 3xx and <meta http-equiv=refresh> redirects",
    "cookies": "middleware: cookie jars (meta cookiejar, Request(cookies=...)); cookies=false too",
    "proxy": "middleware: the proxy setting (a list rotates), proxy_from_env; meta proxy",
    "throttle": "middleware: AutoThrottle (with autothrottle=true)",
    "cache": "middleware: the replay cache (with --cache DIR), closest to the download",
    "max_depth": "spider middleware: drop requests deeper than max_depth (when set)",
    "allowed_hosts": "URL filter plugin: the spider's allowed_hosts",
    "linkextract": "link extractor plugin: <a href>/<area href> for response.links()",
}
#: the built-ins that also apply to what the crawler fetches itself (robots.txt, sitemaps)
_REQUEST_SIDE = ("headers", "cookies", "proxy")
#: built-ins that are plugins (switched off by unregistering them)
_BUILTIN_PLUGINS = {"allowed_hosts": "acrawl.policies.allowed_hosts",
                    "linkextract": "acrawl.policies.linkextract"}


@attrs.frozen
class CrawlResult:
    reason: str
    stats: Stats
    #: the items written, as dicts (``acrawl.crawl(..., return_items=True)``), else None
    items: list[dict[str, Any]] | None = None

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
        politeness: Politeness | None = None,
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
        #: per-host slots, delays and pauses, for the scheduler and a shared frontier
        self.politeness = politeness or _politeness(settings)
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
            settings, trusted=self.is_trusted_host)
        self.engine: Engine | None = None
        self._handlers: list[Any] = []
        self._user: dict[str, list[Slot]] | None = None
        self._pipelines_on = True
        #: the headers/cookies/proxy middlewares of the crawl, for :meth:`fetch` too
        self._request_side = DownloadChain([], spider)
        self.cookies: CookiesMiddleware | None = None  # the built-in jar, saved with --state
        self._cache: CacheMiddleware | None = None
        self._scheduler: Scheduler | None = None
        #: the built-in cache when it is in the chain: Crawler.fetch (robots.txt) uses it too
        self._fetch_cache: CacheMiddleware | None = None
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
        #: Scrapy's ``spider.crawler``: components reach settings and stats through it
        spider.crawler = self  # type: ignore[attr-defined]

    @property
    def stopping(self) -> bool:
        """The crawl is stopping (or over): no new work, no retries."""
        return self.engine is not None and not self.engine.taking

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        spider_cls: type[Spider],
        *,
        spider_args: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
        outputs: Iterable[str] = (),
        plugins: Iterable[str | object] = (),
        entry_points: bool | None = None,
        downloader: AiohttpDownloader | None = None,
        state_dir: str | None = None,
        frontier_url: str | None = None,
        project_settings: Layer | Mapping[str, Any] | None = None,
        pipelines: bool = True,
    ) -> Crawler:
        """``settings`` are the command line's (the top layer), ``project_settings`` the
        project's ``[tool.acrawl.settings]`` (below the spider's ``settings``).
        ``pipelines=False`` leaves the item pipelines out (``acrawl parse`` without
        ``--pipelines``, as ``scrapy parse``)."""
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
        project = (project_settings if isinstance(project_settings, Layer | None)
                   else Layer("project", project_settings))
        built = Settings.build(
            project, Layer("spider", getattr(spider, "settings", None) or {}),
            overrides=Layer("command line", settings), extra=hooks.add_settings(),
        )
        for short, modname in _BUILTIN_PLUGINS.items():
            if short in built["disable"] and pm.get_plugin(modname) is not None:
                pm.unregister(name=modname)
                hooks.refresh()
        outputs = list(outputs)
        if frontier_url is not None:
            if state_dir is not None:
                raise ConfigError("--state and --frontier cannot be combined (the shared "
                                  "frontier keeps the crawl's state in Redis)")
            from .frontier.redis import RedisFrontier

            politeness = _politeness(built)
            frontier = RedisFrontier.from_url(frontier_url, spider=spider, settings=built,
                                              politeness=politeness)
            crawler = cls(spider=spider, settings=built, hooks=hooks, outputs=outputs,
                          queue=frontier.queue, dupefilter=frontier.dupefilter,
                          politeness=politeness, downloader=downloader)
            crawler.frontier = frontier
            crawler._pipelines_on = pipelines
            crawler.components()  # a component that cannot load is a usage error now
            return crawler
        if state_dir is not None:
            state = SqliteState.open_dir(state_dir, spider)
            crawler = cls(spider=spider, settings=built, hooks=hooks, outputs=outputs,
                          queue=state.queue, dupefilter=state.dupefilter,
                          downloader=downloader, state=state)
        else:
            crawler = cls(
                spider=spider, settings=built, hooks=hooks, outputs=outputs,
                queue=MemoryQueue(), dupefilter=MemoryDupeFilter(), downloader=downloader,
            )
        crawler._pipelines_on = pipelines
        crawler.components()  # a component that cannot load is a usage error now
        return crawler

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

    async def fetch(self, url: str, *, max_size: int | None = None) -> Response:
        """Download ``url`` outside the crawl (robots.txt, sitemaps), following redirects;
        with ``max_size``, at most that many (decompressed) bytes of the body are read."""
        meta = {"download_maxsize": max_size} if max_size else None
        request = Request(url, headers={}, meta=meta)
        for _hop in range(self.settings["max_redirects"] + 1):
            outcome = await self._request_side.run(request, self._fetch_one)
            if not isinstance(outcome, Response):  # (the built-ins never answer a Request)
                raise DownloadError(f"a middleware replaced the request for {url}", request)
            response = outcome
            location = response.headers.get("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                try:
                    request = Request(redirect_url(response.url, location), meta=meta)
                except ValueError:  # an unusable Location: the 3xx answer itself decides
                    return response
                continue
            return response
        raise TooManyRedirects(f"too many redirects fetching {url}", request)

    async def _fetch_one(self, request: Request) -> Response:
        """One exchange for :meth:`fetch`, through the replay cache when the crawl has one."""
        cache = self._fetch_cache
        if cache is None:
            return await self.downloader.fetch(request)
        cached = cache.process_request(request, self.spider)  # CacheMiss when replaying
        if cached is not None:
            return cached
        try:
            response = await self.downloader.fetch(request)
        except DownloadError as exc:
            cache.process_exception(request, exc, self.spider)
            raise
        return await cache.process_response(request, response, self.spider)

    # -- running --------------------------------------------------------------------------------
    def _build_sinks(self) -> list[Sink]:
        """The outputs' sinks, built but not opened (no file is touched yet)."""
        built = [self.hooks.open_sink(uri, self.settings) for uri in self.outputs]
        _refuse_same_target(self.outputs, built)
        return built

    async def _open_sinks(self, built: list[Sink], sinks: list[Sink]) -> None:
        """Open ``built`` into ``sinks`` (the engine's list): called once the components'
        ``open_spider`` succeeded, so one that fails leaves an existing output as it was
        (``--overwrite`` truncates only a crawl that starts)."""
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
            sinks.clear()
            raise

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
        built = self._build_sinks()
        sinks: list[Sink] = []  # opened by the engine, after the components' open_spider
        gates: list[Any] = []
        try:
            gates = [g for g in self.hooks.open_gates(self.settings, self.spider, self.fetch)
                     if _gate_name(g) not in self.settings["disable"]]
            self.politeness.use_gates(gates)  # robots.txt Crawl-delay
            scheduler = Scheduler(queue=self.queue, dupefilter=self.dupefilter,
                                  politeness=self.politeness)
            middlewares, spider_mws, pipelines = self.components(gates)
            if hasattr(self.downloader, "on_sent"):  # delays count from when requests are sent
                self.downloader.on_sent = scheduler.sent
            self._scheduler = scheduler
            if self.frontier is not None:
                self.frontier.bind_stats(self.stats)
                self.frontier.on_unavailable = self._frontier_unavailable
            self.engine = engine = Engine(
                spider=self.spider, settings=self.settings, hooks=self.hooks,
                scheduler=scheduler, downloader=self._downloader(), sinks=sinks,
                stats=self.stats, fetch=self.fetch, trust=self.trust,
                commit=self._commit if self.state is not None else (
                    self._commit_shared if self.frontier is not None else None),
                durable=self.state is not None or self.frontier is not None,
                chain=DownloadChain(middlewares, self.spider),
                spider_middlewares=SpiderMiddlewares(spider_mws, self.spider),
                pipelines=ItemPipelines(pipelines, self.spider, on_drop=self._item_dropped,
                                        on_error=self._pipeline_error),
                lifecycle=Lifecycle(
                    [("middleware", middlewares), ("spider middleware", spider_mws)],
                    self.spider, skip=[slot.component for slot in pipelines]),
            )
            self.view = CrawlView(
                stats=self.stats, hosts=self.host_stats, pending=scheduler.pending,
                in_flight=lambda: engine.in_flight, host_delay=self.politeness.delay,
                queued_by_host=getattr(self.queue, "queued_by_host", None))
            self.monitor.watch(self.view, stop=engine.stop, log_stats=self.log_stats)
            reason = await engine.run(before_start=lambda: self._open_sinks(built, sinks))
            await self.view.freeze()
            self.stats.set("finish_reason", reason)
            self.stats.set("hosts", self.view.host_summary(20))
        finally:
            for gate in gates:
                await _quietly(gate.close())
            # a crawl that never started (a component's open_spider raised) wrote nothing:
            # leave no new output file that would block the next run (as _open_sinks does)
            unused = self.state is None and (self.engine is None or not self.engine.started)
            for sink in sinks:
                try:
                    await sink.close()
                except Exception:
                    self.stats.inc("errors/sink")
                    logger.exception("sink %r failed to close", sink)
                if unused and hasattr(sink, "discard"):
                    sink.discard()
            await _quietly(self.downloader.close())
            for handler in self._handlers:
                await _quietly(handler.close())
            await _quietly(self.queue.close())
            await _quietly(self.dupefilter.close())
            if self.state is not None:
                self.state.close()
        return CrawlResult(reason=reason, stats=self.stats)

    # -- components -----------------------------------------------------------------------------
    def components(
        self, gates: list[Gate] | None = None,
    ) -> tuple[list[Slot], list[Slot], list[Slot]]:
        """The downloader middlewares, spider middlewares and item pipelines of this
        crawl, each in the order it runs (``acrawl-run SPIDER --list-components``).
        ConfigError if one cannot be loaded or ``disable`` names an unknown component."""
        s, spider = self.settings, self.spider
        if gates is None:
            gates = [g for g in self.hooks.open_gates(s, spider, self.fetch)
                     if _gate_name(g) not in s["disable"]]
        before = [*(Slot(_gate_name(g), GateMiddleware(g)) for g in gates),
                  Slot("headers", HeadersMiddleware.from_crawler(self))]
        after = [Slot("retry", RetryMiddleware.from_crawler(self)),
                 Slot("redirect", RedirectMiddleware.from_crawler(self))]
        cookies = None
        if s["cookies"]:  # below redirect: a 302's Set-Cookie is stored before the next hop
            cookies = CookiesMiddleware.from_crawler(self)
            if self.state is not None:
                try:
                    cookies.load(self.state.cookie_rows())
                except ValueError as exc:
                    raise ConfigError(f"--state {self.state.path.parent}: the state is damaged "
                                      f"({exc}); use another directory") from None
            after.append(Slot("cookies", cookies))
        if s["proxy"] or s["proxy_from_env"]:
            after.append(Slot("proxy", ProxyMiddleware.from_crawler(self)))
        if self.politeness.throttle is not None:  # autothrottle = true
            after.append(Slot("throttle", ThrottleMiddleware(observe=self.politeness.observe)))
        cache = self._cache_middleware()
        if cache is not None:  # last: closest to the download (Scrapy's HttpCacheMiddleware)
            after.append(Slot("cache", cache))
        depth: list[Slot] = []
        if s["max_depth"] is not None:
            depth.append(Slot("max_depth", DepthLimit(max_depth=s["max_depth"],
                                                      drop=self._drop)))
        user = self._user_components()
        known = set(BUILTIN_COMPONENTS) | {
            slot.name for slots in user.values() for slot in slots} | {s.name for s in before}
        unknown = sorted(set(s["disable"]) - known)
        if unknown:
            raise ConfigError(f"setting 'disable' names unknown components {unknown} "
                              f"(known: {', '.join(sorted(known))})")
        off = s["disable"]
        middlewares = assemble(builtins_before=before, user=user["middleware"],
                               builtins_after=after, disabled=off)
        self._request_side = DownloadChain(
            [m for m in middlewares if m.name in _REQUEST_SIDE], spider)
        self.cookies = cookies if any(m.component is cookies for m in middlewares) else None
        self._fetch_cache = cache if any(slot.component is cache for slot in middlewares) \
            else None
        return (
            middlewares,
            assemble(user=user["spider middleware"], builtins_after=depth, disabled=off),
            assemble(user=user["pipeline"], disabled=off),
        )

    def _cache_middleware(self) -> CacheMiddleware | None:
        """The replay cache (built once per crawl), or None without ``cache_dir``."""
        if self._cache is None and check_cache_settings(
                self.settings, disabled="cache" in self.settings["disable"]):
            self._cache = CacheMiddleware.from_settings(
                self.settings, stats=self.stats, on_replayed=self._replayed)
        return self._cache

    def _replayed(self, response: Response) -> None:
        """A response the cache served: the host's delay it reserved is given back (nothing
        was downloaded). Its cookies are stored by the ``cookies`` component, which sees it
        on the way back like a downloaded one."""
        if self._scheduler is not None:
            self._scheduler.skip_delay(response.request)

    def _user_components(self) -> dict[str, list[Slot]]:
        """The user's components by kind, loaded (and so instantiated) once per crawl."""
        if self._user is None:
            self._user = {kind: self._declared(kind, attr) for kind, attr in (
                ("middleware", "middlewares"), ("spider middleware", "spider_middlewares"),
                ("pipeline", "pipelines")) if kind != "pipeline" or self._pipelines_on}
            self._user.setdefault("pipeline", [])
        return self._user

    def _declared(self, kind: str, attr: str) -> list[Slot]:
        """The user's components of ``kind``: the spider's ``attr``, the ``attr`` setting,
        then the plugins' ``acrawl_<attr>`` hook."""
        specs: list[tuple[Any, str]] = []
        own = getattr(self.spider, attr, None) or ()
        if isinstance(own, Mapping):
            raise ConfigError(f"spider {self.spider.name!r}: {attr} "
                              f"{scrapy_order_hint(attr, own)}")
        if isinstance(own, str) or not isinstance(own, Iterable):
            raise ConfigError(f"spider {self.spider.name!r}: {attr} must be a list of "
                              f"classes, instances or import paths, got {type(own).__name__}")
        specs += [(spec, "spider") for spec in own]
        specs += [(spec, "setting") for spec in self.settings[attr]]
        try:
            specs += [(spec, f"plugin {label}")
                      for label, spec in self.hooks.components(attr, self.settings, self.spider)]
        except ConfigError:
            raise
        except Exception as exc:  # (Hooks.components names the plugin that raised)
            raise ConfigError(f"a plugin's acrawl_{attr} failed: {type(exc).__name__}: {exc}"
                              ) from None
        out = []
        for spec, origin in specs:
            component = load(spec, kind, crawler=self, settings=self.settings)
            out.append(Slot(component_name(component), component, origin))
        return out

    def _downloader(self) -> Downloader:
        """What the engine downloads through: :attr:`downloader` (as installed when the crawl
        starts), behind the plugins' download handlers if there are any, traced with
        ``otel_tracing``, counted per host."""
        self._handlers = self.hooks.download_handlers(self.settings, self.spider)
        fetcher: Any = (HandlerRouter(self._handlers, self.downloader) if self._handlers
                        else self.downloader)
        if self.settings["otel_tracing"]:
            fetcher = TracingDownloader(fetcher, spider=self.spider.name, version=__version__)
        return MeteredDownloader(fetcher, hosts=self.host_stats, stats=self.stats)

    def _drop(self, request: Request, reason: str) -> None:
        if self.engine is not None:
            self.engine.drop(request, reason)
        else:
            self.stats.inc(reason)

    def _item_dropped(self, pipeline: str, item: Any, exc: DropItem) -> None:
        self.stats.inc("items/dropped")
        logger.debug("item dropped by pipeline %r: %s", pipeline, exc)

    def _pipeline_error(self, exc: ComponentError) -> None:
        self.stats.inc("errors/pipeline")
        self.hooks.error(exc, None, self.spider)

    async def _commit(self, requests: list[Request], sinks: list[Sink]) -> None:
        """Durable crawls: requests done + sink positions + stats, in one transaction."""
        assert self.state is not None
        checkpoints = {
            uri: sink.checkpoint()
            for uri, sink in zip(self.outputs, sinks, strict=False) if hasattr(sink, "checkpoint")
        }
        cookies = self.cookies.changes() if self.cookies is not None else None
        self.state.commit(requests, checkpoints, self.stats, cookies=cookies)

    async def _commit_shared(self, requests: list[Request], sinks: list[Sink]) -> None:
        """Shared frontier: requests done + this worker's new stats counts, in one script."""
        await self.frontier.commit(requests, self.stats)

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


def _gate_name(gate: Any) -> str:
    name = getattr(gate, "name", None)
    return name if isinstance(name, str) and name else type(gate).__name__


def _politeness(settings: Settings) -> Politeness:
    """Per-host concurrency and delay from ``settings``, with AutoThrottle if it is on."""
    throttle = AutoThrottle(
        target_concurrency=settings["autothrottle_target_concurrency"],
        min_delay=settings["download_delay"],
        max_delay=settings["autothrottle_max_delay"],
    ) if settings["autothrottle"] else None
    return Politeness.from_settings(settings, throttle=throttle)


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
