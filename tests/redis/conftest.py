"""A real ``redis-server`` for the shared-frontier tests, started once per session on a free
loopback port (no persistence), flushed before each test.

Without the binary the tests are skipped with the reason, except in CI (``CI`` set), where that
is a failure: ``.ci/run`` installs redis-server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

redis = pytest.importorskip("redis", reason="the redis client is not installed "
                            "(pip install -e '.[redis]')")


class RedisServer:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, folder: Path) -> None:
        self.proc, self.port, self.folder = proc, port, folder
        self.url = f"redis://127.0.0.1:{port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(binary: str, folder: Path) -> RedisServer:
    last = ""
    for _attempt in range(5):  # the free port may be taken between the probe and the bind
        port = _free_port()
        log = folder / f"redis-{port}.log"
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder), "--logfile", str(log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5).ping()
                return RedisServer(proc, port, folder)
            except redis.ConnectionError:
                time.sleep(0.05)
        proc.kill()
        proc.wait()
        last = log.read_text(errors="replace")[-500:] if log.exists() else ""
    raise RuntimeError(f"redis-server did not start: {last}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if binary is None:
        message = ("redis-server is not installed (apt-get install redis-server); the "
                   "shared-frontier (--frontier redis://) tests need it")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = _start(binary, tmp_path_factory.mktemp("redis"))
    yield server
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    client = redis_server.client()
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A synchronous client on the test's (empty) Redis."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
