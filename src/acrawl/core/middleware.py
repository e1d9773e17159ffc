"""The request/response chain: Scrapy's downloader middlewares (the spider middlewares are in
``spidermw.py``; ``open_spider``/``close_spider`` of both in ``components.Lifecycle``).

>>> chain = DownloadChain(slots, spider)
>>> outcome = await chain.run(request, fetch)   # a Response, or a Request to schedule instead

A request goes down the chain: each ``process_request(request, spider)`` in order, then the
download (``fetch``), then back up: each ``process_response(request, response, spider)`` in
reverse order — or, when the download raised, each ``process_exception(request, exception,
spider)`` in reverse order. Methods may be sync or async.

``process_request`` returns ``None`` (go on; it may have changed ``request.headers`` or
``request.meta`` in place), a ``Request`` (schedule that one instead: the chain stops), or a
``Response`` (answered without the network: the download and the remaining
``process_request`` calls are skipped, every ``process_response`` still runs). It may raise
:class:`~acrawl.errors.IgnoreRequest`.

``process_response`` returns a ``Response`` (the same or another) or a ``Request`` (schedule it
instead of using the response; a request whose ``retries`` grew is a retry: it waits out its
backoff and skips dedup).

``process_exception`` returns ``None`` (the error goes on up the chain, then to the errback), a
``Response`` (recovered: the ``process_response`` chain runs on it) or a ``Request``.

Anything else a method returns, or raises (other than ``IgnoreRequest`` and the
:class:`~acrawl.errors.DownloadError` family a built-in raises on purpose), is a
:class:`~acrawl.errors.ComponentError` naming the middleware.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import attrs

from ..errors import AcrawlError, ComponentError, DownloadError, IgnoreRequest
from ..http import Request, Response, plain_headers
from .components import Slot, is_async

if TYPE_CHECKING:
    from ..spider import Spider

__all__ = ["DownloadChain"]

Fetch = Callable[[Request], Awaitable[Response]]
_Step = tuple[str, Callable[..., Any], bool]  # (name, bound method, async)
_OUTCOMES = (Response, Request)


def _steps(slots: Sequence[Slot], method: str) -> list[_Step]:
    out = []
    for slot in slots:
        func = getattr(slot.component, method, None)
        if callable(func):
            out.append((slot.name, func, is_async(func)))
    return out


def _failed(name: str, method: str, request: Request, exc: BaseException) -> ComponentError:
    return ComponentError(f"middleware {name!r} {method} raised {type(exc).__name__}: {exc}",
                          request, component=name, wrapped=exc)


def _bad_return(name: str, method: str, request: Request, value: Any,
                expected: str) -> ComponentError:
    return ComponentError(f"middleware {name!r} {method} returned {type(value).__name__}; "
                          f"expected {expected}", request, component=name)


class DownloadChain:
    """Runs a request through the middlewares and the download; see the module docstring."""

    def __init__(self, slots: Sequence[Slot], spider: Spider) -> None:
        self.slots = list(slots)
        self.spider = spider
        self._requests = _steps(self.slots, "process_request")
        self._responses = _steps(self.slots, "process_response")[::-1]
        self._exceptions = _steps(self.slots, "process_exception")[::-1]
        #: a middleware of the user's may set header names or values as bytes, Scrapy's
        #: type: made str before the download (checked only in a chain with one)
        self._own_headers = any(
            slot.origin != "built-in" and callable(getattr(slot.component, "process_request",
                                                           None)) for slot in self.slots)

    async def run(self, request: Request, fetch: Fetch) -> Response | Request:
        response: Response | None = None
        for step in self._requests:
            out = (await self._call(step, "process_request", request) if step[2]
                   else self._call_sync(step, "process_request", request))
            if out is None:
                continue
            if not isinstance(out, _OUTCOMES) and inspect.isawaitable(out):
                out = await self._settle(step, "process_request", request, out)
                if out is None:
                    continue
            if isinstance(out, Response):
                response = _made(out, request)
                break
            if isinstance(out, Request):
                return out
            raise _bad_return(step[0], "process_request", request, out,
                              "None, a Request or a Response")
        if response is None:
            if self._own_headers:
                plain_headers(request.headers)
            try:
                response = await fetch(request)
            except DownloadError as exc:
                recovered = await self._exception(request, exc)
                if isinstance(recovered, Request):
                    return recovered
                response = _made(recovered, request)
        return await self._response(request, response)

    async def _exception(self, request: Request, exc: DownloadError) -> Response | Request:
        for step in self._exceptions:
            out = (await self._call(step, "process_exception", request, exc) if step[2]
                   else self._call_sync(step, "process_exception", request, exc))
            if out is None:
                continue
            if not isinstance(out, _OUTCOMES) and inspect.isawaitable(out):
                out = await self._settle(step, "process_exception", request, out)
                if out is None:
                    continue
            if isinstance(out, _OUTCOMES):
                return out
            raise _bad_return(step[0], "process_exception", request, out,
                              "None, a Response or a Request")
        raise exc

    async def _response(self, request: Request, response: Response) -> Response | Request:
        for step in self._responses:
            out = (await self._call(step, "process_response", request, response) if step[2]
                   else self._call_sync(step, "process_response", request, response))
            if type(out) is Response:  # the common case
                response = out
                continue
            if not isinstance(out, _OUTCOMES) and inspect.isawaitable(out):
                out = await self._settle(step, "process_response", request, out)
            if isinstance(out, Response):
                response = out
            elif isinstance(out, Request):
                return out
            else:
                raise _bad_return(step[0], "process_response", request, out,
                                  "a Response or a Request")
        return response

    # A method is called directly when it is a plain function (no coroutine per call on the
    # hot path), awaited when it is a coroutine function; a plain function that returns an
    # awaitable (a callable object with an async ``__call__``, say) has that awaited too.
    # What a method raises on purpose (``IgnoreRequest``, a ``DownloadError``) goes on,
    # anything else is its failure.
    def _call_sync(self, step: _Step, method: str, request: Request, *args: Any) -> Any:
        try:
            return step[1](request, *args, self.spider)
        except Exception as exc:
            _raise_from(exc, step[0], method, request)

    async def _call(self, step: _Step, method: str, request: Request, *args: Any) -> Any:
        try:
            return await step[1](request, *args, self.spider)
        except Exception as exc:
            _raise_from(exc, step[0], method, request)

    async def _settle(self, step: _Step, method: str, request: Request, pending: Any) -> Any:
        try:
            return await pending
        except Exception as exc:
            _raise_from(exc, step[0], method, request)

    def __len__(self) -> int:
        return len(self.slots)


def _raise_from(exc: Exception, name: str, method: str, request: Request) -> NoReturn:
    """What middleware ``name``'s ``method`` raised: an ``IgnoreRequest`` or a
    ``DownloadError`` goes on (filled in), anything else becomes its ComponentError."""
    if isinstance(exc, IgnoreRequest | DownloadError):
        _own(exc, request, name)
        raise exc
    raise _failed(name, method, request, exc) from exc


def _made(response: Response, request: Request) -> Response:
    """A response a middleware made instead of the download, as Scrapy's are made
    (``HtmlResponse(url=request.url, body="...", encoding="utf-8")``): its ``request``
    filled in when left out, a ``str`` body encoded (with its ``encoding``, else UTF-8),
    its own headers dict when it has none."""
    body: Any = response.body
    if response.request is not None and type(body) is bytes and response.headers:
        return response
    encoding = response._encoding
    if isinstance(body, str):
        try:
            body = body.encode(encoding or "utf-8")
        except LookupError:  # an unknown encoding: UTF-8, said so
            body, encoding = body.encode("utf-8"), "utf-8"
    return attrs.evolve(response, request=response.request or request, body=body,
                        headers=response.headers or {}, encoding=encoding)


def _own(exc: AcrawlError, request: Request, name: str) -> None:
    """Fill in what an ``IgnoreRequest`` raised by a middleware left out."""
    if isinstance(exc, IgnoreRequest):
        if exc.request is None:
            exc.request = request
        if not exc.reason:
            exc.reason = name
