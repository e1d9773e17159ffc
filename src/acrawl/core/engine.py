"""The engine: takes requests from the scheduler, downloads them, runs the spider callbacks,
routes what they produce (requests back to the scheduler, items to the sinks), and decides
when the crawl is over.

It knows the interfaces only — a :class:`~acrawl.core.scheduler.Scheduler` over any
queue/dedup backend, a downloader with ``async fetch(request)``, sinks, gates and
:class:`~acrawl.plugins.Hooks` — and is wired in ``crawler.py``. One bad page, callback or
plugin never stops it: errors are logged, counted in stats and the crawl goes on.

A request's life: filters → dedup → queue → (slot) → gates (robots) → download →
redirect? (new request, from the top) / retry? (back to the queue after a backoff) →
callback → outputs → items written → ``queue.done(request)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import logging
import random
import reprlib
import time
from collections.abc import AsyncIterable, Callable, Iterable
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import attrs

from ..errors import (
    BlockedAddress,
    CallbackError,
    ConnectError,
    DownloadError,
    DownloadTimeout,
    HttpError,
    RequestIgnored,
    TooManyRedirects,
)
from ..http import CREDENTIAL_HEADERS, Failure, Link, Request, Response
from ..urls import FETCHABLE_SCHEMES, canonicalize, host_key, scheme_of

if TYPE_CHECKING:
    from ..gates import Gate
    from ..plugins import Hooks
    from ..settings import Settings
    from ..sinks.base import Sink
    from ..spider import Spider
    from ..stats import Stats
    from .scheduler import Scheduler

__all__ = ["Engine", "ItemWriter", "to_item"]

logger = logging.getLogger(__name__)
_debug = functools.partial(logger.isEnabledFor, logging.DEBUG)

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
#: spider methods a callback given by name (from a stored request, say) may not be
_NOT_CALLBACKS = frozenset({"start_requests"})
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})


def to_item(obj: Any) -> dict[str, Any] | None:
    """``obj`` as an item dict if it is a dict, attrs instance or dataclass instance (not one
    of acrawl's own attrs classes: a Response or Link yielded by mistake is no item)."""
    if isinstance(obj, dict):
        return obj
    cls = type(obj)
    if attrs.has(cls) and not isinstance(obj, Response | Link | Failure):
        return attrs.asdict(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return None


class ItemWriter:
    """Batches items to every sink; acknowledges finished requests after their items are
    written, so a request is never ``done`` before its output is safe.

    ``commit(requests, sinks)`` is called after each batch reached the sinks: it marks the
    requests done (and, for a durable crawl, records the sinks' checkpoints atomically).

    A sink gets at most ``batch_size`` items per ``write``. When a write raises, the sink gets
    the batch again one item at a time; the items it still refuses are reported to
    ``on_bad_item``, so one bad item does not cost the others."""

    def __init__(
        self,
        *,
        sinks: list[Sink],
        batch_size: int,
        commit: Callable[[list[Request], list[Sink]], Any],
        on_error: Callable[[Sink, BaseException], None],
        on_bad_item: Callable[[Sink, dict[str, Any], BaseException], None] | None = None,
    ) -> None:
        self.sinks = sinks
        self.batch_size = batch_size
        self._commit = commit
        self._on_error = on_error
        self._on_bad_item = on_bad_item
        self._items: list[dict[str, Any]] = []
        self._acks: list[Request] = []
        self._lock = asyncio.Lock()
        self.written = 0

    async def add(self, items: list[dict[str, Any]], done: Request | None) -> None:
        self._items.extend(items)
        if done is not None:
            self._acks.append(done)
        if len(self._items) >= self.batch_size or len(self._acks) >= self.batch_size:
            await self.flush()

    async def flush(self) -> None:
        """Write what is buffered. Shielded: a cancelled caller (a forced stop) does not cut
        a batch in half; the write completes and the final flush waits for it."""
        await asyncio.shield(self._flush())

    async def _flush(self) -> None:
        async with self._lock:
            items, self._items = self._items, []
            acks, self._acks = self._acks, []
            size = self.batch_size
            for start in range(0, len(items), size):
                await self._write(items[start:start + size])
            if acks or items:
                await self._commit(acks, self.sinks)

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        for sink in self.sinks:
            try:
                await sink.write(batch)
            except Exception as exc:
                await self._write_singly(sink, batch, exc)
        self.written += len(batch)

    async def _write_singly(self, sink: Sink, batch: list[dict[str, Any]],
                            exc: BaseException) -> None:
        """``sink`` refused ``batch``: give it the items one by one, so an item it cannot
        write (a circular reference, a value whose conversion raises) costs only itself. If it
        refuses them all, the sink is at fault, not the items."""
        if len(batch) == 1 or self._on_bad_item is None:
            self._on_error(sink, exc)
            return
        refused: list[tuple[dict[str, Any], BaseException]] = []
        for item in batch:
            try:
                await sink.write([item])
            except Exception as item_exc:
                refused.append((item, item_exc))
        if len(refused) == len(batch):
            self._on_error(sink, exc)
            return
        for item, why in refused:
            self._on_bad_item(sink, item, why)

    @property
    def buffered(self) -> int:
        """Items and finished requests waiting for the next flush."""
        return len(self._items) + len(self._acks)


class Engine:
    def __init__(
        self,
        *,
        spider: Spider,
        settings: Settings,
        hooks: Hooks,
        scheduler: Scheduler,
        downloader: Any,
        sinks: list[Sink],
        gates: list[Gate],
        stats: Stats,
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
        self.gates = gates
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
        self.max_depth: int | None = s["max_depth"]
        self.max_redirects: int = s["max_redirects"]
        self.retry_times: int = s["retry_times"]
        self.retry_codes = frozenset(s["retry_http_codes"])
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
        #: per-host slots, delays, AutoThrottle and Retry-After pauses (the scheduler's)
        self.politeness = scheduler.politeness

    # -- public ---------------------------------------------------------------------------------
    async def run(self) -> str:
        """Crawl until the frontier is empty and nothing is in flight, or until stopped."""
        self.hooks.crawl_opened(self.spider, self.settings)
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
            await self.writer.flush()
            self.stats.finish()
            for key, value in self.scheduler.stats().items():
                self.stats.set(key, value)
            self.hooks.crawl_closed(self.spider, self.stats, self.reason)
        return self.reason

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
            sources.append((self.spider.start_requests(), True))
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
            if self.max_depth is not None and req.depth > self.max_depth:
                self._drop(req, "dropped/max_depth")
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
        released = False
        try:
            task = asyncio.current_task()
            assert task is not None  # (always run as a task)
            self._before_download.add(task)
            try:
                for gate in self.gates:
                    reason = await gate.check(request)
                    if reason:
                        self._drop(request, f"filtered/{reason}")
                        if request.errback is None:
                            await self.writer.add([], request)
                        else:
                            await self._failure(request, RequestIgnored(
                                f"not fetched ({reason}): {request.url}", request, reason))
                        return
                await self.scheduler.pace(request)
            except asyncio.CancelledError:
                if self._taking:
                    raise
                # stopped while waiting for robots.txt or a host's delay: the request is left
                # unfinished (a durable frontier crawls it on resume), not filtered or acked
                return
            finally:
                self._before_download.discard(task)
            self.stats.inc("requests/downloaded")
            started = time.monotonic()
            try:
                response = await self.downloader.fetch(request)
            except DownloadError as exc:
                self._throttle(request, started, None)
                released = True
                self._download_finished(request)
                await self._download_failed(request, exc)
                return
            self._throttle(request, started, response.status)
            released = True
            self._download_finished(request)
            await self._handle_response(request, response)
        finally:
            if not released:
                self._download_finished(request)

    def _throttle(self, request: Request, started: float, status: int | None) -> None:
        self.politeness.observe(request.host, latency=time.monotonic() - started, status=status)

    async def _download_failed(self, request: Request, exc: DownloadError) -> None:
        retryable = isinstance(exc, DownloadTimeout | ConnectError) and not isinstance(
            exc, BlockedAddress)
        if retryable and self._retry(request, type(exc).__name__):
            return
        self.stats.inc(f"failed/{type(exc).__name__}")
        logger.info("download failed: %s", exc)
        await self._failure(request, exc)

    def _retry(self, request: Request, why: str, retry_after: float | None = None) -> bool:
        if request.retries >= self.retry_times or not self._taking:
            return False
        if retry_after is not None:
            delay = min(retry_after, self.max_retry_after)
        else:
            delay = min(0.5 * 2**request.retries, 30.0) * random.uniform(0.5, 1.5)
        self.stats.inc("retries")
        self.stats.inc(f"retries/{why}")
        logger.debug("retrying %s in %.2fs (%s)", request.url, delay, why)
        self.scheduler.add_later(attrs.evolve(request, retries=request.retries + 1), delay,
                                 replaces=request)
        return True

    async def _failure(self, request: Request, exc: BaseException) -> None:
        """A request failed for good: its errback, the error hook, then done."""
        self.hooks.error(exc, request, self.spider)
        errback = request.errback
        if errback is not None:
            try:
                func = self._resolve(errback)
                await self._run_callback(func, request, None, Failure(request, exc))
            except CallbackError as cerr:
                self._callback_error(str(errback), request, cerr.wrapped or cerr)
        await self.writer.add([], request)

    async def _handle_response(self, request: Request, response: Response) -> None:
        status = response.status
        self.stats.inc(f"http/{status}")
        if _debug():
            logger.debug("crawled (%d) <%s %s> (referer: %s)", status, request.method,
                         response.url, request.referer)
        if response.truncated:
            self.stats.inc("responses/truncated")
        if status in REDIRECT_CODES and "Location" in response.headers:
            await self._redirect(request, response)
            return
        if status in self.retry_codes:
            retry_after = _retry_after(response)
            if retry_after is not None:  # a 429/503 pauses the whole host
                self.politeness.retry_after(request.host, status,
                                            min(retry_after, self.max_retry_after))
            if self._retry(request, f"http_{status}", retry_after):
                return
        if not self._accepting:
            await self._max_pages_drop(request)
            return
        if not (200 <= status < 300) and not self._handles_status(request, status):
            self.stats.inc(f"http_ignored/{status}")
            exc = HttpError(f"HTTP {status} {request.url}", request, status)
            if request.errback is None:
                logger.info("ignoring response %s: HTTP status not handled", response)
                await self.writer.add([], request)
            else:
                await self._failure(request, exc)
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

    async def _redirect(self, request: Request, response: Response) -> None:
        self.stats.inc("redirects")
        location = response.headers.get("Location", "")
        chain = [*request.meta.get("redirect_urls", ()), request.url]
        try:
            target = urljoin(response.url, location.strip())
            urlsplit(target).port  # noqa: B018 - raises ValueError on a broken netloc
        except ValueError:
            target = ""
        if not target:
            exc: DownloadError = DownloadError(
                f"unparsable redirect Location {location[:200]!r} at {request.url}", request)
        elif request.redirects >= self.max_redirects:
            exc = TooManyRedirects(
                f"more than {self.max_redirects} redirects: {chain[0]}", request)
        elif canonicalize(target) in {canonicalize(u) for u in chain}:
            exc = TooManyRedirects(f"redirect loop at {target}", request)
        else:
            new = _redirected(request, target, response.status, chain)
            await self._schedule([new])
            await self.writer.add([], request)
            return
        self.stats.inc(f"failed/{type(exc).__name__}")
        logger.info("%s", exc)
        await self._failure(request, exc)

    # -- callbacks ------------------------------------------------------------------------------
    def _resolve(self, callback: Any) -> Callable[..., Any]:
        if callback is None:
            return self.spider.parse
        if callable(callback):
            return callback
        name = str(callback)
        func = None if name.startswith("__") or name in _NOT_CALLBACKS else getattr(
            self.spider, name, None)
        if not callable(func):
            raise CallbackError(f"spider has no callback named {callback!r}", Request("about:"))
        return func

    async def _run_callback(
        self, func: Callable[..., Any], request: Request, response: Response | None, arg: Any
    ) -> None:
        """Call ``func(arg, **cb_kwargs)`` and route everything it yields or returns."""
        name = getattr(func, "__qualname__", repr(func))
        requests: list[Request] = []
        items: list[dict[str, Any]] = []
        depth = request.depth + 1
        try:
            result = func(arg, **request.cb_kwargs) if response is not None else func(arg)
            if inspect.isasyncgen(result):
                async for out in result:
                    self._route(out, requests, items, depth, request, name)
            else:
                if inspect.isawaitable(result):
                    result = await result
                if result is None:
                    pass
                elif isinstance(result, Request) or to_item(result) is not None:
                    self._route(result, requests, items, depth, request, name)
                elif isinstance(result, AsyncIterable):
                    async for out in result:
                        self._route(out, requests, items, depth, request, name)
                elif isinstance(result, Iterable) and not isinstance(result, str | bytes):
                    route, add = self._route, requests.append
                    for out in result:
                        if type(out) is Request and out.depth >= depth:
                            add(out)  # the common case, as _route would: a followed link
                        else:
                            route(out, requests, items, depth, request, name)
                else:
                    self._route(result, requests, items, depth, request, name)
        except Exception as exc:
            self._callback_error(name, request, exc)
        if response is not None and self.follow_links:
            try:
                for link in response.links():
                    if not link.nofollow:
                        requests.append(Request(link.url, request.callback, depth=depth,
                                                referer=response.url))
            except Exception as exc:  # a link extractor plugin failed: keep the page's items
                logger.error("link extraction failed on %s", request.url, exc_info=exc)
                self.stats.inc("errors/plugin")
                self.hooks.error(exc, request, self.spider)
        if requests:
            await self._schedule(requests)
        if items and response is not None:
            for item in items:
                self.hooks.item_scraped(item, response, self.spider)
        self.stats.inc("items", len(items))
        await self.writer.add(items, request)

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
            items.append(item)
            return
        self.stats.inc("errors/output")
        logger.error(
            "callback %s yielded %s (from %s); expected acrawl.Request, dict, attrs or "
            "dataclass instance, or None", name, type(out).__name__, parent.url)

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


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from datetime import datetime
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


def _redirected(request: Request, target: str, status: int, chain: list[str]) -> Request:
    """The request a redirect leads to: a new request, one hop further."""
    method, body = request.method, request.body
    headers = dict(request.headers)
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
    # same origin = same scheme and host:port (host_key already drops default ports)
    if (scheme_of(target), host_key(target)) != (scheme_of(request.url), host_key(request.url)):
        headers = {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}
    meta = {**request.meta, "redirect_urls": chain}
    return attrs.evolve(
        request, url=target, method=method, body=body, headers=headers, meta=meta,
        redirects=request.redirects + 1, retries=0,
    )
