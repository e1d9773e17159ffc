"""Run chosen requests through a real crawl and see exactly what each callback produced.

``acrawl fetch``, ``shell``, ``parse`` and ``check`` (and the contract tests pytest collects)
are built on :class:`Probe`. It takes a crawler built as a crawl builds it (settings, plugins,
URL filters, robots.txt, dedup, retries, redirects, the downloader and its private-address
guard), replaces the start requests with its own, and wraps each callback so that everything
it yields is recorded in a :class:`CallbackRun` — before the engine routes it as usual::

    probe = Probe(crawler, depth=1)
    run = probe.add(Request(url, callback="parse"))
    await probe.run()
    run.response, run.items, run.requests, run.fates, run.error, run.failure

Requests a callback yields are followed while their level is within ``depth`` (level 1 is the
start request's callback); deeper ones still pass the URL filters and dedup — so
``run.fates`` tells what the crawl would do with each (``"scheduled"``, ``"dropped/duplicate"``,
``"filtered/allowed_hosts"``...) — but are stopped before their download. Start requests from
plugins (``acrawl_start_requests``, e.g. sitemaps) are left out: only the probe's requests run.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..http import Failure, Link, Request, Response
from .record import attach

if TYPE_CHECKING:
    from ..crawler import Crawler, CrawlResult
    from ..spider import Spider

__all__ = ["CallbackRun", "Probe", "callback_name", "iterate_output", "resolve_callback"]

#: the gate reason for requests past ``depth`` (counted as ``filtered/not_followed``)
NOT_FOLLOWED = "not_followed"


@attrs.define(eq=False)
class CallbackRun:
    """One request and what its callback produced.

    ``response`` is None when the request got none: then ``failure`` says why (a download
    error, a robots.txt refusal, an HTTP status the spider does not handle), or ``fate`` does
    (the request was filtered or deduplicated before download). ``error`` is the exception
    the callback raised, ``invalid`` what it yielded that is neither a request nor an item."""

    request: Request
    callback: str
    level: int
    response: Response | None = None
    items: list[dict[str, Any]] = attrs.field(factory=list)
    requests: list[Request] = attrs.field(factory=list)
    #: for each of ``requests`` (by index): what the crawl did with it
    fates: dict[int, str] = attrs.field(factory=dict)
    invalid: list[Any] = attrs.field(factory=list)
    error: BaseException | None = None
    failure: BaseException | None = None
    fate: str | None = None
    children: list[CallbackRun] = attrs.field(factory=list)
    #: the requests the crawl made from ``response.links()`` (a ``follow_links`` spider)
    links: list[Request] = attrs.field(factory=list)
    link_fates: dict[int, str] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        return self.response is not None and self.error is None


def callback_name(callback: Any) -> str:
    if callback is None:
        return "parse"
    if isinstance(callback, str):
        return callback
    return str(getattr(callback, "__name__", callback))


def resolve_callback(spider: Spider, callback: Any) -> Callable[..., Any]:
    """The callable a request's ``callback`` names on ``spider``; ConfigError if none."""
    if callable(callback):
        return callback
    name = callback_name(callback)
    func = None if name.startswith("_") or name == "start_requests" else getattr(
        spider, name, None)
    if not callable(func):
        names = sorted(n for n in dir(type(spider)) if not n.startswith("_")
                       and n not in ("start_requests", "logger")
                       and callable(getattr(type(spider), n, None))
                       and not n.startswith("acrawl_"))
        raise ConfigError(f"spider {spider.name!r} has no callback {name!r} "
                          f"(methods: {', '.join(names) or 'none'})")
    return func


async def iterate_output(result: Any) -> AsyncIterator[Any]:
    """What a callback returned, one object at a time, as the engine reads it: an async
    generator, a coroutine (awaited), one request or item, an iterable or async iterable of
    them, or None."""
    if inspect.isasyncgen(result):
        async for obj in result:
            yield obj
        return
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        return
    if isinstance(result, Request | dict) or attrs.has(type(result)) or _is_dataclass(result):
        yield result
    elif isinstance(result, AsyncIterable):
        async for obj in result:
            yield obj
    elif isinstance(result, Iterable) and not isinstance(result, str | bytes):
        for obj in result:
            yield obj
    else:
        yield result


