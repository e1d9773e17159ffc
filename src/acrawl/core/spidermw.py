"""Spider middlewares, in Scrapy's shape: the seam around the spider — its start requests, the
responses going into its callbacks, what comes out of them, and what they raise.

>>> mws = SpiderMiddlewares(slots, spider)
>>> start = mws.start_requests(spider.start_requests())  # lazy: never collected in a list
>>> rejected = await mws.input(response)       # None, or (middleware name, what it raised)
>>> outs = await mws.output(response, outs)    # a callback's output, filtered/changed/added to
>>> recovered = await mws.exception(response, exc)  # None, or (index, replacement output)

A spider middleware has any of these methods, each sync or async:

* ``process_start_requests(start_requests, spider)`` gets the start requests as they come (the
  spider's ``start_requests()``, a sync or async iterable) and returns an iterable or async
  iterable of requests. Scrapy 2.13's ``async def process_start(start)`` gets them as an async
  iterable; a middleware that has both is called through ``process_start``.
* ``process_spider_input(response, spider)`` returns ``None``, or raises: the callback is not
  called, and the exception goes to the request's errback (as a ``Failure``) if it has one,
  else through ``process_spider_exception``.
* ``process_spider_output(response, result, spider)`` gets what the callback (or an errback:
  then ``response`` may be ``None``) produced and returns an iterable or async iterable of
  requests and items. An async generator gets ``result`` as an async iterable; a middleware
  that also has ``process_spider_output_async`` (Scrapy's universal middlewares) is called
  through that one.
* ``process_spider_exception(response, exception, spider)`` is called when a callback raised,
  or a ``process_spider_input`` (with no errback to go to), or the ``process_spider_output``
  of a middleware before it. It returns ``None`` (the next one is asked; after the last, the
  error is handled as without middlewares: logged and counted) or an iterable of requests and
  items that replaces the output, handed to the ``process_spider_output`` of the middlewares
  after it (Scrapy's "starting from the next spider middleware").

**Order.** The list runs from the spider outwards, as ``process_spider_output`` always has in
acrawl: the first listed sees a callback's output first (Scrapy's highest
``SPIDER_MIDDLEWARES`` number). ``process_start_requests`` and ``process_spider_exception``
run in the same direction, ``process_spider_input`` in the other (the last listed first) —
Scrapy's relative order, in which output recovered by an exception handler continues outwards.

What a method raises on its own account (any exception from ``process_spider_output``,
``process_spider_exception`` or ``process_start_requests``; a value it may not return) is a
:class:`~acrawl.errors.ComponentError` naming the middleware. What a spider's own start
requests raise goes through unchanged. Each seam costs nothing when no middleware has its
method: the engine asks :attr:`starts`, :attr:`inputs`, :attr:`outputs` and
:attr:`exceptions` once.
"""

from __future__ import annotations

import inspect
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any

from ..errors import ComponentError
from .components import Slot

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..spider import Spider

__all__ = ["SpiderMiddlewares"]

_Method = Callable[..., Any]


