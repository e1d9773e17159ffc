"""``acrawl-run --frontier redis://...``: several worker processes share one crawl.

The site is served by a child process (``python -m acrawl.demo.site``), so its hit counts are not
visible here: "fetched once" is checked on the union of the workers' JSONL outputs instead.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from w3lib.url import canonicalize_url

from acrawl.demo.site import LinkSite, run_in_thread

pytestmark = pytest.mark.redis

PAGES = 3000
CONCURRENCY = 16
BATCH = 100


from cli_support import ACRAWL  # noqa: E402 - shared with tests/cli and tests/frontier/state


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               PYTHONUNBUFFERED="1", ACRAWL_DISABLE_PLUGIN_AUTOLOAD="1",
               PYTHONFAULTHANDLER="1")  # a worker that hangs shows where (SIGABRT, below)
    return env


def run(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ACRAWL, *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def start(cwd: Path, *args: str, log: Path) -> subprocess.Popen[str]:
    with log.open("w") as fh:
        return subprocess.Popen([*ACRAWL, *args], cwd=cwd, env=_env(), stdout=fh, stderr=fh,
                                text=True, stdin=subprocess.DEVNULL)


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, describe(result)
    for needle in needles:
        assert needle.lower() in lines[0].lower(), describe(result)
    return lines[0]


def read_urls(path: Path, *, killed: bool = False) -> list[str]:
    """The canonical ``url`` of each item in a JSONL output (a killed worker's file may end
    in a partial line, which is ignored)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if killed and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
    assert not data or data.endswith(b"\n"), f"{path}: last line is not terminated"
    return [canonicalize_url(json.loads(line)["url"]) for line in data.decode().splitlines()]


