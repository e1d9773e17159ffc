"""Three ``acrawl-run --frontier redis://`` workers on one crawl while their redis-server (AOF
on, a port of its own) is stopped: restarted after 20 s they carry on and finish the crawl;
never restarted, each ends after ``redis_outage_timeout`` with one line and exit 1 (and its
``--stats`` written)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults import RestartableRedis
from test_redis_e2e import logs, read_urls, start, stop_all
from w3lib.url import canonicalize_url

from acrawl.demo.site import LinkSite

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PAGES = 3000
CONCURRENCY = 16
BATCH = 100


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RestartableRedis]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        pytest.skip("redis-server is not installed")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RestartableRedis(binary, folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def slow_site() -> Iterator[tuple[str, set[str]]]:
    """LinkSite(pages=3000, latency=20 ms) in a child process: (base URL, canonical URLs)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "acrawl.demo.site", "links", "--pages", str(PAGES),
         "--latency", "0.02"], stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    base = proc.stdout.readline().strip()
    try:
        assert base.startswith("http://127.0.0.1:"), base
        yield base, {canonicalize_url(u) for u in LinkSite(pages=PAGES).page_urls(base)}
    finally:
        proc.terminate()
        proc.wait(10)


def _args(base: str, url: str, n: int, *extra: str) -> list[str]:
    return ["links", "-a", f"url={base}/", "--frontier", url, "-o", f"w{n}.jsonl",
            "--no-progress", "--log-level", "WARNING", "--concurrency", str(CONCURRENCY),
            "-s", f"item_batch_size={BATCH}", *extra]


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _wait_for_progress(tmp_path: Path, procs: list[subprocess.Popen[str]], share: float,
                       workers: int = 3) -> None:
    deadline = time.monotonic() + 90
    while sum(_lines(tmp_path / f"w{n}.jsonl") for n in range(workers)) < PAGES * share:
        assert time.monotonic() < deadline, "no progress\n" + logs(tmp_path)
        assert all(p.poll() is None for p in procs), logs(tmp_path)
        time.sleep(0.05)


def test_workers_ride_out_a_redis_restart(tmp_path: Path, aof_redis: RestartableRedis,
                                         slow_site: tuple[str, set[str]]) -> None:
    base, expected = slow_site
    procs = [start(tmp_path, *_args(base, aof_redis.url, n), log=tmp_path / f"w{n}.log")
             for n in range(3)]
    try:
        _wait_for_progress(tmp_path, procs, 0.2)
        aof_redis.stop()
        stopped = time.monotonic()
        at_stop = sum(_lines(tmp_path / f"w{n}.jsonl") for n in range(3))
        assert at_stop < PAGES * 0.7, "the crawl was almost over: stop Redis earlier"
        time.sleep(20)
        assert all(p.poll() is None for p in procs), logs(tmp_path)  # all still waiting
        aof_redis.start()
        restarted = time.monotonic()
        exited: list[float] = []
        deadline = restarted + 150
        for p in procs:
            try:
                p.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                break
            exited.append(time.monotonic())
    finally:
        stop_all(procs)
    assert [p.returncode for p in procs] == [0, 0, 0], logs(tmp_path)
    outs = [tmp_path / f"w{n}.jsonl" for n in range(3)]
    union = Counter(u for o in outs for u in read_urls(o))
    assert set(union) == expected, f"{len(expected - set(union))} pages lost\n" + logs(tmp_path)
    dupes = {u: c for u, c in union.items() if c > 1}
    # re-fetched: at most what was leased when Redis went away (leases outlive the outage)
    assert len(dupes) <= 3 * (CONCURRENCY + BATCH), len(dupes)
    last_item = max(o.stat().st_mtime for o in outs)
    lag = time.time() - (time.monotonic() - max(exited)) - last_item
    assert lag < 10, f"the workers ended {lag:.1f}s after the last page"  # not a lease TTL
    for n in range(3):
        log = (tmp_path / f"w{n}.log").read_text()
        assert "unreachable" in log and "Redis is back after" in log, log[-2000:]
        assert "Traceback" not in log
    print(f"\nredis restart: stopped at {at_stop} pages for {restarted - stopped:.1f}s; "
          f"{len(dupes)} pages fetched twice; crawl ended {max(exited) - restarted:.1f}s "
          f"after the restart, {lag:.1f}s after its last page")


def test_a_redis_that_stays_away_ends_each_worker_with_one_line(
        tmp_path: Path, aof_redis: RestartableRedis,
        slow_site: tuple[str, set[str]]) -> None:
    base, _expected = slow_site
    procs = [start(tmp_path, *_args(base, aof_redis.url, n, "-s", "redis_outage_timeout=5"),
                   log=tmp_path / f"w{n}.log") for n in range(3)]
    try:
        _wait_for_progress(tmp_path, procs, 0.1)
        aof_redis.stop()
        stopped = time.monotonic()
        for p in procs:
            p.wait(timeout=60)
        took = time.monotonic() - stopped
    finally:
        stop_all(procs)
    assert [p.returncode for p in procs] == [1, 1, 1], logs(tmp_path)
    assert 5 <= took < 40, took
    kept = 0
    for n in range(3):
        log = (tmp_path / f"w{n}.log").read_text()
        assert "Traceback" not in log, log[-3000:]
        errors = [line for line in log.splitlines() if line.startswith("acrawl-run: error:")]
        assert len(errors) == 1, log[-3000:]
        assert "unreachable for 5s (redis_outage_timeout=5)" in errors[0], errors[0]
        assert "items written so far are kept" in errors[0]
        assert log.rstrip().splitlines()[-1] == errors[0]  # the last word
        kept += len(read_urls(tmp_path / f"w{n}.jsonl"))  # complete lines only
    assert kept >= PAGES * 0.1
    print(f"\nredis gone: the workers exited {took:.1f}s after it stopped "
          f"(redis_outage_timeout=5), {kept} items kept")


def test_a_worker_that_gives_up_still_writes_its_stats(
        tmp_path: Path, aof_redis: RestartableRedis,
        slow_site: tuple[str, set[str]]) -> None:
    """``--stats`` on the give-up path (Redis gone past ``redis_outage_timeout``): the file is
    written, with the reason and what this worker counted until it stopped."""
    base, _expected = slow_site
    log = tmp_path / "w0.log"
    proc = start(tmp_path, *_args(base, aof_redis.url, 0, "-s", "redis_outage_timeout=3",
                                  "--stats", "stats.json"), log=log)
    try:
        _wait_for_progress(tmp_path, [proc], 0.05, workers=1)
        aof_redis.stop()
        proc.wait(timeout=60)
    finally:
        stop_all([proc])
    text = log.read_text()
    assert proc.returncode == 1, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    errors = [line for line in text.splitlines() if line.startswith("acrawl-run")]
    assert len(errors) == 1 and "unreachable for 3s" in errors[0], text[-3000:]
    assert text.rstrip().splitlines()[-1] == errors[0]  # still the last word
    stats = json.loads((tmp_path / "stats.json").read_text())
    items = read_urls(tmp_path / "w0.jsonl")
    assert stats["spider"] == "links" and stats["reason"] == "frontier_unavailable", stats
    assert stats["frontier/outages"] == 1, stats
    assert stats["items"] == len(items) >= PAGES * 0.05, (stats["items"], len(items))
    assert stats["pages"] >= stats["items"], stats
    assert "worker" not in stats  # Redis is gone: this worker's counters, not the crawl's