class SpiderMiddlewares:
    """The spider middlewares of a crawl, in the order listed; see the module docstring."""

    def __init__(self, slots: Sequence[Slot], spider: Spider) -> None:
        self.slots = list(slots)
        self.spider = spider
        #: (name, method, Scrapy 2.13's process_start)
        self._starts: list[tuple[str, _Method, bool]] = []
        self._inputs: list[tuple[str, _Method]] = []
        #: (index in the list, name, method, gets an async iterable)
        self._outputs: list[tuple[int, str, _Method, bool]] = []
        self._exceptions: list[tuple[int, str, _Method]] = []
        for index, slot in enumerate(self.slots):
            mw, name = slot.component, slot.name
            if (start := _method(mw, "process_start")) is not None:
                self._starts.append((name, start, True))
            elif (start := _method(mw, "process_start_requests")) is not None:
                self._starts.append((name, start, False))
            if (given := _method(mw, "process_spider_input")) is not None:
                self._inputs.append((name, given))
            if (out := _method(mw, "process_spider_output")) is not None:
                universal = _method(mw, "process_spider_output_async")
                if universal is not None:
                    self._outputs.append((index, name, universal, True))
                else:
                    self._outputs.append((index, name, out, inspect.isasyncgenfunction(out)))
            if (handler := _method(mw, "process_spider_exception")) is not None:
                self._exceptions.append((index, name, handler))
        self._inputs.reverse()  # towards the spider: the last listed first
        #: which seams are in use (decided once: the engine skips the others)
        self.starts = bool(self._starts)
        self.inputs = bool(self._inputs)
        self.outputs = bool(self._outputs)
        self.exceptions = bool(self._exceptions)

    def __bool__(self) -> bool:
        return self.starts or self.inputs or self.outputs or self.exceptions

    # -- start requests -------------------------------------------------------------------------
    def start_requests(self, start: Any) -> Iterable[Any] | AsyncIterable[Any]:
        """``start`` (a sync or async iterable) through each ``process_start`` /
        ``process_start_requests`` in order. Each method is called now; the requests are
        pulled one at a time as the result is iterated (sync if every step was). Iterating
        raises what ``start`` raised, or a ComponentError naming the step that failed."""
        current: Any = () if start is None else start
        for name, func, modern in self._starts:
            method = "process_start" if modern else "process_start_requests"
            async_input = modern or isinstance(current, AsyncIterable)
            hint = ""
            if async_input and not modern and not _is_async_method(func):
                hint = ("; the start requests are an async iterable here: iterate them with "
                        "'async for', or define Scrapy 2.13's async process_start(start)")
            given = _guard_async(_aiter(current)) if async_input else _guard(current)
            try:
                out = func(given) if modern else func(given, self.spider)
            except _Upstream as up:  # it iterated them at once, and the spider's raised
                raise up.exc from None
            except Exception as exc:
                raise _start_failed(name, method, exc, hint) from exc
            if inspect.isawaitable(out):
                current = _passed_async(_awaited(out), name, method, hint)
            elif isinstance(out, AsyncIterable):
                current = _passed_async(out, name, method, hint)
            elif isinstance(out, Iterable) and not isinstance(out, str | bytes | Mapping):
                current = _passed(out, name, method, hint)
            else:
                raise ComponentError(f"spider middleware {name!r} {method} returned "
                                     f"{type(out).__name__}; expected an iterable of requests",
                                     component=name)
        if isinstance(current, AsyncIterable):
            return _unwrapped_async(current)
        return _unwrapped(current)

    # -- responses ------------------------------------------------------------------------------
    async def input(self, response: Response) -> tuple[str, Exception] | None:
        """Each ``process_spider_input``, the last listed first. ``None``: go on to the
        callback; else the name of the middleware that raised and its exception (the others
        are not called). One that returns anything but ``None`` is a ComponentError."""
        spider = self.spider
        for name, func in self._inputs:
            try:
                out = func(response, spider)
                if inspect.isawaitable(out):
                    out = await out
            except Exception as exc:
                return name, exc
            if out is not None:
                raise ComponentError(f"spider middleware {name!r} process_spider_input returned "
                                     f"{type(out).__name__}; expected None (or raise)",
                                     response.request, component=name)
        return None

    async def output(self, response: Response | None, result: list[Any],
                     start: int = 0) -> list[Any]:
        """``result`` through each ``process_spider_output`` in order, from the middleware at
        ``start`` in the list on; each gets the previous one's output. When one raises, the
        ``process_spider_exception`` of the middlewares after it are asked (if there is a
        response): output one returns goes on from there, else a ComponentError names the
        one that raised (the page's output is lost)."""
        current = result
        spider = self.spider
        for index, name, func, wants_async in self._outputs:
            if index < start:
                continue
            produced: list[Any] = []
            try:
                out = func(response, _aiter(current) if wants_async else current, spider)
                if inspect.isawaitable(out):
                    out = await out
                if out is None or isinstance(out, str | bytes | Mapping) or not isinstance(
                        out, Iterable | AsyncIterable):
                    raise ComponentError(
                        f"spider middleware {name!r} process_spider_output returned "
                        f"{type(out).__name__}; expected an iterable of requests and items "
                        "('return result' or 'yield' each one)",
                        response.request if response is not None else None, component=name)
                async for o in _aiter(out):
                    produced.append(o)
                current = produced
            except ComponentError:
                raise
            except Exception as exc:
                recovered = (await self.exception(response, exc, index + 1)
                             if self._exceptions and response is not None else None)
                if recovered is not None:
                    return await self.output(response, recovered[1], recovered[0] + 1)
                error = _raised(name, "process_spider_output", exc,
                                response.request if response is not None else None)
                if produced:  # what it yielded before it raised goes on, as in Scrapy
                    try:
                        error.partial = await self.output(response, produced, index + 1)
                    except ComponentError as later:
                        error.partial = later.partial
                        error.later = [later, *later.later]
                raise error from exc
        return current

    async def exception(self, response: Response | None, exc: BaseException,
                        start: int = 0) -> tuple[int, list[Any]] | None:
        """Each ``process_spider_exception`` in order, from the middleware at ``start`` in the
        list on, until one returns output: then its index in the list and that output (for
        :meth:`output` from the next index on); ``None`` if none did. One that raises, or
        returns what is neither ``None`` nor an iterable, is a ComponentError."""
        spider = self.spider
        request = response.request if response is not None else None
        for index, name, func in self._exceptions:
            if index < start:
                continue
            try:
                out = func(response, exc, spider)
                if inspect.isawaitable(out):
                    out = await out
            except Exception as error:
                raise _raised(name, "process_spider_exception", error, request) from error
            if out is None:
                continue
            if isinstance(out, str | bytes | Mapping) or not isinstance(
                    out, Iterable | AsyncIterable):
                raise ComponentError(f"spider middleware {name!r} process_spider_exception "
                                     f"returned {type(out).__name__}; expected None or an "
                                     "iterable of requests and items", request, component=name)
            try:
                outs = [o async for o in _aiter(out)]
            except Exception as error:
                raise _raised(name, "process_spider_exception", error, request) from error
            return index, outs
        return None

    def name_at(self, index: int) -> str:
        return self.slots[index].name


