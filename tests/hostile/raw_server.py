"""A raw-socket hostile HTTP/1.1 server, for what an aiohttp app cannot be made to do:
header bytes that are not valid text, a keep-alive connection closed when it is reused,
framing that lies.

The test gives a ``respond(request)`` function (plain or ``async``) returning the raw bytes to
write — :func:`reply` builds an ordinary response — or a list of byte strings, written one by
one with a pause between them (so the client reads them apart: framing cases), or ``None`` to
close the connection without answering. The server parses just enough of each request
(request line, headers, a ``Content-Length`` body), keeps the connection open for the next
request unless the reply (or the request) says ``Connection: close``, and records every
request.

    async with RawServer(lambda req: reply(200, body=b"hi")) as server:
        ...                                     # crawl server.url("/")
        assert server.requests[0].target == "/"

Loopback only: it binds 127.0.0.1 (or another 127.x address) on a free port, and the same
port of each of ``also`` (more loopback addresses: more hosts).

Run as a script it serves small pages in a process of its own, so that the times it records
are not those of a busy crawler's event loop (see :func:`main`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

__all__ = ["RawRequest", "RawServer", "chunked", "reply"]

_MAX_HEAD = 64 * 1024

REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other",
           307: "Temporary Redirect", 308: "Permanent Redirect", 404: "Not Found",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


@attrs.define
class RawRequest:
    method: str
    target: str  # the request target as sent (latin-1 decoded: every byte kept)
    headers: dict[str, str]  # lower-cased names; a repeated header keeps its last value
    body: bytes
    connection: int  # 0, 1, 2, ... in the order the server accepted connections
    index: int  # this request's position on its connection (0: the connection is fresh)
    time: float  # time.monotonic() when the request head had arrived
    local: str = ""  # the address it arrived on

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


Reply = bytes | list[bytes] | None
#: the pause between the pieces of a reply given as a list
PAUSE = 0.05
Respond = Callable[[RawRequest], Reply | Awaitable[Reply]]


def reply(status: int = 200, headers: dict[str, str] | list[tuple[str, str]] | None = None,
          body: bytes = b"", *, raw_headers: bytes = b"", content_type: str = "text/html",
          ) -> bytes:
    """An HTTP/1.1 response with a correct ``Content-Length``; ``raw_headers`` are written
    as they are (already ``\\r\\n``-terminated lines), for bytes a str cannot carry."""
    items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = {name.lower() for name, _ in items}
    if "content-type" not in names and body:
        items.append(("Content-Type", content_type))
    if "content-length" not in names:
        items.append(("Content-Length", str(len(body))))
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n".encode()
    head += b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in items)
    return head + raw_headers + b"\r\n" + body


def chunked(status: int, headers: dict[str, str], pieces: list[bytes]) -> list[bytes]:
    """A ``Transfer-Encoding: chunked`` response whose chunks are ``pieces``, as a reply to
    be written piece by piece (the head with the first chunk, the terminator with the last)."""
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n".encode()
    head += b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers.items())
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    frames = [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p]
    frames = frames or [b""]
    frames[0] = head + frames[0]
    frames[-1] += b"0\r\n\r\n"
    return frames


class RawServer:
    def __init__(self, respond: Respond, host: str = "127.0.0.1", *,
                 also: tuple[str, ...] | list[str] = (), port: int = 0) -> None:
        self.respond = respond
        self.host = host
        self.also = tuple(also)
        self.port = port
        self.requests: list[RawRequest] = []
        self.connections = 0
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    async def start(self) -> RawServer:
        first = await asyncio.start_server(self._serve, self.host, self.port)
        self._servers.append(first)
        self.port = first.sockets[0].getsockname()[1]
        try:
            for host in self.also:
                self._servers.append(await asyncio.start_server(self._serve, host, self.port))
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        self._servers = []

    async def __aenter__(self) -> RawServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        connection = self.connections
        self.connections += 1
        local = str(writer.get_extra_info("sockname")[0])
        try:
            for index in range(10_000):
                request = await self._read_request(reader, connection, index, local)
                if request is None:
                    return
                self.requests.append(request)
                out = self.respond(request)
                if inspect.isawaitable(out):
                    out = await out
                if out is None:  # close without answering
                    return
                pieces = out if isinstance(out, list) else [out]
                for i, piece in enumerate(pieces):
                    if i:
                        await asyncio.sleep(PAUSE)
                    writer.write(piece)
                    await writer.drain()
                head = pieces[0].split(b"\r\n\r\n", 1)[0].lower()
                if (b"\r\nconnection: close" in head
                        or request.headers.get("connection", "").lower() == "close"):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader, connection: int,
                            index: int, local: str) -> RawRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None  # the client closed the connection
        arrived = time.monotonic()
        if len(head) > _MAX_HEAD:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = [*lines[0].split(" ", 2), "", ""][:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        return RawRequest(method, target, headers, body, connection, index, arrived, local)


# -- as a script: small pages, out of the crawler's process --------------------------------------
class _PageProtocol(asyncio.Protocol):
    """Answers every request head (bodiless requests only) with ``page``, keeping the
    connection open, and records the arrival time the moment the bytes are read, by the
    host of the request's ``Host`` header."""

    def __init__(self, page: bytes, times: dict[str, list[float]]) -> None:
        self.page = page
        self.times = times
        self.buffer = b""
        self.transport: Any = None  # (uvloop's transports are no asyncio.Transport)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        arrived = time.monotonic()
        self.buffer += data
        assert self.transport is not None
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            if target == b"/__times":
                import json

                body = json.dumps(self.times).encode()
                self.transport.write(reply(200, {"Connection": "close"}, body,
                                           content_type="application/json"))
                self.transport.close()
                return
            host = b""
            for line in head.split(b"\r\n")[1:]:
                if line[:5].lower() == b"host:":
                    host = line[5:].strip().rsplit(b":", 1)[0].lower()
            self.times.setdefault(host.decode("latin-1"), []).append(arrived)
            self.transport.write(self.page)


def main(argv: list[str] | None = None) -> int:
    """``python raw_server.py --hosts 127.0.1.1 127.0.1.2 ...``: serves a small page on every
    path of every host (one port, printed as ``PORT <n>`` once listening) and records when each
    request arrived (``time.monotonic()``, the machine's monotonic clock, comparable between
    processes), as soon as its bytes are read; ``GET /__times`` answers ``{host (of the Host
    header): [arrival times]}`` as JSON. Stops on stdin's end or after ``--lifetime``
    seconds."""
    import argparse
    import socket
    import sys
    import threading

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--hosts", nargs="+", default=["127.0.0.1"])
    parser.add_argument("--lifetime", type=float, default=300.0)
    args = parser.parse_args(argv)
    page = reply(200, body=b"<html><head><title>" + b"x" * 2000 + b"</title></head></html>")
    times: dict[str, list[float]] = {}

    async def run() -> None:
        loop = asyncio.get_running_loop()
        probe = socket.socket()
        probe.bind((args.hosts[0], 0))
        port = probe.getsockname()[1]
        probe.close()
        servers = [await loop.create_server(lambda: _PageProtocol(page, times), host, port,
                                            backlog=1024) for host in args.hosts]
        print(f"PORT {port}", flush=True)
        stop = asyncio.Event()

        def wait_for_stdin() -> None:
            sys.stdin.read()
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_for_stdin, daemon=True).start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.lifetime)
        for server in servers:
            server.close()

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with the speed extra
        asyncio.run(run())
    else:
        uvloop.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
