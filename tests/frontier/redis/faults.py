"""Faults on cue, on 127.0.0.1: a TCP proxy in front of a redis-server (a reply lost after its
command ran; an outage, every connection cut and new ones refused, for as long as a test
wants), and a redis-server with AOF that a test stops and starts again."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import redis


class FaultyProxy:
    """``await proxy.start()``; clients connect to ``proxy.url``.

    ``lose_reply(marker)``: the next command containing ``marker`` reaches Redis (and runs),
    then its connection is cut before the reply comes back. ``down()`` cuts every connection
    and refuses new ones until ``up()``."""

    def __init__(self, target_port: int, db: int = 0) -> None:
        self.target_port = target_port
        self.db = db
        self.port = 0
        self.lost = 0  # replies dropped so far
        self._marker: bytes | None = None
        self._down = False
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.down()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def lose_reply(self, marker: bytes) -> None:
        self._marker = marker

    def down(self) -> None:
        self._down = True
        for client, upstream in list(self._pairs):
            client.close()
            upstream.close()
        self._pairs.clear()

    def up(self) -> None:
        self._down = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        cut = asyncio.Event()  # set: the reply now on its way is to be lost

        async def to_server() -> None:
            while data := await reader.read(65536):
                if self._marker is not None and self._marker in data:
                    self._marker = None
                    cut.set()
                up_writer.write(data)
                await up_writer.drain()

        async def to_client() -> None:
            while data := await up_reader.read(65536):
                if cut.is_set():  # the command ran; its reply never arrives
                    self.lost += 1
                    return
                writer.write(data)
                await writer.drain()

        with contextlib.suppress(OSError, ConnectionError):
            _done, pending = await asyncio.wait(
                [asyncio.ensure_future(to_server()), asyncio.ensure_future(to_client())],
                return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        self._pairs.discard(pair)
        writer.close()
        up_writer.close()


class RestartableRedis:
    """A redis-server of its own on a free loopback port, with AOF on (``appendfsync
    everysec``), that a test stops (SIGTERM: a clean shutdown) and starts again on the same
    port and data."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary, self.folder = binary, folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = start_redis_server(
            self.binary, ["--port", str(self.port), "--save", "", "--appendonly", "yes",
                          "--appendfsync", "everysec"], self.folder, port=self.port)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 20)
        self.proc = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis_server(binary: str, args: list[str], folder: Path,
                       **ping: Any) -> subprocess.Popen[bytes]:
    """``redis-server ARGS`` bound to 127.0.0.1, working and logging in ``folder``; returns
    once ``PING`` (with the client options ``ping``: port, credentials, TLS) answers, else
    RuntimeError."""
    log = folder / f"redis-{ping.get('port', 'x')}.log"
    proc = subprocess.Popen(
        [binary, *args, "--bind", "127.0.0.1", "--dir", str(folder), "--logfile", str(log)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if redis.Redis(host="127.0.0.1", socket_connect_timeout=0.5, **ping).ping():
                return proc
        except redis.ConnectionError:  # (BusyLoadingError too: still reading its AOF)
            time.sleep(0.05)
    stop_process(proc, 5)
    raise RuntimeError("redis-server did not start: " + (
        log.read_text(errors="replace")[-500:] if log.exists() else ""))


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM (a clean shutdown), SIGKILL after ``timeout`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