def _is_dataclass(obj: Any) -> bool:
    import dataclasses

    return dataclasses.is_dataclass(obj) and not isinstance(obj, type)


def _as_item(obj: Any) -> dict[str, Any] | None:
    if isinstance(obj, dict):
        return obj
    if attrs.has(type(obj)) and not isinstance(obj, Response | Link | Failure | Request):
        return attrs.asdict(obj)
    if _is_dataclass(obj):
        import dataclasses

        return dataclasses.asdict(obj)
    return None


class _NotFollowedGate:
    """Stops the requests past the probe's depth before their download (after the URL
    filters and dedup have had their say)."""

    name = "probe"

    def __init__(self, probe: Probe) -> None:
        self._probe = probe

    async def check(self, request: Request) -> str | None:
        return NOT_FOLLOWED if self._probe._stops(request) else None

    def delay(self, host: str) -> float | None:
        return None

    async def close(self) -> None:
        return None


class Probe:
    """Runs :meth:`add`-ed requests through ``crawler`` (see the module docstring).

    ``forward=False`` records what callbacks yield without handing it to the crawl (no
    request is scheduled, no item reaches the pipelines or sinks): contracts use that.
    ``add(request, capture=True)`` records the response only, without calling the spider
    (fetch, shell). With a ``follow_links`` spider, the links the crawl follows from a page
    are recorded in its run's ``links`` (and followed within ``depth``, like yielded requests).
    """

    def __init__(self, crawler: Crawler, *, depth: int = 1, forward: bool = True) -> None:
        self.crawler = crawler
        self.spider = crawler.spider
        self.depth = depth
        self.forward = forward
        self.runs: list[CallbackRun] = []
        self._start: list[Request] = []
        #: id(wrapped callback) -> (the run that yielded the request, its index there)
        self._yielded: dict[int, tuple[CallbackRun, int]] = {}
        #: id(wrapped callback) -> (the run it records, the depth of that run's request)
        self._own: dict[int, tuple[CallbackRun, int]] = {}
        #: response URL -> its run (follow_links requests name it as their referer)
        self._pages: dict[str, CallbackRun] = {}
        #: id(follow_links request) -> (the run of the page it came from, its index in links)
        self._links: dict[int, tuple[CallbackRun, int]] = {}
        self._markers: set[int] = set()
        self._keep: list[Any] = []  # the wrappers, alive while their ids are keys
        self.result: CrawlResult | None = None
        attach(crawler, self, "acrawl.testing.probe")
        spider_requests = lambda: iter(self._start)  # noqa: E731
        self.spider.start_requests = spider_requests  # type: ignore[method-assign]

    # -- building requests ----------------------------------------------------------------------
    def add(self, request: Request, *, capture: bool = False) -> CallbackRun:
        """Run ``request`` (a start request: its host is trusted as a start URL's is)."""
        run = CallbackRun(request, "(fetch)" if capture else callback_name(request.callback), 1)
        self.runs.append(run)
        self._start.append(self._wrap(request, run, capture=capture))
        return run

    def _wrap(self, request: Request, run: CallbackRun, *, capture: bool = False) -> Request:
        func = None if capture else resolve_callback(self.spider, request.callback)
        probe = self

        async def callback(response: Response, **kwargs: Any) -> AsyncIterator[Any]:
            target = probe._run_for(run, response)
            target.response = response
            probe._pages.setdefault(response.url, target)
            if func is None:
                return
            try:
                async for obj in iterate_output(func(response, **kwargs)):
                    out = probe._record(target, obj)
                    if probe.forward and out is not None:
                        yield out
            except Exception as exc:
                target.error = exc
                raise

        def errback(failure: Failure) -> None:
            probe._run_for(run, None, failure.request).failure = failure.exception

        if func is not None:
            functools.update_wrapper(callback, func)
        self._own[id(callback)] = (run, request.depth)
        self._keep.append(callback)
        return attrs.evolve(request, callback=callback, errback=errback)

    def _follow_links_parent(self, request: Request) -> tuple[CallbackRun, int] | None:
        """For a request the crawl made from ``response.links()`` (``follow_links``): the run
        it belongs to and how many levels below it; None for any other request."""
        own = self._own.get(id(request.callback))
        if own is None or request.depth == own[1]:
            return None
        return own[0], request.depth - own[1]

    def _run_for(self, run: CallbackRun, response: Response | None,
                 request: Request | None = None) -> CallbackRun:
        """The run a response (or failure) of ``run``'s wrapped callback belongs to: ``run``
        itself, or, for a page reached by ``follow_links``, a child run of the page that
        linked to it."""
        request = response.request if response is not None else request
        if request is None:
            return run
        found = self._follow_links_parent(request)
        if found is None:
            return run
        base, levels = found
        parent = self._pages.get(request.referer or "", base)
        child = CallbackRun(request, base.callback, base.level + levels)
        parent.children.append(child)
        self.runs.append(child)
        return child

    def _stops(self, request: Request) -> bool:
        """Whether the gate stops ``request`` before its download."""
        if id(request.callback) in self._markers:
            return True
        found = self._follow_links_parent(request)
        return found is not None and found[0].level + found[1] > self.depth

    def _record(self, run: CallbackRun, obj: Any) -> Any:
        """Note ``obj`` in ``run``; what to hand on to the crawl (None: nothing)."""
        if isinstance(obj, Request):
            index = len(run.requests)
            run.requests.append(obj)
            if not self.forward:
                return None
            if run.level < self.depth:
                child = CallbackRun(obj, callback_name(obj.callback), run.level + 1)
                try:
                    follow = self._wrap(obj, child)
                except ConfigError:  # no such callback: the crawl reports it on the response
                    return obj
                run.children.append(child)
                self.runs.append(child)
                self._yielded[id(follow.callback)] = (run, index)
                return follow

            def not_followed(response: Response) -> None:  # never called: the gate stops it
                return None

            self._markers.add(id(not_followed))
            self._keep.append(not_followed)
            self._yielded[id(not_followed)] = (run, index)
            return attrs.evolve(obj, callback=not_followed, errback=None)
        if obj is None:
            return None
        item = _as_item(obj)
        if item is not None:
            run.items.append(item)
            return item
        run.invalid.append(obj)
        return obj  # the crawl reports it (errors/output)

    # -- hooks ----------------------------------------------------------------------------------
    @hookimpl(wrapper=True)
    def acrawl_start_requests(self) -> Any:
        """Only the probe's requests: other plugins' start requests are left out."""
        yield
        return []

    @hookimpl
    def acrawl_open_gate(self) -> _NotFollowedGate:
        return _NotFollowedGate(self)

    @hookimpl
    def acrawl_request_scheduled(self, request: Request) -> None:
        self._fate(request, "scheduled")

    @hookimpl
    def acrawl_request_dropped(self, request: Request, reason: str) -> None:
        if reason == f"filtered/{NOT_FOLLOWED}":
            return
        self._fate(request, reason)
        own = self._own.get(id(request.callback))
        if own is not None and own[0].response is None and request.depth == own[1]:
            own[0].fate = reason

    def _fate(self, request: Request, fate: str) -> None:
        shown = f"redirected, then {fate}" if request.redirects else fate
        found = self._yielded.get(id(request.callback))
        if found is not None:
            run, index = found
            run.fates[index] = shown
            return
        if self._follow_links_parent(request) is None:
            return
        key = id(request) if not request.redirects else None
        link = self._links.get(key) if key is not None else None
        if link is None:  # first seen: note it under the page it was found on
            page = self._pages.get(request.referer or "")
            if page is None:
                return
            page.links.append(request)
            link = (page, len(page.links) - 1)
            self._links[id(request)] = link
        link[0].link_fates[link[1]] = shown

    # -- running --------------------------------------------------------------------------------
    async def run(self) -> list[CallbackRun]:
        """Crawl the added requests (and what they lead to, within ``depth``)."""
        self.result = await self.crawler.crawl()
        return self.runs
