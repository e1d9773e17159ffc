"""A hostile website for robustness tests, benchmarks and docs.

Every page is something a crawler must survive: stalls, trickles, resets, retryable statuses,
redirect loops and long chains, an off-host redirect that must not carry credentials,
decompression bombs, a huge body, broken encodings, malformed HTML, a robots.txt-protected
page, non-http links and an infinite calendar trap.

Pages (``/`` links to the first group and to mailto:/javascript:/file:/ftp:/data: URLs):

* ``/stall`` headers then silence; ``/stall-headers`` silence; ``/trickle`` 1 byte/s forever;
  ``/reset`` part of the body, then the connection is dropped; ``/huge-headers`` 2 MB headers
* ``/flaky`` 503 twice, then 200; ``/slowdown`` 429 with ``Retry-After: 1`` once, then 200
* ``/loop-a`` <-> ``/loop-b``; ``/chain/0`` -> ... -> ``/chain/20`` (20 hops);
  ``/offhost-redirect`` -> ``http://localhost:PORT/echo-headers`` (sets a cookie first)
* ``/bomb.gz``, ``/bomb.deflate``, ``/bomb.br``: 1 GiB of zeros in ~1 MB / ~1 MB / ~190 KB;
  ``/huge``: 200 MiB of text; ``/big.gz``, ``/big.br``: a legitimate 1.7 MB page, compressed
* ``/latin1``, ``/badbytes`` (invalid utf-8), ``/meta-charset`` (windows-1251 via ``<meta>``),
  ``/malformed`` (broken HTML with NUL and control bytes)
* ``/robots.txt`` (Disallow: /private/), ``/private/secret``, ``/calendar/<n>`` (infinite)

Helpers, not linked: ``/trailing.gz``, ``/trailing.deflate`` (a small compressed page, then
endless zeros that are not part of the stream), ``/multi.gz`` (a page as two gzip members),
``/echo-headers`` (records method, headers and body; any method),
``/samehost-redirect``, ``/redirect?to=URL&status=30x`` (any method), ``/link?to=URL&to=...``,
``/guard-target``, ``/pages/`` (links ``/pages/0`` .. ``/pages/29``).

The server counts what it sees (:class:`HostileState`): hits per path and per ``Host`` header,
the arrival time of every request, the headers ``/echo-headers`` received and the distinct TCP
connections requests arrived on.

Usage from tests::

    server = await start_hostile()              # 127.0.0.1, any free port
    ...                                         # crawl server.url("/")
    assert server.state.hits["/private/secret"] == 0
    await server.close()

From a shell (prints the URL, serves until Ctrl-C)::

    $ python tests/hostile/hostile_site.py [--port 8000] [--alias 127.0.0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gzip
import html
import signal
import struct
import sys
import time
import zlib
from collections import Counter, defaultdict
from typing import Any

from aiohttp import web

try:
    import brotli
except ImportError:  # pragma: no cover - brotli is a dev dependency
    brotli = None

__all__ = [
    "BAD_SCHEME_LINKS",
    "BOMB_SIZE",
    "CHAIN_LENGTH",
    "HUGE_SIZE",
    "KEEPALIVE_PAGES",
    "HostileServer",
    "HostileState",
    "big_text",
    "brotli_bomb",
    "deflate_bomb",
    "gzip_bomb",
    "make_hostile_app",
    "start_hostile",
]

HTML = "text/html"
CHUNK = 64 * 1024
BOMB_SIZE = 1 << 30  # decompressed size of the bombs: 1 GiB of zeros
HUGE_SIZE = 200 * 1024 * 1024  # /huge: 200 MiB of plain text
TRAILING_SIZE = 1 << 30  # /trailing.*: up to 1 GiB of junk after the compressed stream
SMALL_PAGE = b"<html><head><title>Small</title></head><body><p>the whole page</p></body></html>"
CHAIN_LENGTH = 20  # /chain/0 -> ... -> /chain/20: 20 hops
KEEPALIVE_PAGES = 30  # /pages/ links /pages/0 .. /pages/29
ROBOTS = "User-agent: *\nDisallow: /private/\n"
BAD_SCHEME_LINKS = (
    "mailto:someone@example.com",
    "javascript:alert(document.cookie)",
    "file:///etc/passwd",
    "ftp://ftp.example.com/pub/file.txt",
    "data:text/html;base64,PGgxPmhpPC9oMT4=",
)
#: what ``/`` links to (besides the bad-scheme links above)
INDEX_LINKS = (
    "/stall", "/stall-headers", "/trickle", "/reset", "/flaky", "/slowdown", "/loop-a",
    "/chain/0", "/offhost-redirect", "/bomb.gz", "/bomb.deflate", "/bomb.br", "/huge",
    "/big.gz", "/big.br", "/huge-headers",
    "/latin1", "/badbytes", "/meta-charset", "/malformed", "/private/secret", "/calendar/0",
)
LATIN1_TEXT = "Café crème brûlée à la française"
CYRILLIC_TEXT = "Привет, мир! Съешь же ещё этих мягких французских булок"


# -- payloads (built once, lazily: the bombs take a fraction of a second) -----------------------
@functools.cache
def gzip_bomb() -> bytes:
    """A single-member gzip stream of ``BOMB_SIZE`` zeros (~1 MB).

    One MiB of zeros is deflated once and ended with a full flush (byte-aligned, no history),
    so the same bytes are a valid continuation 1024 times; then an empty final block and the
    gzip trailer (CRC-32 and size of the whole 1 GiB).
    """
    mib = bytes(1 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = comp.compress(mib) + comp.flush(zlib.Z_FULL_FLUSH)
    count = BOMB_SIZE // len(mib)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    final_block = b"\x03\x00"  # BFINAL=1, fixed Huffman, end-of-block
    trailer = struct.pack("<II", crc, BOMB_SIZE & 0xFFFFFFFF)
    return header + segment * count + final_block + trailer


@functools.cache
def deflate_bomb() -> bytes:
    """``BOMB_SIZE`` zeros as an HTTP ``deflate`` (zlib-wrapped) stream, built like
    :func:`gzip_bomb` (~1 MB)."""
    mib = bytes(1 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = comp.compress(mib) + comp.flush(zlib.Z_FULL_FLUSH)
    count = BOMB_SIZE // len(mib)
    adler = 1
    for _ in range(count):
        adler = zlib.adler32(mib, adler)
    return b"\x78\xda" + segment * count + b"\x03\x00" + struct.pack(">I", adler)


@functools.cache
def brotli_bomb() -> bytes | None:
    """``BOMB_SIZE`` zeros, brotli-compressed (quality 1: fast, ~190 KB), or None."""
    if brotli is None:
        return None
    comp = brotli.Compressor(quality=1)
    mib = bytes(1 << 20)
    parts = [comp.process(mib) for _ in range(BOMB_SIZE // len(mib))]
    parts.append(comp.finish())
    return b"".join(parts)


@functools.cache
def big_text() -> bytes:
    """A legitimate ~1.5 MB HTML page; /big.gz and /big.br serve it compressed."""
    rows = "\n".join(f"<p id='p{i}'>paragraph {i}: {'lorem ipsum dolor sit amet ' * 4}</p>"
                     for i in range(12_000))
    return (f"<!doctype html><html><head><title>Big page</title></head><body>\n{rows}\n"
            "<p id='last'>THE END</p></body></html>\n").encode()


@functools.cache
def _big_gz() -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return comp.compress(big_text()) + comp.flush()


@functools.cache
def _big_br() -> bytes | None:
    return None if brotli is None else brotli.compress(big_text(), quality=5)


_HUGE_CHUNK = (b"All work and no play makes Jack a dull boy.\n" * 1490)[:CHUNK]


# -- state ----------------------------------------------------------------------------------------
class HostileState:
    """What the server saw. Times are ``time.monotonic()`` of the request's arrival."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()  # by path
        self.host_hits: Counter[str] = Counter()  # by "Host header + path"
        self.hosts: Counter[str] = Counter()  # by Host header (host[:port], lower-cased)
        self.times: defaultdict[str, list[float]] = defaultdict(list)  # path -> arrivals
        self.connections: set[tuple[Any, Any]] = set()  # (sockname, peername)
        #: what /echo-headers received: {"host", "method", "headers" (lower-cased), "body"}
        self.echo: list[dict[str, Any]] = []

    @property
    def connection_count(self) -> int:
        return len(self.connections)

    @property
    def requests(self) -> int:
        return sum(self.hits.values())

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


