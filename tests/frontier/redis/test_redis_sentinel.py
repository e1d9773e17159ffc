"""``--frontier redis+sentinel://HOST:PORT/SERVICE/DB``: the workers find the master through
Redis Sentinel, and after a failover (the master killed, its replica promoted) they find the
new one and finish the crawl."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from faults import free_port, start_redis_server, stop_process
from test_redis_e2e import describe, logs, read_urls, run, start, stop_all
from test_redis_restart import slow_site  # noqa: F401 - a fixture
from w3lib.url import canonicalize_url

from acrawl.demo.site import LinkSite, run_in_thread

pytestmark = pytest.mark.redis


class Cluster:
    """A master, optionally a replica, and one sentinel watching them as ``crawl``."""

    def __init__(self, folder: Path, replica: bool) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.path.exists(binary):
            pytest.skip("redis-server is not installed")
        self.folder = folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.master, self.sentinel = free_port(), free_port()
        # (no 5 s wait before the first sync of a replica: the default for diskless syncs)
        self._start(binary, "master", ["--port", str(self.master),
                                       "--repl-diskless-sync-delay", "0"])
        if replica:
            self.replica = free_port()
            self._start(binary, "replica", ["--port", str(self.replica), "--replicaof",
                                            "127.0.0.1", str(self.master)])
        conf = folder / "sentinel.conf"
        conf.write_text(f"port {self.sentinel}\nbind 127.0.0.1\n"
                        f"sentinel monitor crawl 127.0.0.1 {self.master} 1\n"
                        "sentinel down-after-milliseconds crawl 1000\n"
                        "sentinel failover-timeout crawl 10000\n")
        self._start(binary, "sentinel", [str(conf), "--sentinel"], port=self.sentinel)
        if replica:
            self._wait(lambda: len(self._sentinel().sentinel_slaves("crawl")) > 0, "replica")
            self._wait(self.replica_in_sync, "the replica's first sync")

    def replica_in_sync(self) -> bool:
        info = redis.Redis(host="127.0.0.1", port=self.replica).info("replication")
        return bool(info.get("master_link_status") == "up")

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel}/crawl/0"

    def _sentinel(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.sentinel, socket_connect_timeout=0.5)

    def _start(self, binary: str, name: str, args: list[str], port: int | None = None) -> None:
        config = [] if name == "sentinel" else ["--save", "", "--appendonly", "no"]
        self.procs[name] = start_redis_server(binary, [*args, *config], self.folder,
                                              port=port or int(args[1]))

    def _wait(self, ready: Callable[[], object], what: str) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{what} did not come up")

    def kill_master(self) -> None:
        self.procs["master"].kill()
        self.procs["master"].wait()

    def master_port(self) -> int:
        return int(self._sentinel().sentinel_get_master_addr_by_name("crawl")[1])

    def close(self) -> None:
        for proc in self.procs.values():
            stop_process(proc)


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    folder = tmp_path / "redis"
    folder.mkdir()
    c = Cluster(folder, replica=getattr(request, "param", False))
    yield c
    c.close()


def test_a_crawl_through_sentinel(tmp_path: Path, cluster: Cluster) -> None:
    site = LinkSite(pages=80)
    with run_in_thread(site, host="127.0.0.1") as srv:
        result = run(tmp_path, "links", "-a", f"url={srv.base_url}/", "--frontier",
                     cluster.url, "-o", "out.jsonl", "--no-progress")
        assert result.returncode == 0, describe(result)
        expected = {canonicalize_url(u) for u in site.page_urls(srv.base_url)}
    assert sorted(read_urls(tmp_path / "out.jsonl")) == sorted(expected)


def test_a_sentinel_url_without_a_service_is_a_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path, "links", "-a", "url=http://127.0.0.1:1/", "--frontier",
                 "redis+sentinel://127.0.0.1:1/")
    assert result.returncode == 2 and "redis+sentinel://HOST:PORT" in result.stderr, describe(
        result)


@pytest.mark.slow
@pytest.mark.parametrize("cluster", [True], indirect=True)
def test_workers_follow_a_failover(tmp_path: Path, cluster: Cluster,
                                   slow_site: tuple[str, set[str]]) -> None:  # noqa: F811
    base, expected = slow_site
    old = cluster.master_port()
    args = ["links", "-a", f"url={base}/", "--frontier", cluster.url, "--no-progress",
            "--log-level", "WARNING", "--concurrency", "16", "-s", "item_batch_size=100"]
    procs = [start(tmp_path, *args, "-o", f"w{n}.jsonl", log=tmp_path / f"w{n}.log")
             for n in range(2)]
    outs = [tmp_path / f"w{n}.jsonl" for n in range(2)]
    try:
        deadline = time.monotonic() + 90
        while sum(o.read_bytes().count(b"\n") if o.exists() else 0 for o in outs) < 600:
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), logs(
                tmp_path)
            time.sleep(0.05)
        assert cluster.replica_in_sync()  # (else a failover would lose the crawl)
        cluster.kill_master()
        for p in procs:
            p.wait(timeout=150)
    finally:
        stop_all(procs)
    assert [p.returncode for p in procs] == [0, 0], logs(tmp_path)
    assert cluster.master_port() != old  # the replica took over
    union = Counter(u for o in outs for u in read_urls(o))
    assert set(union) == expected, f"{len(expected - set(union))} pages lost\n" + logs(tmp_path)
    dupes = sum(1 for c in union.values() if c > 1)
    assert dupes <= 2 * (16 + 100), dupes
    print(f"\nsentinel failover: {dupes} pages fetched twice")
