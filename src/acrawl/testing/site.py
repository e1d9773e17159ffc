"""A fake website declared in the test, served on 127.0.0.1, with canned faults and a request log.

>>> with FakeSite({
...     "/": '<a href="/book/1">one</a> <a href="/flaky">flaky</a>',
...     "/book/1": Page("<h1>One</h1>", delay=0.1),
...     "/flaky": flaky("<h1>Back</h1>", failures=2),     # 503, 503, then 200
...     "/old": redirect("/book/1", status=301),
... }, robots="User-agent: *\\nDisallow: /private/") as site:
...     site.url("/")                # "http://127.0.0.1:PORT/"
...     ...                          # crawl it
...     site.hits("/flaky")          # 3
...     site.log[0].path             # "/robots.txt"

A page is a ``str`` or ``bytes`` (HTML, 200), a ``dict`` or ``list`` (JSON), a :class:`Page`
(body, status, headers, content type, delay) or a fault: :func:`stall`, :func:`reset`,
:func:`trickle`, :func:`gzip_bomb`, :func:`redirect`, :func:`redirect_chain`, :func:`flaky`.
Other paths answer 404; ``/robots.txt`` is served from ``robots=`` when given (else 404: every
URL allowed), or from the pages like any other path.

The server runs its own event loop in a daemon thread, so the same site works from a plain
test function (``acrawl.testing.crawl``) and from an async one (``crawl_async``). Every request
is logged (:class:`Hit`) before it is answered, faults included.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
from aiohttp import web

__all__ = [
    "FakeSite",
    "Hit",
    "Page",
    "flaky",
    "gzip_bomb",
    "redirect",
    "redirect_chain",
    "reset",
    "robots",
    "stall",
    "trickle",
]

HTML = "text/html; charset=utf-8"

#: a handler: ``await respond(request, site)`` -> the response (or raises to drop the connection)
Respond = Callable[[web.Request, "FakeSite"], Awaitable[web.StreamResponse]]


@attrs.frozen
class Hit:
    """One request the site received: method, path, query string, headers, body, arrival time
    (``time.monotonic()``)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    time: float

    @property
    def path_qs(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@attrs.frozen
class Page:
    """A page: ``body`` (str is UTF-8 encoded), ``status``, extra ``headers``, ``content_type``
    (default HTML, or JSON for a dict/list ``json``), and ``delay`` seconds before the answer."""

    body: str | bytes = ""
    status: int = 200
    headers: Mapping[str, str] = attrs.field(factory=dict)
    content_type: str | None = None
    delay: float = 0.0
    json: Any = None

    async def __call__(self, request: web.Request, site: FakeSite) -> web.StreamResponse:
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        body: bytes
        if self.json is not None:
            body, ctype = json.dumps(self.json).encode(), self.content_type or "application/json"
        else:
            body = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
            ctype = self.content_type or HTML
        headers = {"Content-Type": ctype, **self.headers}
        return web.Response(status=self.status, body=body, headers=headers)


@attrs.frozen
class _Fault:
    """A canned misbehaviour; ``run`` answers (or never does)."""

    name: str
    run: Respond

    async def __call__(self, request: web.Request, site: FakeSite) -> web.StreamResponse:
        return await self.run(request, site)


def _page(value: Any) -> Respond:
    if isinstance(value, Page | _Fault):
        return value
    if isinstance(value, str | bytes):
        return Page(value)
    if isinstance(value, dict | list):
        return Page(json=value)
    if callable(value):  # an aiohttp-style handler of your own: async (request, site) -> response
        return value
    raise TypeError(f"a FakeSite page is str, bytes, dict, list, Page or a fault, not "
                    f"{type(value).__name__}")


def robots(text: str) -> Page:
    """A ``robots.txt`` body (``text/plain``)."""
    return Page(text, content_type="text/plain; charset=utf-8")


def stall(*, headers: bool = True, seconds: float = 3600.0) -> _Fault:
    """Send the status line and headers (and the start of a body), then nothing for ``seconds``;
    ``headers=False`` stalls before the headers."""

    async def run(request: web.Request, site: FakeSite) -> web.StreamResponse:
        if not headers:
            await asyncio.sleep(seconds)
            return web.Response(text="late", content_type="text/html")
        resp = web.StreamResponse(headers={"Content-Type": HTML})
        await resp.prepare(request)
        await resp.write(b"<html><body>")
        await asyncio.sleep(seconds)
        return resp

    return _Fault("stall", run)


def reset(*, after: int = 8192) -> _Fault:
    """Announce a long body, send ``after`` bytes of it, then drop the connection."""

    async def run(request: web.Request, site: FakeSite) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": HTML})
        resp.content_length = after * 10 + 1000
        await resp.prepare(request)
        await resp.write(b"<html><body>" + b"x" * after)
        if request.transport is not None:
            request.transport.abort()
        await asyncio.sleep(3600)  # cancelled: the connection is gone
        return resp

    return _Fault("reset", run)


def trickle(body: str | bytes = b"x" * 3600, *, bytes_per_second: float = 1.0) -> _Fault:
    """Send ``body`` one byte at a time, ``bytes_per_second`` (a slow-loris server)."""
    data = body.encode() if isinstance(body, str) else body

    async def run(request: web.Request, site: FakeSite) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": HTML})
        await resp.prepare(request)
        for i in range(len(data)):
            await resp.write(data[i:i + 1])
            await asyncio.sleep(1 / bytes_per_second)
        await resp.write_eof()
        return resp

    return _Fault("trickle", run)


def _bomb(size: int) -> bytes:
    """``size`` zero bytes as one gzip member, built from one compressed MiB repeated (a valid
    continuation after a full flush), so building a GiB bomb takes milliseconds."""
    mib = 1 << 20
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = comp.compress(bytes(mib)) + comp.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(size, mib)
    tail = comp.compress(bytes(rest)) + comp.flush(zlib.Z_FINISH) if rest else b"\x03\x00"
    crc = zlib.crc32(bytes(rest), _zero_crc(whole, mib)) if rest else _zero_crc(whole, mib)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + segment * whole + tail + struct.pack("<II", crc, size & 0xFFFFFFFF)


def _zero_crc(count: int, block: int) -> int:
    crc, zeros = 0, bytes(block)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    return crc


def gzip_bomb(size: int = 1 << 30) -> _Fault:
    """A ``Content-Encoding: gzip`` response that unpacks to ``size`` zero bytes (default
    1 GiB, about 1 MB on the wire)."""
    payload: list[bytes] = []

    async def run(request: web.Request, site: FakeSite) -> web.StreamResponse:
        if not payload:
            payload.append(await asyncio.get_running_loop().run_in_executor(None, _bomb, size))
        data = payload[0]
        resp = web.StreamResponse(headers={"Content-Type": HTML, "Content-Encoding": "gzip"})
        resp.content_length = len(data)
        await resp.prepare(request)
        view = memoryview(data)
        for i in range(0, len(data), 1 << 16):
            await resp.write(view[i:i + (1 << 16)])
        return resp

    return _Fault("gzip_bomb", run)


def redirect(to: str, *, status: int = 302) -> _Fault:
    """A redirect to ``to`` (a path on this site or any URL)."""

    async def run(request: web.Request, site: FakeSite) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": to})

    return _Fault("redirect", run)


def redirect_chain(hops: int, *, to: str = "/", status: int = 302) -> _Fault:
    """``hops`` redirects in a row: ``PATH`` -> ``PATH?hop=1`` -> ... -> ``to``."""

    async def run(request: web.Request, site: FakeSite) -> web.StreamResponse:
        hop = int(request.query.get("hop", "0") or 0)
        target = f"{request.path}?hop={hop + 1}" if hop + 1 < hops else to
        return web.Response(status=status, headers={"Location": target})

    return _Fault("redirect_chain", run)


def flaky(page: Any = "<h1>ok</h1>", *, failures: int = 2, status: int = 503,
          retry_after: float | None = None) -> _Fault:
    """``status`` (default 503) for the first ``failures`` requests of this path, then ``page``;
    ``retry_after`` adds a ``Retry-After`` header to the failures."""
    good = _page(page)

    async def run(request: web.Request, site: FakeSite) -> web.StreamResponse:
        if site.hits(request.path) <= failures:
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            return web.Response(status=status, text="<h1>unavailable</h1>",
                                content_type="text/html", headers=headers)
        return await good(request, site)

    return _Fault("flaky", run)


class FakeSite:
    """The pages of a test, served on ``127.0.0.1`` (any free port) until :meth:`close`.

    ``url(path)`` and ``base_url`` give addresses; ``log`` is every :class:`Hit` in arrival
    order, ``hits(path)`` counts them; ``pages`` may be changed while the site runs."""

    def __init__(self, pages: Mapping[str, Any] | None = None, *,
                 robots: str | None = None, host: str = "127.0.0.1") -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"a FakeSite serves on a loopback address only, not {host!r}")
        self.pages: dict[str, Any] = dict(pages or {})
        if robots is not None:
            self.pages.setdefault("/robots.txt", Page(robots, content_type="text/plain"))
        self.log: list[Hit] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._serve, args=(host, ready),
                                        name="acrawl-fake-site", daemon=True)
        self._thread.start()
        port = ready.result(timeout=30)
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{port}"

    # -- addresses and the log ------------------------------------------------------------------
    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this site."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def hits(self, path: str | None = None) -> int:
        """Requests received for ``path`` (a path, with or without its query string), or in all."""
        with self._lock:
            if path is None:
                return len(self.log)
            return sum(1 for h in self.log if path in (h.path, h.path_qs))

    @property
    def paths(self) -> list[str]:
        """The path (and query) of every request, in arrival order."""
        with self._lock:
            return [h.path_qs for h in self.log]

    # -- serving --------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        with self._lock:
            self.log.append(Hit(request.method, request.path, request.query_string,
                                dict(request.headers), body, time.monotonic()))
        page = self.pages.get(request.path)
        if page is None:
            return web.Response(status=404, text="<h1>Not found</h1>", content_type="text/html")
        return await _page(page)(request, self)

    def _serve(self, host: str, ready: concurrent.futures.Future[int]) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            port = self._loop.run_until_complete(self._start(host))
        except BaseException as exc:  # reported to the constructing thread
            ready.set_exception(exc)
            self._loop.close()
            return
        ready.set_result(port)
        self._loop.run_forever()
        if self._runner is not None:
            self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _start(self, host: str) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        return int(self._runner.addresses[0][1])

    def close(self) -> None:
        """Stop serving (connections in progress are cut); idempotent."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<FakeSite {self.base_url} {len(self.pages)} pages>"
