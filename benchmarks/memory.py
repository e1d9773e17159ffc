"""Frontier memory: bytes per seen URL (dedup) and per pending request (queue), acrawl vs Scrapy.

    python benchmarks/memory.py [--n 1000000] [--method both|tracemalloc|rss]

Each measurement runs in a fresh child process (``--child NAME``) that imports what it needs,
takes a baseline, builds the structure from ``n`` distinct URLs, and reports what stays
allocated after a ``gc.collect()``:

* ``tracemalloc``: the growth of the memory traced by Python's allocator hooks; exact for
  Python objects, blind to allocator slack.
* ``rss``: the growth of the resident set (``/proc/self/statm``) in a separate run without
  tracemalloc; includes allocator overhead and fragmentation from the transient objects.

Structures measured:

* acrawl dedup: ``acrawl.frontier.memory.MemoryDupeFilter`` fed
  ``acrawl.urls.fingerprint(Request(url))`` in batches of 1000 (what the engine does); the
  request and URL are transient.
* Scrapy dedup: ``scrapy.dupefilters.RFPDupeFilter.request_seen(scrapy.Request(url))``
  (fingerprints from ``scrapy.utils.request.fingerprint`` via the default fingerprinter).
* acrawl queue: ``acrawl.frontier.memory.MemoryQueue.push`` of
  ``Request(url, depth=3, referer=page)`` as ``response.follow`` builds them (one referer
  string shared per 40 links, like a page).
* Scrapy queue: the default scheduler memory queue, ``DownloaderAwarePriorityQueue`` over
  ``scrapy.squeues.LifoMemoryQueue`` (falls back to ``ScrapyPriorityQueue`` if it cannot be
  built outside a running crawl), pushed ``scrapy.Request(url)`` carrying what Scrapy's
  spider middlewares add before scheduling: ``meta["depth"]`` and a ``Referer`` header.

The URLs (kept alive only by the queue measurements, since a pending request owns its URL) are
``https://www.example.com/catalogue/category/books_<i % 50>/page-<i>.html``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PER_PAGE = 40  # links per page: requests sharing one referer string
BATCH = 1000


def url_of(i: int) -> str:
    return f"https://www.example.com/catalogue/category/books_{i % 50}/page-{i}.html"


def referer_of(i: int) -> str:
    return f"https://www.example.com/catalogue/page-{i // PER_PAGE}.html"


# --------------------------------------------------------------------------- the measurements

def _acrawl_dupefilter(n: int) -> tuple[Any, Any]:
    import asyncio

    from acrawl.frontier.memory import MemoryDupeFilter
    from acrawl.http import Request
    from acrawl.urls import fingerprint

    loop = asyncio.new_event_loop()

    def build() -> Any:
        df = MemoryDupeFilter()
        batch: list[bytes] = []
        for i in range(n):
            batch.append(fingerprint(Request(url_of(i))))
            if len(batch) == BATCH:
                loop.run_until_complete(df.add(batch))
                batch = []
        if batch:
            loop.run_until_complete(df.add(batch))
        assert len(df) == n, len(df)
        return df

    return build, loop


def _scrapy_dupefilter(n: int) -> tuple[Any, Any]:
    from scrapy import Request
    from scrapy.dupefilters import RFPDupeFilter

    def build() -> Any:
        df = RFPDupeFilter()
        for i in range(n):
            df.request_seen(Request(url_of(i)))
        assert len(df._fingerprints) == n
        return df

    return build, None


def _acrawl_queue(n: int) -> tuple[Any, Any]:
    import asyncio

    from acrawl.frontier.memory import MemoryQueue
    from acrawl.http import Request

    loop = asyncio.new_event_loop()

    def build() -> Any:
        q = MemoryQueue()
        batch: list[Request] = []
        referer = ""
        for i in range(n):
            if i % PER_PAGE == 0:
                referer = referer_of(i)
            batch.append(Request(url_of(i), depth=3, referer=referer))
            if len(batch) == BATCH:
                loop.run_until_complete(q.push(batch))
                batch = []
        if batch:
            loop.run_until_complete(q.push(batch))
        assert len(q) == n
        return q

    return build, loop


def _scrapy_queue(n: int) -> tuple[Any, Any]:
    from types import SimpleNamespace

    from scrapy import Request
    from scrapy.squeues import FifoMemoryQueue, LifoMemoryQueue
    from scrapy.utils.test import get_crawler

    crawler = get_crawler()
    kind = "DownloaderAwarePriorityQueue"
    try:
        from scrapy.core.downloader import Downloader
        from scrapy.pqueues import DownloaderAwarePriorityQueue

        crawler.engine = SimpleNamespace(downloader=Downloader(crawler))  # type: ignore[assignment]

        def make() -> Any:
            return DownloaderAwarePriorityQueue.from_crawler(
                crawler, LifoMemoryQueue, "", {}, start_queue_cls=FifoMemoryQueue)

        make()
    except Exception as exc:  # pragma: no cover - depends on the Scrapy version
        from scrapy.pqueues import ScrapyPriorityQueue

        kind = f"ScrapyPriorityQueue ({type(exc).__name__}: {exc})"

        def make() -> Any:
            return ScrapyPriorityQueue.from_crawler(crawler, LifoMemoryQueue, "")

    def build() -> Any:
        q = make()
        referer = ""
        for i in range(n):
            if i % PER_PAGE == 0:
                referer = referer_of(i)
            req = Request(url_of(i))
            req.meta["depth"] = 3  # DepthMiddleware
            req.headers.setdefault("Referer", referer)  # RefererMiddleware
            q.push(req)
        assert len(q) == n
        return q

    build.kind = kind  # type: ignore[attr-defined]
    return build, None


MEASUREMENTS = {
    "acrawl-dupefilter": _acrawl_dupefilter,
    "scrapy-dupefilter": _scrapy_dupefilter,
    "acrawl-queue": _acrawl_queue,
    "scrapy-queue": _scrapy_queue,
}


def _rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _clear_caches() -> int:
    """Clear every functools cache in acrawl, scrapy and w3lib modules; entries cleared."""
    entries = 0
    for modname, mod in list(sys.modules.items()):
        if mod is None or modname.split(".")[0] not in ("acrawl", "scrapy", "w3lib"):
            continue
        for obj in list(vars(mod).values()):
            if isinstance(obj, functools._lru_cache_wrapper):
                entries += obj.cache_info().currsize
                obj.cache_clear()
    return entries


def child(name: str, n: int, method: str) -> dict[str, Any]:
    build, _keep = MEASUREMENTS[name](n)
    url_of(0), referer_of(0)
    gc.collect()
    if method == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
        gc.collect()
        measure = lambda: tracemalloc.get_traced_memory()[0]  # noqa: E731
    else:
        measure = _rss
    before = measure()
    t0 = time.perf_counter()
    structure = build()
    elapsed = time.perf_counter() - t0
    gc.collect()
    after = measure()
    peak = tracemalloc.get_traced_memory()[1] - before if method == "tracemalloc" else None
    # Bounded lru caches (acrawl caches canonical URLs and digests) are a fixed cost, not a
    # per-URL one: measure what clearing them gives back, so both numbers can be shown.
    # (Only tracemalloc sees this: freed memory mostly stays in the process's RSS.)
    caches, cleared = None, None
    if method == "tracemalloc":
        cleared = _clear_caches()
        gc.collect()
        caches = after - measure()
        tracemalloc.stop()
    out = {"name": name, "n": n, "method": method, "bytes": after - before,
           "per_item": (after - before) / n, "peak": peak,
           "caches": caches, "cache_entries": cleared,
           "per_item_excl_caches": (after - before - (caches or 0)) / n if caches is not None
           else None,
           "seconds": round(elapsed, 2), "kind": getattr(build, "kind", None)}
    del structure
    return out


# --------------------------------------------------------------------------- the parent

def run_child(python: str, name: str, n: int, method: str) -> dict[str, Any]:
    res = subprocess.run([python, str(Path(__file__).resolve()), "--child", name, "--n", str(n),
                          "--method", method], capture_output=True, text=True)
    if res.returncode != 0:
        return {"name": name, "method": method, "error": res.stderr.strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def _versions() -> str:
    from importlib import metadata

    parts = [f"python {sys.version.split()[0]}"]
    for pkg in ("acrawl", "scrapy", "attrs", "queuelib"):
        try:
            parts.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{pkg} not installed")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="distinct URLs / requests")
    p.add_argument("--method", choices=("both", "tracemalloc", "rss"), default="both")
    p.add_argument("--out", default=str(HERE / "results.md"))
    p.add_argument("--append", action="store_true", help="append to --out, not replace it")
    p.add_argument("--no-out", action="store_true", help="print only")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--child", choices=tuple(MEASUREMENTS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.n, args.method)))
        return 0

    methods = ["tracemalloc", "rss"] if args.method == "both" else [args.method]
    results: dict[tuple[str, str], dict[str, Any]] = {}
    t0 = time.perf_counter()
    for name in MEASUREMENTS:
        for method in methods:
            r = run_child(args.python, name, args.n, method)
            results[name, method] = r
            print(f"  {name:18} {method:11} "
                  + (f"{r['per_item']:8.1f} B/item ({r['seconds']} s)" if "per_item" in r
                     else f"failed: {r.get('error')}"), file=sys.stderr)
    lines = [f"## Frontier memory: acrawl vs Scrapy ({time.strftime('%Y-%m-%d %H:%M')})", "",
             f"Command: `python benchmarks/memory.py {' '.join(argv)}` "
             f"(total {time.perf_counter() - t0:.0f} s). {_versions()}.", "",
             f"n = {args.n:,} distinct URLs like `{url_of(123456)}` "
             f"({len(url_of(123456))} chars); each measurement in a fresh process.", ""]
    scrapy_kind = next((r.get("kind") for (nm, _), r in results.items()
                        if nm == "scrapy-queue" and r.get("kind")), None)
    if scrapy_kind:
        lines += [f"Scrapy queue measured: {scrapy_kind} over LifoMemoryQueue.", ""]
    cols: list[tuple[str, str]] = []  # (method, key)
    head = "| structure |"
    for m in methods:
        if m == "tracemalloc":
            cols += [(m, "per_item"), (m, "mib"), (m, "caches"), (m, "per_item_excl_caches")]
            head += (" tracemalloc B/item | tracemalloc MiB | of which lru caches MiB "
                     "| tracemalloc B/item excl. caches |")
        else:
            cols += [(m, "per_item"), (m, "mib")]
            head += " RSS B/item | RSS MiB |"
    lines += [head, "|---|" + "---:|" * len(cols)]

    def cell(r: dict[str, Any], key: str) -> str:
        if "per_item" not in r:
            return "failed"
        if key == "mib":
            return f"{r['bytes'] / 2**20:.1f}"
        if key == "caches":
            return f"{r['caches'] / 2**20:.1f}"
        return f"{r[key]:.1f}"

    for name in MEASUREMENTS:
        lines.append(f"| {name} | " + " | ".join(cell(results[name, m], k) for m, k in cols)
                     + " |")
    rcols = [(m, k) for m, k in cols if k in ("per_item", "per_item_excl_caches")]
    lines += ["", "| ratio acrawl/scrapy | " + " | ".join(
        f"{m} B/item" + (" excl. caches" if k != "per_item" else "") for m, k in rcols) + " |",
        "|---|" + "---:|" * len(rcols)]
    for what in ("dupefilter", "queue"):
        row = f"| {what} |"
        for m, key in rcols:
            a, b = results[f"acrawl-{what}", m], results[f"scrapy-{what}", m]
            row += (f" {a[key] / b[key]:.2f}x |"
                    if a.get(key) is not None and b.get(key) else " n/a |")
        lines.append(row)
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.no_out:
        with open(args.out, "a" if args.append else "w", encoding="utf-8") as f:
            f.write(("" if args.append else "# acrawl benchmark results\n\n") + text + "\n")
    return 0 if all("per_item" in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