@pytest.fixture(scope="module")
def link_site() -> Iterator[tuple[str, set[str]]]:
    """LinkSite(pages=3000) served by a child process: (base URL, canonical page URLs)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "acrawl.demo.site", "links", "--pages", str(PAGES)],
        stdout=subprocess.PIPE, text=True, env=_env(), stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    base = proc.stdout.readline().strip()
    try:
        assert base.startswith("http://127.0.0.1:"), base
        expected = {canonicalize_url(u) for u in LinkSite(pages=PAGES).page_urls(base)}
        yield base, expected
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def worker_args(base: str, redis_url: str, n: int) -> list[str]:
    return ["links", "-a", f"url={base}/", "--frontier", redis_url, "-o", f"w{n}.jsonl",
            "--stats", f"s{n}.json", "--no-progress", "--log-level", "WARNING",
            "--concurrency", str(CONCURRENCY), "-s", f"item_batch_size={BATCH}",
            "-s", "redis_lease_ttl=3"]


def stop_all(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        if p.poll() is None:  # hung: dump its Python stacks into its log, then kill it
            p.send_signal(signal.SIGABRT)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-2500:]}" for p in sorted(
        tmp_path.glob("w*.log")))


# -- configuration errors -------------------------------------------------------------------------


def test_unreachable_redis_is_a_one_line_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run(tmp_path, "links", "-a", "url=http://127.0.0.1:1/", "--frontier",
                 f"redis://127.0.0.1:{port}/0", "-o", "out.jsonl")
    one_line_error(result, "--frontier", f"127.0.0.1:{port}")
    assert not (tmp_path / "out.jsonl").exists()


def test_bad_frontier_urls_are_one_line_errors(tmp_path: Path, redis_url: str) -> None:
    one_line_error(run(tmp_path, "links", "-a", "url=http://127.0.0.1:1/", "--frontier",
                       "http://127.0.0.1:1/"), "redis://")
    one_line_error(run(tmp_path, "links", "-a", "url=http://127.0.0.1:1/", "--frontier",
                       redis_url, "--state", "st"), "--state", "--frontier")
    one_line_error(run(tmp_path, "links", "-a", "url=http://127.0.0.1:1/", "--frontier",
                       redis_url, "-s", "redis_lease_ttl=0"), "redis_lease_ttl")
    one_line_error(run(tmp_path, "links", "-a", "url=http://127.0.0.1:1/", "--frontier",
                       redis_url.rsplit("/", 1)[0] + "/abc"), "database", "'abc'")


def test_one_worker_crawls_a_small_site(tmp_path: Path, redis_url: str) -> None:
    site = LinkSite(pages=120)
    with run_in_thread(site, host="127.0.0.1") as srv:
        result = run(tmp_path, "links", "-a", f"url={srv.base_url}/", "--frontier", redis_url,
                     "-o", "out.jsonl", "--stats", "stats.json", "--no-progress")
        assert result.returncode == 0, describe(result)
        assert all(c == 1 for u, c in srv.hits.items() if not u.endswith("/robots.txt"))
        expected = {canonicalize_url(u) for u in site.page_urls(srv.base_url)}
        got = read_urls(tmp_path / "out.jsonl")
        assert sorted(got) == sorted(expected)
        stats = json.loads((tmp_path / "stats.json").read_text())
        assert stats["pages"] == 120 and stats["workers"] == 1
        assert stats["worker"]["pages"] == 120
        # the same command again: the crawl is over (everything seen), nothing to do
        again = run(tmp_path, "links", "-a", f"url={srv.base_url}/", "--frontier", redis_url,
                    "-o", "again.jsonl", "--no-progress")
        assert again.returncode == 0, describe(again)
        assert read_urls(tmp_path / "again.jsonl") == []


# -- several workers ------------------------------------------------------------------------------


@pytest.mark.slow
def test_three_workers_share_one_crawl(tmp_path: Path, redis_url: str,
                                       link_site: tuple[str, set[str]]) -> None:
    base, expected = link_site
    procs = [start(tmp_path, *worker_args(base, redis_url, n), log=tmp_path / f"w{n}.log")
             for n in range(3)]
    try:
        deadline = time.monotonic() + 150
        for p in procs:
            try:
                p.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                break
    finally:
        stop_all(procs)
    assert [p.returncode for p in procs] == [0, 0, 0], logs(tmp_path)
    per_worker = [read_urls(tmp_path / f"w{n}.jsonl") for n in range(3)]
    union = Counter(u for urls in per_worker for u in urls)
    assert set(union) == expected, logs(tmp_path)
    assert [u for u, c in union.items() if c > 1] == []  # every page exactly once
    assert sum(1 for urls in per_worker if urls) >= 2, [len(u) for u in per_worker]
    for n in range(3):
        stats: dict[str, Any] = json.loads((tmp_path / f"s{n}.json").read_text())
        assert stats["pages"] == PAGES, stats  # the whole crawl's counters
        assert stats["workers"] == 3
        assert stats["worker"].get("pages", 0) == len(per_worker[n])  # (0: not written)


@pytest.mark.slow
def test_a_killed_worker_loses_nothing(tmp_path: Path, redis_url: str,
                                       link_site: tuple[str, set[str]]) -> None:
    base, expected = link_site
    procs = [start(tmp_path, *worker_args(base, redis_url, n), log=tmp_path / f"w{n}.log")
             for n in range(3)]
    outs = [tmp_path / f"w{n}.jsonl" for n in range(3)]

    def lines(path: Path) -> int:
        return path.read_bytes().count(b"\n") if path.exists() else 0

    try:
        deadline = time.monotonic() + 60
        while sum(lines(o) for o in outs) < PAGES * 0.15:  # mid-crawl: kill the busiest
            assert time.monotonic() < deadline, "no progress\n" + logs(tmp_path)
            assert all(p.poll() is None for p in procs), logs(tmp_path)
            time.sleep(0.02)
        k = max(range(3), key=lambda n: lines(outs[n]))
        procs[k].send_signal(signal.SIGKILL)
        procs[k].wait()
        done_at_kill = sum(len(read_urls(o, killed=True)) for o in outs)
        assert done_at_kill < PAGES * 0.8, "the crawl was almost over: kill it earlier"
        deadline = time.monotonic() + 150
        for p in procs:
            try:
                p.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                break
    finally:
        stop_all(procs)
    others = [n for n in range(3) if n != k]
    assert [procs[n].returncode for n in others] == [0, 0], logs(tmp_path)
    victims = read_urls(outs[k], killed=True)
    survivors = [u for n in others for u in read_urls(outs[n])]
    union = Counter(victims + survivors)
    assert set(union) == expected, f"{len(expected - set(union))} pages lost\n" + logs(tmp_path)
    dupes = {u: c for u, c in union.items() if c > 1}
    # only what the killed worker had written but not yet acknowledged is crawled again
    assert all(c == 2 for c in dupes.values()), dupes
    assert set(dupes) <= set(victims)
    assert len(dupes) <= CONCURRENCY + BATCH, len(dupes)
    assert len(set(survivors)) == len(survivors)  # the survivors never crawled a page twice


def test_a_stopped_worker_hands_its_leases_back(tmp_path: Path, redis_url: str,
                                                redis_client: Any) -> None:
    site = LinkSite(pages=400, latency=0.03)
    with run_in_thread(site, host="127.0.0.1") as srv:
        args = ["links", "-a", f"url={srv.base_url}/", "--frontier", redis_url,
                "--no-progress", "-s", "item_batch_size=10"]
        first = start(tmp_path, *args, "-o", "first.jsonl", log=tmp_path / "w0.log")
        try:
            deadline = time.monotonic() + 30
            out = tmp_path / "first.jsonl"
            while not out.exists() or out.read_bytes().count(b"\n") < 40:
                assert time.monotonic() < deadline and first.poll() is None, logs(tmp_path)
                time.sleep(0.02)
            first.send_signal(signal.SIGTERM)
            assert first.wait(30) == 130, logs(tmp_path)
        finally:
            stop_all([first])
        assert redis_client.zcard("acrawl:links:leases") == 0  # none left to expire
        assert redis_client.hlen("acrawl:links:req") > 0  # the rest is still queued
        second = run(tmp_path, *args, "-o", "second.jsonl", timeout=60)
        assert second.returncode == 0, describe(second)
        expected = {canonicalize_url(u) for u in site.page_urls(srv.base_url)}
    got = read_urls(tmp_path / "first.jsonl") + read_urls(tmp_path / "second.jsonl")
    assert sorted(got) == sorted(expected)  # each page once, none lost


def test_max_pages_counts_the_whole_crawl_across_workers(tmp_path: Path,
                                                         redis_url: str) -> None:
    """Two workers with ``--max-pages 60`` write the items of exactly 60 pages between them
    (not 60 each); a later run with a higher limit crawls on to the new limit."""
    site = LinkSite(pages=400, latency=0.02)
    with run_in_thread(site, host="127.0.0.1") as srv:
        def args(n: int, limit: int) -> list[str]:
            return ["links", "-a", f"url={srv.base_url}/", "--frontier", redis_url,
                    "--no-progress", "--max-pages", str(limit), "--concurrency", "8",
                    "-o", f"w{n}.jsonl", "--stats", f"s{n}.json"]

        procs = [start(tmp_path, *args(n, 60), log=tmp_path / f"w{n}.log") for n in range(2)]
        try:
            for p in procs:
                p.wait(60)
        finally:
            stop_all(procs)
        assert [p.returncode for p in procs] == [0, 0], logs(tmp_path)
        first = [u for n in range(2) for u in read_urls(tmp_path / f"w{n}.jsonl")]
        assert len(first) == 60, (len(first), logs(tmp_path))
        assert len(set(first)) == 60
        for n in range(2):
            stats = json.loads((tmp_path / f"s{n}.json").read_text())
            assert stats["reason"] == "max_pages", stats
        more = run(tmp_path, *args(2, 100))
        assert more.returncode == 0, describe(more)
    second = read_urls(tmp_path / "w2.jsonl")
    assert len(second) == 40, len(second)
    assert not set(second) & set(first)
