"""Throughput of N workers sharing a crawl (not a test; the figures in docs/scaling.md).

    python tests/frontier/redis/measure_throughput.py redis://127.0.0.1:6399/0 [--pages 3000]
        [--workers 1 2] [--rounds 3] [--latency S] [--args "more acrawl-run options"]

For each worker count and round: FLUSHDB, start the workers (``acrawl-run links --frontier``)
against one LinkSite served by a child process, wait for all, and read the crawl's pages/s
from the last worker's ``--stats`` (the whole crawl's counters over the time from the first
worker's start to the end). Prints each run, then the medians and their ratio. Also runs the
in-memory frontier once per round for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis


def acrawl() -> list[str]:
    here = Path(sys.executable).parent / "acrawl-run"
    return [str(here)] if here.is_file() else ["acrawl-run"]


def run_workers(base: str, frontier: str | None, n: int, extra: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        env = {**os.environ, "ACRAWL_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_PROXY": "127.0.0.1"}
        started = time.perf_counter()
        for k in range(n):
            args = [*acrawl(), "links", "-a", f"url={base}/", "-o", f"{tmp}/w{k}.jsonl",
                    "--stats", f"{tmp}/s{k}.json", "--no-progress", "--log-level", "WARNING",
                    *extra]
            if frontier:
                args += ["--frontier", frontier]
            procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, env=env))
        cpu = 0.0
        for p in procs:
            _pid, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            cpu += usage.ru_utime + usage.ru_stime
        wall = time.perf_counter() - started
        codes = [p.returncode for p in procs]
        stats = [json.loads(Path(f"{tmp}/s{k}.json").read_text()) for k in range(n)]
        last = max(stats, key=lambda s: s["elapsed_seconds"])
        pages = last["pages"]
        return {"codes": codes, "pages": pages, "pages_per_second": last["pages_per_second"],
                "elapsed": last["elapsed_seconds"], "wall": wall,
                "cpu_ms_per_page": 1000 * cpu / max(pages, 1)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("redis_url")
    p.add_argument("--pages", type=int, default=3000)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--latency", type=float, default=0.0, help="the site's response latency, s")
    p.add_argument("--args", default="", help="more acrawl-run options, one string")
    a = p.parse_args()
    a.extra = shlex.split(a.args)
    site = subprocess.Popen([sys.executable, "-m", "acrawl.demo.site", "links", "--pages",
                             str(a.pages), "--latency", str(a.latency)],
                            stdout=subprocess.PIPE, text=True)
    assert site.stdout is not None
    base = site.stdout.readline().strip()
    client = redis.Redis.from_url(a.redis_url)
    results: dict[str, list[float]] = {}
    try:
        for rnd in range(a.rounds):
            r = run_workers(base, None, 1, a.extra)
            print(f"round {rnd + 1} memory frontier, 1 worker: {r}", flush=True)
            results.setdefault("memory", []).append(r["pages_per_second"])
            for n in a.workers:
                client.flushdb()
                r = run_workers(base, a.redis_url, n, a.extra)
                print(f"round {rnd + 1} redis, {n} worker(s): {r}", flush=True)
                assert r["codes"] == [0] * n and r["pages"] == a.pages, r
                results.setdefault(f"redis x{n}", []).append(r["pages_per_second"])
    finally:
        site.terminate()
        site.wait()
        client.flushdb()
    medians = {k: statistics.median(v) for k, v in results.items()}
    for k, v in results.items():
        print(f"{k:10} pages/s: {v} median {medians[k]:.1f}")
    if "redis x1" in medians and "redis x2" in medians:
        print(f"ratio 2 workers / 1 worker: {medians['redis x2'] / medians['redis x1']:.2f}")


if __name__ == "__main__":
    main()
