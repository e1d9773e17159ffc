"""The ceiling: the least a Python crawler must do for the benchmark crawl, by hand.

One aiohttp ``ClientSession``, ``C`` worker tasks (the same bound as a semaphore of ``C``: at
most ``C`` requests in flight), a set of canonical URLs (``w3lib.url.canonicalize_url``),
``lxml.html`` to pull out ``//a/@href``, ``urljoin`` + a same-host filter, one JSONL line per
page. ``urljoin`` and ``canonicalize_url`` are the costliest steps per link, so a link whose
``(page folder, href)`` pair was met before is known to be a duplicate without them, and an
absolute spelling met before skips ``canonicalize_url``. No politeness, retries, robots.txt,
middleware or plugin layers: whatever a framework spends beyond this is its overhead.

    python benchmarks/ceiling.py URL --out items.jsonl --concurrency 16 [--stats s.json]

Uses uvloop when it is importable (as ``acrawl-run`` does), unless ``--no-uvloop``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from urllib.parse import urljoin, urlsplit

import aiohttp
import lxml.html
from w3lib.url import canonicalize_url


async def crawl(start: str, out_path: str, concurrency: int) -> dict[str, int]:
    host = urlsplit(start).netloc.lower()
    first = canonicalize_url(start)
    seen = {first}  # canonical URLs scheduled
    handled: set[tuple[str, str]] = set()  # (base, href) pairs already joined and checked
    spellings: set[str] = set()  # absolute URLs already canonicalised
    origin = f"{urlsplit(start).scheme}://{host}/"
    queue: asyncio.Queue[str] = asyncio.Queue()
    queue.put_nowait(first)
    counts = {"pages": 0, "errors": 0, "links": 0, "offsite": 0, "duplicates": 0}
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    with open(out_path, "w", encoding="utf-8") as out:  # noqa: ASYNC230 - buffered, local
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def worker() -> None:
                while True:
                    url = await queue.get()
                    try:
                        async with session.get(url) as resp:
                            body = await resp.read()
                            page_url = str(resp.url)
                        out.write(json.dumps({"url": page_url}) + "\n")
                        counts["pages"] += 1
                        if not body:
                            continue
                        base = page_url.split("#", 1)[0].split("?", 1)[0]
                        folder = base[: base.rfind("/") + 1]
                        for href in lxml.html.fromstring(body).xpath("//a/@href"):
                            counts["links"] += 1
                            href = href.strip()
                            # A relative href resolves the same from every page in a folder
                            # (except "", "?..." and "#...", which need the page's own URL):
                            # a (folder, href) pair met before leads to a URL already handled.
                            key = (page_url if href[:1] in "?#" else folder, href)
                            if key in handled:
                                counts["duplicates"] += 1
                                continue
                            handled.add(key)
                            absolute = urljoin(page_url, href)
                            if not absolute.startswith(origin):
                                parts = urlsplit(absolute)
                                if parts.scheme not in ("http", "https") or \
                                        parts.netloc.lower() != host:
                                    counts["offsite"] += 1
                                    continue
                            if absolute in spellings:  # this spelling was canonicalised
                                counts["duplicates"] += 1
                                continue
                            spellings.add(absolute)
                            canon = canonicalize_url(absolute)
                            if canon in seen:
                                counts["duplicates"] += 1
                            else:
                                seen.add(canon)
                                queue.put_nowait(canon)
                    except Exception as exc:  # count and go on, like a crawler would
                        counts["errors"] += 1
                        print(f"ceiling: {url}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    finally:
                        queue.task_done()

            workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
            await queue.join()
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
    return counts


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("--out", required=True)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--stats")
    p.add_argument("--no-uvloop", action="store_true")
    args = p.parse_args()
    loop_factory = None
    if not args.no_uvloop:
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:
            pass
    t0 = time.monotonic()
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        counts = runner.run(crawl(args.url, args.out, args.concurrency))
    elapsed = time.monotonic() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats = {**counts, "elapsed_seconds": round(elapsed, 3),
             "pages_per_second": round(counts["pages"] / elapsed, 2) if elapsed else 0.0,
             "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
             "event_loop": "uvloop" if loop_factory else "asyncio"}
    if args.stats:
        with open(args.stats, "w") as f:
            json.dump(stats, f, indent=2)
    print(f"ceiling: {counts['pages']} pages in {elapsed:.2f}s, {counts['errors']} errors",
          file=sys.stderr)
    return 1 if counts["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