def _method(component: Any, name: str) -> _Method | None:
    func = getattr(component, name, None)
    return func if callable(func) else None


def _is_async_method(func: _Method) -> bool:
    return inspect.isasyncgenfunction(func) or inspect.iscoroutinefunction(func)


async def _aiter(source: Any) -> AsyncIterator[Any]:
    if source is None:
        return
    if isinstance(source, AsyncIterable):
        async for obj in source:
            yield obj
        return
    for obj in source:
        yield obj


# -- start requests: who raised -----------------------------------------------------------------
# A step's input is guarded: what the source raises crosses the middleware as _Upstream, so the
# guard on the step's output can tell the middleware's own failure from its source's.


class _Upstream(Exception):
    """What a step's source raised, carried through the step unchanged."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(exc)
        self.exc = exc


def _raised(name: str, method: str, exc: BaseException, request: Request | None = None,
            more: str = "") -> ComponentError:
    """The ComponentError for what spider middleware ``name``'s ``method`` raised."""
    return ComponentError(f"spider middleware {name!r} {method} raised "
                          f"{type(exc).__name__}: {exc}{more}", request, component=name,
                          wrapped=exc)


def _start_failed(name: str, method: str, exc: BaseException, hint: str) -> ComponentError:
    return _raised(name, method, exc, more=hint if isinstance(exc, TypeError) else "")


def _guard(source: Iterable[Any]) -> Iterator[Any]:
    try:
        it = iter(source)
    except Exception as exc:
        raise _Upstream(exc) from None
    while True:
        try:
            obj = next(it)
        except StopIteration:
            return
        except _Upstream:
            raise
        except Exception as exc:
            raise _Upstream(exc) from None
        yield obj


async def _guard_async(source: AsyncIterator[Any]) -> AsyncIterator[Any]:
    while True:
        try:
            obj = await anext(source)
        except StopAsyncIteration:
            return
        except _Upstream:
            raise
        except Exception as exc:
            raise _Upstream(exc) from None
        yield obj


def _passed(out: Iterable[Any], name: str, method: str, hint: str) -> Iterator[Any]:
    try:
        yield from out
    except _Upstream:
        raise
    except Exception as exc:
        raise _start_failed(name, method, exc, hint) from exc


async def _passed_async(out: AsyncIterable[Any], name: str, method: str,
                        hint: str) -> AsyncIterator[Any]:
    try:
        async for obj in out:
            yield obj
    except _Upstream:
        raise
    except Exception as exc:
        raise _start_failed(name, method, exc, hint) from exc


async def _awaited(aw: Any) -> AsyncIterator[Any]:
    """An ``async def`` method that returns its requests (a list, say)."""
    async for obj in _aiter(await aw):
        yield obj


def _unwrapped(source: Iterable[Any]) -> Iterator[Any]:
    try:
        yield from source
    except _Upstream as up:
        raise up.exc from None


async def _unwrapped_async(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
    try:
        async for obj in source:
            yield obj
    except _Upstream as up:
        raise up.exc from None
