"""The engine: takes requests from the scheduler, downloads them, runs the spider callbacks,
routes what they produce (requests back to the scheduler, items to the sinks), and decides
when the crawl is over.

It knows the interfaces only — a :class:`~acrawl.core.scheduler.Scheduler` over any
queue/dedup backend, a downloader with ``async fetch(request)``, sinks, gates and
:class:`~acrawl.plugins.Hooks` — and is wired in ``crawler.py``. One bad page, callback or
plugin never stops it: errors are logged, counted in stats and the crawl goes on.

A request's life: filters → dedup → queue → (slot) → the middleware chain (robots, the
user's middlewares, retry, redirect, …) around the download → a response: the spider
middlewares' ``process_spider_input`` → callback → their ``process_spider_output`` (or, when
it raised, ``process_spider_exception``) → requests back to the filters, items through the
pipelines to the writer → ``queue.done(request)``; or a request instead (a redirect: new, from
the top; a retry: back to the queue after a backoff). See docs/architecture.md.

The components' ``open_spider`` run before the first request (middlewares, then pipelines) and
their ``close_spider`` after the last item is written (pipelines, then middlewares), also when
the crawl fails or is stopped.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random
import reprlib
import time
import types
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ..errors import (
    CallbackError,
    ComponentError,
    ConfigError,
    DownloadError,
    HttpError,
    IgnoreRequest,
)
from ..http import Failure, Link, Request, Response
from ..items import to_item
from ..urls import FETCHABLE_SCHEMES, canonicalize, host_key, scheme_of
from .writer import ItemWriter

if TYPE_CHECKING:
    from ..plugins import Hooks
    from ..settings import Settings
    from ..sinks.base import Sink
    from ..spider import Spider
    from ..stats import Stats
    from .components import Lifecycle
    from .middleware import DownloadChain
    from .pipelines import ItemPipelines
    from .scheduler import Scheduler
    from .spidermw import SpiderMiddlewares

__all__ = ["Downloader", "Engine"]

logger = logging.getLogger(__name__)
#: what a sync callback usually returns: iterated without asking whether it is an item
_ITERABLES = (types.GeneratorType, list, tuple)
_debug = functools.partial(logger.isEnabledFor, logging.DEBUG)

#: spider methods a callback given by name (from a stored request, say) may not be
_NOT_CALLBACKS = frozenset({"start_requests"})


class Downloader(Protocol):
    """What fetches: one HTTP exchange per call (no redirects followed), bounded in time and
    size; raises :class:`~acrawl.errors.DownloadError`. ``download.downloader`` has the
    aiohttp one; a download-handler plugin may route some requests elsewhere."""

    async def fetch(self, request: Request) -> Response: ...

    async def close(self) -> None: ...


class Engine:
    def __init__(
        self,
        *,
        spider: Spider,
        settings: Settings,
        hooks: Hooks,
        scheduler: Scheduler,
        downloader: Downloader,
        sinks: list[Sink],
        stats: Stats,
        chain: DownloadChain,
        spider_middlewares: SpiderMiddlewares | None = None,
        pipelines: ItemPipelines | None = None,
        lifecycle: Lifecycle | None = None,
        fetch: Callable[[str], Any],
        trust: Callable[[str], None] | None = None,
        commit: Callable[[list[Request], list[Sink]], Any] | None = None,
        durable: bool = False,
    ) -> None:
        self.spider = spider
        self.settings = settings
        self.hooks = hooks
        self.scheduler = scheduler
        self.downloader = downloader
        self.chain = chain
        mws = self.spider_mws = spider_middlewares if spider_middlewares else None
        #: the spider-middleware seams in use, decided once: without them, no cost per page
        self._sm_start = mws is not None and mws.starts
        self._sm_input = mws is not None and mws.inputs
        self._sm_output = mws is not None and mws.outputs
        self._sm_exception = mws is not None and mws.exceptions
        self.pipelines = pipelines if pipelines else None
        self.lifecycle = lifecycle if lifecycle else None
        #: True once every component opened (run() got past open_spider)
        self.started = False
        self.stats = stats
        self.fetch = fetch
        self._trust = trust
        self.writer = ItemWriter(
            sinks=sinks,
            batch_size=settings["item_batch_size"],
            commit=commit or (lambda requests, sinks: scheduler.done(requests)),
            on_error=self._sink_error,
            on_bad_item=self._bad_item,
        )
        s = settings
        self.concurrency: int = s["concurrency"]
        self.max_pages: int | None = s["max_pages"]
        self.max_retry_after: float = s["max_retry_after"]
        self.timeout: float = s["timeout"]
        follow = s["follow_links"]
        self.follow_links = bool(spider.follow_links if follow is None else follow)
        self._inflight: set[asyncio.Task[None]] = set()
        #: tasks whose request waits for the gates (robots.txt) or its host's delay
        self._before_download: set[asyncio.Task[Any]] = set()
        self._schemeless = 0  # requests dropped for a URL without a scheme
        #: requests between being taken and their download's end (``concurrency`` bounds this);
        #: a downloaded page is then processed while the next download is already on the wire,
        #: with at most ``concurrency`` pages waiting for or in their callbacks
        self._downloading = 0
        self._wake = asyncio.Event()
        self._taking = True  # False once stopping: no new downloads
        self._accepting = True  # False after max_pages: new requests are dropped
        self._feeding = True
        #: a durable frontier keeps what max_pages leaves behind for a later run
        self.durable = durable
        self._pages = stats.get("pages")  # a resumed crawl counts its earlier pages
        self.reason = "finished"
        if self.max_pages is not None and self._pages >= self.max_pages and durable:
            # resumed after the limit was reached: nothing to fetch (raise the limit to go on)
            self._limit_reached()
        self._force = False
        self._shared_queue = scheduler.shared

    # -- public ---------------------------------------------------------------------------------
    async def run(self, before_start: Callable[[], Awaitable[Any]] | None = None) -> str:
        """Crawl until the frontier is empty and nothing is in flight, or until stopped.

        First each component's ``open_spider``: one that raises is a ConfigError (the crawl
        does not start; what opened is closed). Then ``before_start`` (the crawler opens the
        outputs there, so a failing ``open_spider`` leaves them untouched); what it raises
        closes the components too."""
        try:
            if self.lifecycle is not None:
                await self.lifecycle.open()
            if self.pipelines is not None:
                await self.pipelines.open()
        except ComponentError as exc:
            await self._close_components()
            raise ConfigError(str(exc)) from None
        if before_start is not None:
            try:
                await before_start()
            except BaseException:
                await self._close_components()
                raise
        self.started = True
        self.hooks.crawl_opened(self.spider, self.settings, self.stats)
        feeder = asyncio.create_task(self._feed(), name="acrawl-start-requests")
        self._closing = asyncio.Event()
        flusher = asyncio.create_task(self._flush_periodically(), name="acrawl-flusher")
        try:
            await self._loop(feeder)
        finally:
            self._taking = False
            if not feeder.done():
                feeder.cancel()
            await asyncio.gather(feeder, return_exceptions=True)
            await self._drain()
            self._closing.set()  # the flusher finishes its write and stops
            await asyncio.gather(flusher, return_exceptions=True)
            try:
                await self.writer.flush()
            finally:
                await self._close_components()
            self.stats.finish()
            for key, value in self.scheduler.stats().items():
                self.stats.set(key, value)
            self.hooks.crawl_closed(self.spider, self.stats, self.reason)
            await self._spider_closed()
        return self.reason

    async def _spider_closed(self) -> None:
        """Scrapy's ``Spider.closed(reason)``, sync or async, if the spider has it: once, at
        the end; what it raises is logged and counted as the spider's error."""
        closed = getattr(self.spider, "closed", None)
        if not callable(closed):
            return
        try:
            out = closed(self.reason)
            if inspect.isawaitable(out):
                await out
        except Exception as exc:
            self._callback_error(getattr(closed, "__qualname__", "closed"), None, exc)

    async def _close_components(self) -> None:
        """``close_spider`` of the pipelines, then of the middlewares (reverse order); each
        failure is logged and counted, and the others still close."""
        if self.pipelines is not None:
            await self.pipelines.close()
        if self.lifecycle is not None:
            await self.lifecycle.close(self._component_failed)

    def stop(self, reason: str = "interrupted", *, force: bool = False) -> None:
        """Stop taking requests; in-flight ones finish (``force``: are cancelled)."""
        if self._taking:
            self.reason = reason
        self._taking = False
        if force:
            self._force = True
            for task in list(self._inflight):
                task.cancel()
        else:  # requests not downloading yet (robots.txt, a host's delay) do not start
            for task in list(self._before_download):
                task.cancel()
        self._wake.set()

    @property
    def taking(self) -> bool:
        """False once the crawl is stopping: nothing new starts (no retries either)."""
        return self._taking

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    def _free(self) -> int:
        """How many more requests may start downloading now."""
        return min(self.concurrency - self._downloading,
                   2 * self.concurrency - len(self._inflight))

    # -- main loop ------------------------------------------------------------------------------
    async def _loop(self, feeder: asyncio.Task[None]) -> None:
        sched = self.scheduler
        while True:
            self._wake.clear()
            free = self._free()
            if self._taking:
                if free > 0:
                    for request in await sched.take(free):
                        self._downloading += 1
                        task = asyncio.create_task(self._work(request))
                        self._inflight.add(task)
                        task.add_done_callback(self._task_done)
            if not self._inflight:
                if not self._taking:
                    return
                if feeder.done() and await sched.pending() == 0:
                    return
            # at the concurrency cap only a finishing task can make progress: no timer
            wait = sched.seconds_to_wake() if free > 0 else None
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                pass

    async def _work(self, request: Request) -> None:
        """Handle ``request``, then, while the crawl is taking and a download slot is free,
        the next ready one in the same task: the slot a page frees is refilled the moment its
        callback returns, not after every other finished page was processed (which keeps
        requests in lockstep waves and the connections idle while the CPU works). A shared
        queue (``poll_interval``) is asked in batches by :meth:`_loop` instead, one round trip
        for many requests."""
        sched = self.scheduler
        while True:
            await self._handle(request)
            if not self._taking or self._shared_queue or self._free() <= 0:
                return
            following = await sched.take(1)
            if not following:
                return
            self._downloading += 1
            request = following[0]

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if isinstance(exc, KeyboardInterrupt):  # a blocked loop interrupted on a signal
                return
            # one line for the user; the traceback for whoever debugs (--log-level DEBUG)
            logger.error("internal error: %s: %s", type(exc).__name__, exc)
            logger.debug("internal error", exc_info=exc)
            self.stats.inc("errors/internal")

    async def _drain(self) -> None:
        if not self._inflight:
            return
        if not self._force:
            logger.info("waiting for %d requests in flight", len(self._inflight))
            _done, pending = await asyncio.wait(set(self._inflight), timeout=self.timeout + 5)
            for task in pending:
                task.cancel()
        await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def _flush_periodically(self) -> None:
        interval = self.settings["item_flush_interval"]
        while not self._closing.is_set():
            try:
                await asyncio.wait_for(self._closing.wait(), interval)
            except TimeoutError:
                pass
            if self.writer.buffered:
                await self.writer.flush()

    # -- start requests -------------------------------------------------------------------------
    async def _feed(self) -> None:
        # (source, from the spider): only the spider's own start hosts are trusted
        sources: list[tuple[Any, bool]] = []
        try:
            start = self.spider.start_requests()
            if self._sm_start:  # through process_start_requests, one request at a time
                assert self.spider_mws is not None
                start = self.spider_mws.start_requests(_as_requests(start))
            sources.append((start, True))
        except ComponentError as exc:
            self._component_failed(exc)
        except Exception as exc:
            self._callback_error("start_requests", None, exc)
        try:
            sources += [(source, False) for source in
                        self.hooks.start_requests(self.spider, self.settings, self.fetch)]
        except Exception as exc:
            logger.exception("a plugin's acrawl_start_requests failed")
            self.stats.inc("errors/plugin")
            self.hooks.error(exc, None, self.spider)
        for source, from_spider in sources:
            trusted = from_spider and self._trust is not None
            batch: list[Request] = []
            try:
                async for obj in _as_async(source):
                    batch.append(self._start_request(obj))
                    if len(batch) >= 256:
                        await self._schedule_start(batch, trusted)
                        batch = []
                        # let the crawl run between batches, whatever the source: an async
                        # one that never awaits would otherwise be read to its end first
                        await asyncio.sleep(0)
            except ComponentError as exc:  # a spider middleware's process_start_requests
                self._component_failed(exc)
            except Exception as exc:
                self._callback_error("start_requests", None, exc)
            await self._schedule_start(batch, trusted)
            self._wake.set()

    async def _schedule_start(self, batch: list[Any], trusted: bool) -> None:
        requests = [r for r in batch if r is not None]
        if trusted and self._trust is not None:
            for r in requests:
                self._trust(r.url)
        await self._schedule(requests)

    def _start_request(self, obj: Any) -> Any:
        if isinstance(obj, Request):
            return obj
        if isinstance(obj, str):
            return Request(obj)
        self.stats.inc("errors/output")
        logger.error("start_requests yielded %r, not an acrawl.Request", type(obj).__name__)
        return None

    # -- scheduling -----------------------------------------------------------------------------
    async def _schedule(self, requests: Iterable[Request]) -> None:
        """Scheme, depth and URL filters, then dedup and queue."""
        ok: list[Request] = []
        url_rejected_by = self.hooks.url_rejected_by
        spider = self.spider
        for req in requests:
            if not self._accepting and not self.durable:
                self._drop(req, "dropped/max_pages")
                continue
            url = req.url
            if not url.startswith(("http://", "https://")):
                scheme = scheme_of(url)
                if scheme not in FETCHABLE_SCHEMES:
                    if not scheme:
                        self._no_scheme(req)
                    self._drop(req, "dropped/scheme")
                    continue
            if not host_key(url):
                self._drop(req, "dropped/invalid_url")
                continue
            try:
                rejected = url_rejected_by(url, req, spider)
            except Exception as exc:
                logger.exception("URL filter failed on %s", url)
                self.stats.inc("errors/plugin")
                self.hooks.error(exc, req, spider)
                rejected = "plugin_error"
            if rejected:
                self._drop(req, f"filtered/{rejected}")
                continue
            ok.append(req)
        if not ok:
            return
        unstorable: list[Request] = []

        def on_invalid(request: Request, exc: Exception) -> None:
            unstorable.append(request)
            self._unstorable(request, exc)

        accepted = await self.scheduler.add(ok, on_invalid)
        if len(accepted) + len(unstorable) != len(ok):
            self.stats.inc("dropped/duplicate", len(ok) - len(accepted) - len(unstorable))
            if self.hooks.observes("acrawl_request_dropped"):
                keep = {id(r) for r in accepted} | {id(r) for r in unstorable}
                for r in ok:
                    if id(r) not in keep:
                        self.hooks.request_dropped(r, "dropped/duplicate", spider)
        self.stats.inc("requests/scheduled", len(accepted))
        for req in accepted:
            self.hooks.request_scheduled(req, spider)
        self._wake.set()

    def _no_scheme(self, request: Request) -> None:
        """A Request built from a relative or empty URL (a forgotten ``response.follow``):
        said at WARNING for the first few, as Scrapy's "Missing scheme" error would."""
        self._schemeless += 1
        if self._schemeless <= 3:
            more = " (further ones counted as dropped/scheme only)" if self._schemeless == 3 else ""
            logger.warning("request URL %r has no scheme, dropped; use response.follow() or "
                           "response.urljoin() for relative links%s", request.url, more)

    def _unstorable(self, request: Request, exc: Exception) -> None:
        self.stats.inc("errors/unstorable_request")
        logger.error("%s", exc)
        self.hooks.error(exc, request, self.spider)

    def drop(self, request: Request, reason: str) -> None:
        """``request`` is not scheduled or not fetched: count ``reason`` and tell the plugins."""
        self._drop(request, reason)

    def _drop(self, request: Request, reason: str) -> None:
        self.stats.inc(reason)
        self.hooks.request_dropped(request, reason, self.spider)

    # -- one request ----------------------------------------------------------------------------
    def _download_finished(self, request: Request) -> None:
        """The host slot and the download slot of ``request`` are free (once per request)."""
        self.scheduler.release(request)
        self._downloading -= 1
        self._wake.set()

    async def _handle(self, request: Request) -> None:
        """One request through the middleware chain and the download, then its outcome."""
        task = asyncio.current_task()
        assert task is not None  # (always run as a task)
        before = self._before_download
        before.add(task)
        released = False

        async def fetch(req: Request) -> Response:
            # pace and release the slot ``request`` claimed, whatever a middleware changed
            nonlocal released
            await self.scheduler.pace(request)
            before.discard(task)
            self.stats.inc("requests/downloaded")
            started = time.monotonic()
            try:
                response = await self.downloader.fetch(req)
            finally:
                req.meta["download_latency"] = time.monotonic() - started
                released = True
                self._download_finished(request)
            self.stats.inc(f"http/{response.status}")
            if response.truncated:
                self.stats.inc("responses/truncated")
            return response

        try:
            try:
                outcome = await self.chain.run(request, fetch)
            except asyncio.CancelledError:
                if self._taking:
                    raise
                # stopped while waiting for robots.txt or a host's delay: the request is left
                # unfinished (a durable frontier crawls it on resume), not filtered or acked
                return
            finally:
                before.discard(task)
                if not released:
                    released = True
                    self._download_finished(request)
        except IgnoreRequest as exc:
            reason = exc.reason or "ignored"
            self._drop(request, f"filtered/{reason}")
            if request.errback is None:
                await self.writer.add([], request)
            else:
                if not str(exc):
                    exc.args = (f"not fetched ({reason}): {request.url}",)
                await self._failure(request, exc)
            return
        except DownloadError as exc:
            self.stats.inc(f"failed/{type(exc).__name__}")
            logger.info("download failed: %s", exc)
            await self._failure(request, exc)
            return
        except ComponentError as exc:
            self.stats.inc("errors/middleware")
            logger.error("%s (%s)", exc, request.url, exc_info=exc.wrapped)
            await self._failure(request, exc)
            return
        if isinstance(outcome, Request):
            await self._instead(request, outcome)
        else:
            await self._handle_response(request, outcome)

    async def _instead(self, request: Request, new: Request) -> None:
        """A middleware gave ``new`` instead of a response for ``request``: a retry (its
        ``retries`` grew) waits out its backoff outside dedup; anything else (a redirect, say)
        is a new request, checked and deduplicated from the top."""
        if new.retries > request.retries:
            retry_after = new.meta.pop("retry_after", None)
            if retry_after is not None:
                delay = min(retry_after, self.max_retry_after)
            else:
                delay = min(0.5 * 2**request.retries, 30.0) * random.uniform(0.5, 1.5)
            self.scheduler.add_later(new, delay, replaces=request)
            return
        await self._schedule([new])
        await self.writer.add([], request)

    async def _failure(self, request: Request, exc: BaseException,
                       response: Response | None = None) -> None:
        """A request failed for good: its errback, the error hook, then done. ``response``:
        the one a spider middleware's ``process_spider_input`` rejected, or the one of an
        :class:`HttpError`."""
        self.hooks.error(exc, request, self.spider)
        errback = request.errback
        if errback is not None:
            try:
                func = self._resolve(errback)
                await self._run_callback(func, request, response, Failure(request, exc))
            except CallbackError as cerr:
                self._callback_error(str(errback), request, cerr.wrapped or cerr)
        await self.writer.add([], request)

    async def _handle_response(self, request: Request, response: Response) -> None:
        status = response.status
        if _debug():
            logger.debug("crawled (%d) <%s %s> (referer: %s)", status, request.method,
                         response.url, request.referer)
        if not self._accepting:
            await self._max_pages_drop(request)
            return
        if not (200 <= status < 300) and not self._handles_status(request, status):
            self.stats.inc(f"http_ignored/{status}")
            exc = HttpError(f"HTTP {status} {request.url}", request, status, response)
            if request.errback is None:
                logger.info("ignoring response %s: HTTP status not handled", response)
                await self.writer.add([], request)
            else:  # its errback's output goes through the spider middlewares with it,
                # as Scrapy's HttpErrorMiddleware rejects it in process_spider_input
                await self._failure(request, exc, response)
            return
        if self.max_pages is not None:
            # a shared frontier counts for the whole crawl: this page's number, or 0
            counted = await self.scheduler.count_page(self.max_pages)
            if counted is None:
                counted = self._pages + 1
            elif not counted:
                counted = self.max_pages + 1
            if counted > self.max_pages:  # (another worker took the last ones)
                self._limit_reached()
                await self._max_pages_drop(request)
                return
            self._pages = counted
            if counted >= self.max_pages:
                self._limit_reached()
        else:
            self._pages += 1
        self.stats.inc("pages")
        response._links_provider = self._links
        self.hooks.response_received(response, self.spider)
        if self._sm_input and await self._spider_input(request, response):
            return
        callback = request.callback
        try:
            func = self._resolve(callback)
        except CallbackError as exc:
            self._callback_error(str(callback), request, exc)
            await self.writer.add([], request)
            return
        await self._run_callback(func, request, response, response)

    def _limit_reached(self) -> None:
        """``max_pages`` is reached: no request is scheduled or started any more."""
        self._accepting = self._taking = False
        self.reason = "max_pages"
        self._wake.set()

    async def _max_pages_drop(self, request: Request) -> None:
        """A response past ``max_pages``: dropped and counted; with a durable frontier the
        request stays leased, so a later run (with a higher limit) fetches it again."""
        self._drop(request, "dropped/max_pages")
        if not self.durable:
            await self.writer.add([], request)

    def _handles_status(self, request: Request, status: int) -> bool:
        meta, spider = request.meta, self.spider
        if meta.get("handle_httpstatus_all") or getattr(spider, "handle_httpstatus_all", False):
            return True
        allowed = meta.get("handle_httpstatus_list") or getattr(
            spider, "handle_httpstatus_list", None) or ()
        return status in allowed

    # -- callbacks ------------------------------------------------------------------------------
    def _resolve(self, callback: Any) -> Callable[..., Any]:
        if callback is None:
            parse: Callable[..., Any] = self.spider.parse
            return parse
        if callable(callback):
            return callback  # type: ignore[no-any-return]
        name = str(callback)
        func = None if name.startswith("__") or name in _NOT_CALLBACKS else getattr(
            self.spider, name, None)
        if not callable(func):
            raise CallbackError(f"spider has no callback named {callback!r}", Request("about:"))
        found: Callable[..., Any] = func
        return found

    async def _run_callback(
        self, func: Callable[..., Any], request: Request, response: Response | None, arg: Any
    ) -> None:
        """Call ``func(arg, **cb_kwargs)`` and route everything it yields or returns. ``arg``
        is ``response`` for a callback; else a Failure for an errback (``response``: the one
        ``process_spider_input`` rejected, or None)."""
        name = getattr(func, "__qualname__", repr(func))
        # with spider-output components everything is first collected in one list, in order
        collect = self._sm_output
        requests: list[Any] = []
        items: list[Any] = requests if collect else []
        route = self._collect if collect else self._route
        depth = request.depth + 1
        called = arg is response  # a callback, not an errback
        failed: Exception | None = None
        try:
            result = func(arg, **request.cb_kwargs) if called else func(arg)
            if inspect.isasyncgen(result):
                async for out in result:
                    route(out, requests, items, depth, request, name)
            else:
                if inspect.isawaitable(result):
                    result = await result
                if result is None:
                    pass
                # a generator or a list (a plain callback's output) is asked nothing more; an
                # item type is decided before the iterables (a dict or an item class iterates)
                elif type(result) not in _ITERABLES and (
                        isinstance(result, Request) or to_item(result) is not None):
                    route(result, requests, items, depth, request, name)
                elif isinstance(result, AsyncIterable):
                    async for out in result:
                        route(out, requests, items, depth, request, name)
                elif isinstance(result, Iterable) and not isinstance(result, str | bytes):
                    add = requests.append
                    for out in result:
                        if type(out) is Request and out.depth >= depth:
                            add(out)  # the common case, as _route would: a followed link
                        else:
                            route(out, requests, items, depth, request, name)
                else:
                    route(result, requests, items, depth, request, name)
        except Exception as exc:
            failed = exc
        recovered = None
        if failed is not None:
            if self._sm_exception and response is not None:
                recovered = await self._spider_exception(request, response, failed, name)
            if recovered is None:
                self._callback_error(name, request, failed)
        if called and response is not None and self.follow_links:
            try:
                for link in response.links():
                    if not link.nofollow:
                        requests.append(Request(link.url, request.callback, depth=depth,
                                                referer=response.url))
            except Exception as exc:  # a link extractor plugin failed: keep the page's items
                logger.error("link extraction failed on %s", request.url, exc_info=exc)
                self.stats.inc("errors/plugin")
                self.hooks.error(exc, request, self.spider)
        if collect:
            requests, items = await self._spider_output(response, request, requests, depth, name)
        if recovered is not None:
            more, more_items = await self._recovered(response, request, recovered, depth)
            requests += more
            items += more_items
        await self._emit(request, response, requests, items)

    async def _emit(self, request: Request, response: Response | None, requests: list[Request],
                    items: list[Any]) -> None:
        """Route what was produced for ``request`` (by its callback, or by a
        ``process_spider_exception`` after ``process_spider_input`` raised): requests
        scheduled, items through the pipelines to the writer (which then marks ``request``
        done)."""
        if requests:
            await self._schedule(requests)
        if items and self.pipelines is not None:
            items = await self._pipe(items, request)
        if items and response is not None:
            for item in items:
                self.hooks.item_scraped(item, response, self.spider)
        self.stats.inc("items", len(items))
        await self.writer.add(items, request)

    @staticmethod
    def _collect(out: Any, requests: list[Any], items: list[Any], depth: int, parent: Request,
                 name: str) -> None:
        requests.append(out)

    async def _spider_output(
        self, response: Response | None, request: Request, outs: list[Any], depth: int,
        name: str, start: int = 0,
    ) -> tuple[list[Request], list[Any]]:
        """``outs`` through the spider middlewares' ``process_spider_output`` (from the one at
        ``start`` in the list on), then routed."""
        assert self.spider_mws is not None
        try:
            outs = await self.spider_mws.output(response, outs, start)
        except ComponentError as exc:
            outs = exc.partial  # what it yielded before it raised is kept
            kept = f"; what it yielded before it raised is kept ({len(outs)})" if outs else \
                "; its output is dropped"
            for error in (exc, *exc.later):
                self.stats.inc("errors/middleware")
                logger.error("%s (%s)%s", error, request.url, kept if error is exc else "",
                             exc_info=error.wrapped)
                self.hooks.error(error, request, self.spider)
        requests: list[Request] = []
        items: list[Any] = []
        for out in outs:
            self._route(out, requests, items, depth, request, name)
        return requests, items

    async def _spider_input(self, request: Request, response: Response) -> bool:
        """The spider middlewares' ``process_spider_input``. False: on to the callback. True:
        one raised, and the response was handled here instead (Scrapy's way): the request's
        errback gets the exception; without one, ``process_spider_exception`` may give output
        instead; else an ``IgnoreRequest`` is a drop (``filtered/<reason>``), anything else a
        middleware error."""
        assert self.spider_mws is not None
        try:
            rejected = await self.spider_mws.input(response)
        except ComponentError as exc:  # it returned something other than None
            self._component_failed(exc, request)
            await self.writer.add([], request)
            return True
        if rejected is None:
            return False
        name, raised = rejected
        if request.errback is not None:
            await self._failure(request, raised, response)
            return True
        if self._sm_exception:
            recovered = await self._spider_exception(request, response, raised,
                                                     f"{name} process_spider_input")
            if recovered is not None:
                requests, items = await self._recovered(response, request, recovered,
                                                        request.depth + 1)
                await self._emit(request, response, requests, items)
                return True
        if isinstance(raised, IgnoreRequest):
            reason = raised.reason or name
            logger.debug("spider middleware %r ignored %s (%s)", name, response, reason)
            self._drop(request, f"filtered/{reason}")
        else:
            self._component_failed(ComponentError(
                f"spider middleware {name!r} process_spider_input raised "
                f"{type(raised).__name__}: {raised}", request, component=name, wrapped=raised),
                request)
        await self.writer.add([], request)
        return True

    async def _spider_exception(self, request: Request, response: Response, exc: Exception,
                                where: str) -> tuple[int, list[Any]] | None:
        """The spider middlewares' ``process_spider_exception`` for ``exc`` (raised by
        ``where``): (index of the one that returned output, that output), or None."""
        assert self.spider_mws is not None
        try:
            recovered = await self.spider_mws.exception(response, exc)
        except ComponentError as error:
            self._component_failed(error, request)
            return None
        if recovered is not None and _debug():
            logger.debug("spider middleware %r handled %s from %s on %s",
                         self.spider_mws.name_at(recovered[0]), type(exc).__name__, where,
                         request.url)
        return recovered

    async def _recovered(
        self, response: Response | None, request: Request, recovered: tuple[int, list[Any]],
        depth: int,
    ) -> tuple[list[Request], list[Any]]:
        """The output a ``process_spider_exception`` returned, through the
        ``process_spider_output`` of the middlewares after it, routed."""
        assert self.spider_mws is not None
        index, outs = recovered
        name = f"{self.spider_mws.name_at(index)} process_spider_exception"
        if self._sm_output:
            return await self._spider_output(response, request, outs, depth, name, index + 1)
        requests: list[Request] = []
        items: list[Any] = []
        for out in outs:
            self._route(out, requests, items, depth, request, name)
        return requests, items

    def _component_failed(self, exc: ComponentError, request: Request | None = None) -> None:
        """A middleware failed outside a download (a spider middleware, an open/close)."""
        self.stats.inc("errors/middleware")
        if request is not None:
            logger.error("%s (%s)", exc, request.url, exc_info=exc.wrapped)
        else:
            logger.error("%s", exc, exc_info=exc.wrapped)
        self.hooks.error(exc, request, self.spider)

    async def _pipe(self, items: list[Any], request: Request) -> list[dict[str, Any]]:
        """``items`` through the pipelines; the ones that come out whole, as dicts."""
        assert self.pipelines is not None
        kept: list[dict[str, Any]] = []
        for obj in items:
            out = await self.pipelines.process(obj)
            if out is None:
                continue
            item = to_item(out)
            if item is None:
                self.stats.inc("errors/output")
                logger.error("the pipelines turned an item from %s into %s, not an item; "
                             "dropped", request.url, type(out).__name__)
                continue
            kept.append(item)
        return kept

    def _route(
        self,
        out: Any,
        requests: list[Request],
        items: list[dict[str, Any]],
        depth: int,
        parent: Request,
        name: str,
    ) -> None:
        if isinstance(out, Request):
            if out.depth < depth:
                out = attrs.evolve(out, depth=depth, referer=out.referer or parent.url)
            requests.append(out)
            return
        if out is None:
            return
        item = to_item(out)
        if item is not None:
            items.append(out if self.pipelines is not None else item)  # pipelines see originals
            return
        self.stats.inc("errors/output")
        logger.error(
            "callback %s yielded %s (from %s); expected acrawl.Request, an item (dict, "
            "dataclass, attrs, pydantic model...), or None", name, type(out).__name__, parent.url)

    def _callback_error(self, name: str, request: Request | None, exc: BaseException) -> None:
        self.stats.inc("errors/callback")
        url = request.url if request is not None else "-"
        if isinstance(exc, CallbackError) and exc.wrapped is None:  # ours: no traceback to show
            logger.error("spider error in %s processing %s: %s", name, url, exc)
        else:
            logger.error("spider error in %s processing %s", name, url, exc_info=exc)
        if request is not None:
            self.hooks.error(CallbackError(f"{name} raised {exc!r}", request, exc), request,
                             self.spider)

    def _bad_item(self, sink: Sink, item: dict[str, Any], exc: BaseException) -> None:
        self.stats.inc("errors/item")
        try:
            shown = reprlib.repr(item)
        except Exception:  # a value whose repr raises, too
            shown = f"an item with keys {sorted(map(str, item))}"
        logger.error("%r cannot write an item, dropped (%s: %s): %s",
                     sink, type(exc).__name__, exc, shown)
        self.hooks.error(exc, None, self.spider)

    def _sink_error(self, sink: Sink, exc: BaseException) -> None:
        self.stats.inc("errors/sink")
        logger.error("sink %r failed to write", sink, exc_info=exc)
        self.hooks.error(exc, None, self.spider)

    # -- links ----------------------------------------------------------------------------------
    def _links(self, response: Response) -> list[Link]:
        raw = self.hooks.extract_links(response, self.spider)
        dropped = 0
        seen: set[str] = set()
        out: list[Link] = []
        for link in raw:
            if isinstance(link, Link):
                href, text, nofollow = link.url, link.text, link.nofollow
            else:
                href, text, nofollow = str(link), "", False
            try:
                absolute = response.urljoin(href)
            except ValueError:
                self.stats.inc("dropped/invalid_url")
                continue
            if scheme_of(absolute) not in FETCHABLE_SCHEMES:
                dropped += 1
                continue
            url = canonicalize(absolute)
            if url in seen:
                continue
            seen.add(url)
            out.append(Link(url, text, nofollow))
        if dropped:
            self.stats.inc("dropped/scheme", dropped)
        return out


async def _as_async(source: Any) -> Any:
    """Iterate a sync or async iterable (or None) asynchronously, yielding to the event loop
    now and then on a long sync one."""
    if isinstance(source, AsyncIterable):
        async for obj in source:
            yield obj
        return
    for i, obj in enumerate(source or ()):
        yield obj
        if i % 256 == 255:
            await asyncio.sleep(0)


def _as_requests(source: Any) -> Iterable[Any] | AsyncIterable[Any]:
    """Start requests given as URLs made requests, lazily (what the spider middlewares see)."""
    if source is None:
        return ()
    if isinstance(source, AsyncIterable):
        return _as_requests_async(source)
    requests: Iterable[Any] = (Request(obj) if isinstance(obj, str) else obj for obj in source)
    return requests


async def _as_requests_async(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
    async for obj in source:
        yield Request(obj) if isinstance(obj, str) else obj