STATE = web.AppKey("hostile_state", HostileState)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>")


def _links(hrefs: Any) -> str:
    return "\n".join(f'<a href="{html.escape(h)}">{html.escape(h)}</a><br>' for h in hrefs)


def _html(title: str, body: str = "", status: int = 200) -> web.Response:
    return web.Response(text=_page(title, body), status=status, content_type=HTML)


def _redirect(location: str, status: int = 302) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


def _local_port(request: web.Request) -> int:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return int(sockname[1]) if sockname else int(request.url.port or 80)


async def _stream(request: web.Request, resp: web.StreamResponse, payload: bytes) -> None:
    await resp.prepare(request)
    view = memoryview(payload)
    for i in range(0, len(payload), CHUNK):
        await resp.write(view[i:i + CHUNK])


# -- the app ------------------------------------------------------------------------------------
def make_hostile_app() -> web.Application:
    """The hostile site as an aiohttp app; ``app[STATE]`` is its :class:`HostileState`."""
    state = HostileState()

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        host = (request.host or "").lower()
        state.hits[request.path] += 1
        state.host_hits[host + request.path] += 1
        state.hosts[host] += 1
        state.times[request.path].append(time.monotonic())
        if request.transport is not None:
            state.connections.add((request.transport.get_extra_info("sockname"),
                                   request.transport.get_extra_info("peername")))
        try:
            return await handler(request)
        except (ConnectionError, asyncio.CancelledError):
            raise  # the client went away (or the server is closing)

    async def index(request: web.Request) -> web.Response:
        return _html("Hostile site", _links(INDEX_LINKS + BAD_SCHEME_LINKS))

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text=ROBOTS, content_type="text/plain")

    async def private(request: web.Request) -> web.Response:
        return _html("Secret", "<p>robots.txt says you should not be here</p>")

    async def stall(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": HTML})
        await resp.prepare(request)
        await resp.write(b"<html><body>")
        await asyncio.sleep(3600)
        return resp

    async def stall_headers(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3600)
        return _html("never")

    async def trickle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": HTML})
        await resp.prepare(request)
        for _ in range(3600):
            await resp.write(b"x")
            await asyncio.sleep(1)
        return resp

    async def reset(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": HTML})
        resp.content_length = 100_000
        await resp.prepare(request)
        await resp.write(b"<html><body><p>" + b"partial " * 1000)  # write() drains
        if request.transport is not None:
            request.transport.abort()  # drop the connection mid-body
        await asyncio.sleep(3600)  # cancelled quietly: the connection is gone
        return resp

    async def flaky(request: web.Request) -> web.Response:
        if state.hits[request.path] <= 2:
            return _html("Service unavailable", status=503)
        return _html("Flaky but fine")

    async def slowdown(request: web.Request) -> web.Response:
        if state.hits[request.path] <= 1:
            resp = _html("Too many requests", status=429)
            resp.headers["Retry-After"] = "1"
            return resp
        return _html("Slowed down")

    async def loop_a(request: web.Request) -> web.Response:
        return _redirect("/loop-b")

    async def loop_b(request: web.Request) -> web.Response:
        return _redirect("/loop-a")

    async def chain(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n < CHAIN_LENGTH:
            return _redirect(f"/chain/{n + 1}")
        return _html(f"End of chain {n}")

    async def offhost_redirect(request: web.Request) -> web.Response:
        resp = _redirect(f"http://localhost:{_local_port(request)}/echo-headers")
        resp.set_cookie("jar_secret", "from-127")
        return resp

    async def samehost_redirect(request: web.Request) -> web.Response:
        return _redirect("/echo-headers?same=1")

    async def echo_headers(request: web.Request) -> web.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        state.echo.append({"host": (request.host or "").lower(), "method": request.method,
                           "headers": headers, "body": await request.read()})
        rows = "".join(f"<li>{html.escape(k)}</li>" for k in sorted(headers))
        return _html("Echo", f"<ul>{rows}</ul>")

    async def bomb_gz(request: web.Request) -> web.StreamResponse:
        payload = gzip_bomb()
        resp = web.StreamResponse(headers={"Content-Type": HTML, "Content-Encoding": "gzip"})
        resp.content_length = len(payload)
        await _stream(request, resp, payload)
        return resp

    async def bomb_deflate(request: web.Request) -> web.StreamResponse:
        payload = deflate_bomb()
        resp = web.StreamResponse(headers={"Content-Type": HTML, "Content-Encoding": "deflate"})
        resp.content_length = len(payload)
        await _stream(request, resp, payload)
        return resp

    async def bomb_br(request: web.Request) -> web.StreamResponse:
        payload = brotli_bomb()
        if payload is None:
            return _html("brotli not available", status=404)
        resp = web.StreamResponse(headers={"Content-Type": HTML, "Content-Encoding": "br"})
        resp.content_length = len(payload)
        await _stream(request, resp, payload)
        return resp

    async def big_gz(request: web.Request) -> web.StreamResponse:
        payload = _big_gz()
        resp = web.StreamResponse(headers={"Content-Type": HTML + "; charset=utf-8",
                                           "Content-Encoding": "gzip"})
        resp.content_length = len(payload)
        await _stream(request, resp, payload)
        return resp

    async def big_br(request: web.Request) -> web.StreamResponse:
        payload = _big_br()
        if payload is None:
            return _html("brotli not available", status=404)
        resp = web.StreamResponse(headers={"Content-Type": HTML + "; charset=utf-8",
                                           "Content-Encoding": "br"})
        resp.content_length = len(payload)
        await _stream(request, resp, payload)
        return resp

    async def trailing(request: web.Request) -> web.StreamResponse:
        gz = request.path.endswith(".gz")
        comp = zlib.compressobj(6, zlib.DEFLATED, (16 if gz else 0) + zlib.MAX_WBITS)
        resp = web.StreamResponse(headers={"Content-Type": HTML,
                                           "Content-Encoding": "gzip" if gz else "deflate"})
        await resp.prepare(request)  # chunked: no length says where the body ends
        await resp.write(comp.compress(SMALL_PAGE) + comp.flush())
        junk = bytes(CHUNK)
        for _ in range(TRAILING_SIZE // CHUNK):
            await resp.write(junk)
        return resp

    async def multi_gz(request: web.Request) -> web.Response:
        half = len(SMALL_PAGE) // 2
        body = gzip.compress(SMALL_PAGE[:half]) + gzip.compress(SMALL_PAGE[half:])
        return web.Response(body=body, headers={"Content-Type": HTML,
                                                "Content-Encoding": "gzip"})

    async def huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
        resp.content_length = HUGE_SIZE
        await resp.prepare(request)
        sent = 0
        while sent < HUGE_SIZE:
            piece = _HUGE_CHUNK if HUGE_SIZE - sent >= CHUNK else _HUGE_CHUNK[:HUGE_SIZE - sent]
            await resp.write(piece)
            sent += len(piece)
        return resp

    async def latin1(request: web.Request) -> web.Response:
        body = f"<html><head><title>{LATIN1_TEXT}</title></head><body><p>{LATIN1_TEXT}</p>"
        return web.Response(body=(body + "</body></html>").encode("latin-1"),
                            headers={"Content-Type": "text/html; charset=iso-8859-1"})

    async def badbytes(request: web.Request) -> web.Response:
        body = (b"<html><head><title>bad bytes</title></head><body><p>ok \xff\xfe\xc3\x28 "
                b"\xe2\x82 \xf0\x9f\x98 truncated sequences, then fine: caf\xc3\xa9</p>"
                b"</body></html>")
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})

    async def meta_charset(request: web.Request) -> web.Response:
        body = (f'<html><head><meta charset="windows-1251"><title>{CYRILLIC_TEXT}</title>'
                f"</head><body><p>{CYRILLIC_TEXT}</p></body></html>")
        return web.Response(body=body.encode("windows-1251"),
                            headers={"Content-Type": "text/html"})

    async def malformed(request: web.Request) -> web.Response:
        body = (b"<html><head><title>broken</title><body><div><p>unclosed <b>bold <i>italic"
                b"\x00\x00 nul <a href='/calendar/0'>calendar <table><tr><td>cell</div></span>"
                b"</html></html> &&& <<< >>> &#xFFFFFFFF; &bogus; \x01\x02\x1b[31m <a href='"
                b"<script>if (a < b) { document.write('</scr' + 'ipt>') }</script>"
                b"<![CDATA[ x ]]> <!-- an unterminated comment <p>after")
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})

    async def calendar(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        return _html(f"Calendar {n}", _links([f"/calendar/{n + 1}"]))

    async def pages_index(request: web.Request) -> web.Response:
        return _html("Pages", _links([f"/pages/{i}" for i in range(KEEPALIVE_PAGES)]))

    async def page(request: web.Request) -> web.Response:
        return _html(f"Page {request.match_info['n']}", "<p>" + "text " * 200 + "</p>")

    async def link(request: web.Request) -> web.Response:
        """``/link?to=URL&to=URL2``: a page linking to the given URLs."""
        return _html("Links", _links(request.query.getall("to", [])))

    async def redirect(request: web.Request) -> web.Response:
        """``/redirect?to=URL[&status=30x]``: a redirect (302 by default) to ``URL``."""
        return _redirect(request.query.get("to", "/"), int(request.query.get("status", "302")))

    async def huge_headers(request: web.Request) -> web.Response:
        resp = _html("Huge headers")
        for i in range(2000):
            resp.headers.add("Set-Cookie", f"c{i}={'v' * 1000}")
        resp.headers["X-Huge"] = "h" * 100_000
        return resp

    async def guard_target(request: web.Request) -> web.Response:
        return _html("Guard target", f"<p>served to {html.escape(request.host or '')}</p>")

    app = web.Application(middlewares=[count])
    app[STATE] = state
    routes = [
        ("/", index), ("/robots.txt", robots), ("/private/secret", private),
        ("/stall", stall), ("/stall-headers", stall_headers), ("/trickle", trickle),
        ("/reset", reset), ("/flaky", flaky), ("/slowdown", slowdown),
        ("/loop-a", loop_a), ("/loop-b", loop_b), (r"/chain/{n:\d+}", chain),
        ("/offhost-redirect", offhost_redirect), ("/samehost-redirect", samehost_redirect),
        ("/bomb.gz", bomb_gz), ("/bomb.deflate", bomb_deflate), ("/bomb.br", bomb_br),
        ("/big.gz", big_gz), ("/big.br", big_br), ("/huge", huge), ("/latin1", latin1),
        ("/badbytes", badbytes), ("/meta-charset", meta_charset), ("/malformed", malformed),
        (r"/calendar/{n:\d+}", calendar), ("/pages/", pages_index), (r"/pages/{n:\d+}", page),
        ("/link", link), ("/guard-target", guard_target), ("/huge-headers", huge_headers),
        ("/trailing.gz", trailing), ("/trailing.deflate", trailing), ("/multi.gz", multi_gz),
    ]
    for path, handler in routes:
        app.router.add_get(path, handler)
    app.router.add_route("*", "/redirect", redirect)  # any method: POST-redirect tests
    app.router.add_route("*", "/echo-headers", echo_headers)
    return app


# -- serving --------------------------------------------------------------------------------------
class HostileServer:
    """A running hostile site: ``base_url``/``port``; ``second_url``/``second_port`` (the same
    site on a second port of the same host, for port-changing redirects); ``alias_url`` (the
    same site on another loopback address, or None); ``state``."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, second_port: int,
                 alias: tuple[str, int] | None) -> None:
        self._runner = runner
        self.app = runner.app
        self.state: HostileState = runner.app[STATE]
        self.host, self.port, self.second_port = host, port, second_port
        self.base_url = f"http://{host}:{port}"
        self.second_url = f"http://{host}:{second_port}"
        self.alias_host = alias[0] if alias else None
        self.alias_port = alias[1] if alias else None
        self.alias_url = f"http://{alias[0]}:{alias[1]}" if alias else None

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    async def close(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> HostileServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _bind(runner: web.AppRunner, host: str, port: int) -> int:
    site = web.TCPSite(runner, host, port)
    await site.start()
    return int(runner.addresses[-1][1])


async def start_hostile(host: str = "127.0.0.1", port: int = 0,
                        alias_host: str | None = None) -> HostileServer:
    """Serve the hostile site on ``host:port`` (0: any free port) and on a second free port
    of ``host``; also on ``alias_host`` (another loopback address, e.g. 127.0.0.2) when given
    and bindable (on the same port if free)."""
    runner = web.AppRunner(make_hostile_app(), access_log=None, handle_signals=False,
                           handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    try:
        bound_port = await _bind(runner, host, port)
        second_port = await _bind(runner, host, 0)
        alias: tuple[str, int] | None = None
        if alias_host:
            for alias_port in (bound_port, 0):
                try:
                    alias = (alias_host, await _bind(runner, alias_host, alias_port))
                    break
                except OSError:
                    continue
    except BaseException:
        await runner.cleanup()
        raise
    return HostileServer(runner, host, bound_port, second_port, alias)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Serve the acrawl hostile test site.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--alias", default=None, help="also serve on this address (e.g. 127.0.0.2)")
    args = p.parse_args(argv)

    async def run() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                pass
        gzip_bomb(), deflate_bomb(), brotli_bomb()  # build the payloads before announcing the URL
        async with await start_hostile(args.host, args.port, args.alias) as server:
            print(server.base_url + "/", flush=True)
            if server.alias_url:
                print(server.alias_url + "/", flush=True)
            await stop.wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:  # pragma: no cover
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
