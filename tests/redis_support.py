"""A real ``redis-server`` for the tests that need one (tests/frontier/redis, and the Redis
backend of tests/frontier/test_contract.py): started once per session on a free loopback port
(no persistence), flushed before each test. The fixtures are registered by
``tests/conftest.py``.

Without the binary (or the redis client) a test that asks for it is skipped with the reason,
except in CI (``CI`` set), where that is a failure: ``.ci/run`` installs redis-server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

__all__ = ["RedisServer", "redis_client", "redis_server", "redis_url", "start_redis_server"]


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _redis() -> Any:
    try:
        import redis
    except ImportError:
        _unavailable("the redis client is not installed (pip install -e '.[redis]')")
    return redis


class RedisServer:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, folder: Path) -> None:
        self.proc, self.port, self.folder = proc, port, folder
        self.url = f"redis://127.0.0.1:{port}/0"

    def client(self) -> Any:
        """A synchronous ``redis.Redis`` on this server."""
        return _redis().Redis(host="127.0.0.1", port=self.port)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis_server(binary: str, folder: Path) -> RedisServer:
    """``binary`` serving on a free port of 127.0.0.1, its files (log) in ``folder``."""
    redis = _redis()
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
    _redis()
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if binary is None:
        _unavailable("redis-server is not installed (apt-get install redis-server); the "
                     "shared-frontier (--frontier redis://) tests need it")
    server = start_redis_server(binary, tmp_path_factory.mktemp("redis"))
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
def redis_client(redis_url: str) -> Iterator[Any]:
    """A synchronous client on the test's (empty) Redis."""
    client = _redis().Redis.from_url(redis_url)
    yield client
    client.close()
