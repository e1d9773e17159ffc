"""Scrapy-tutorial spiders, once for Scrapy and once ported to acrawl, on one local site.

    python benchmarks/porting_compare.py                      # 100 pages, 50 authors, 3 rounds
    python benchmarks/porting_compare.py --crawlers acrawl --pages 3 --authors 4 --rounds 1

The spiders are in ``benchmarks/porting/scrapy_spiders/`` (written for Scrapy) and
``benchmarks/porting/acrawl_spiders/`` (the same files with the imports and Scrapy-only names
changed: ``scrapy`` -> ``acrawl``, ``allowed_domains`` -> ``allowed_hosts``,
``async def start`` -> ``async def start_requests``):

* ``quotes``  -- the tutorial: every quote page by page, and each author's page once
* ``authors`` -- a ``CrawlSpider`` with two rules (the pager; the author pages)
* ``login``   -- a CSRF login with ``FormRequest.from_response``, then the members' pages
* ``scroll``  -- a JSON scroll API read with ``JsonRequest``, one page after the other
* ``search``  -- a two-step search form (author, then each of that author's tags)

One quotes site (``tests/porting/quotes_site.py``, a generated ``QuoteBook``) is served by a
child process on 127.0.0.1 for the whole run. Each crawl is a child process run the way a
user runs it (``scrapy runspider FILE -o out.jsonl`` / ``acrawl-run FILE -o out.jsonl``),
with each framework's defaults but for the log level (WARNING for both) and robots.txt
(Scrapy does not read it by default, so acrawl gets ``--no-robots``; the site has none).
The crawlers take turns, the one going first changing every round.

Per crawl: the wall time from spawn to exit (start-up included), the child's CPU time
(user + sys) and peak RSS, and the CPU time the site server used meanwhile. The items are
checked to be **exactly** the expected ones (sorted, compared as JSON) and the same for both
crawlers; any difference is printed and the exit code is 1. The table of medians goes to
stdout (Markdown).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPIDERS = ("quotes", "authors", "login", "scroll", "search")
CRAWLERS = ("acrawl", "scrapy")
sys.path.insert(0, str(HERE.parent / "tests" / "porting"))

from quotes_site import PASSWORD, QuoteBook  # noqa: E402

# -- the expected items -----------------------------------------------------------------------


def expected_items(book: QuoteBook, spider: str) -> list[dict[str, Any]]:
    """What ``spider`` must scrape from a site showing ``book``."""
    authors = book.authors
    if spider == "quotes":
        return ([book.quote_item(q) for q in book.quotes]
                + [book.author_item(slug) for slug in authors])
    if spider == "authors":
        return [book.author_item(slug) for slug in authors]
    if spider == "login":
        assert PASSWORD == "secret"  # the spiders log in with it
        return [{"secret": f"\u201c{q.text}\u201d", "author": authors[q.author].name}
                for q in book.secret]
    if spider == "scroll":
        return [{"author": authors[q.author].name, "text": q.text, "tags": list(q.tags),
                 "page": n // book.per_page + 1} for n, q in enumerate(book.quotes)]
    if spider == "search":
        return [{"author": authors[slug].name, "tag": tag, "quote": q.text}
                for slug in authors for tag in book.tags_of(slug)
                for q in book.quotes if q.author == slug and tag in q.tags]
    raise ValueError(spider)


def canonical(items: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True, ensure_ascii=False) for item in items)


# -- running ------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Scrapy's cookie middleware (tldextract) would download the public suffix list from
    # the internet on first use: keep it to its bundled snapshot, the network to 127.0.0.1
    env["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    return env


def command(crawler: str, spider: str, base: str, out: Path) -> list[str]:
    if crawler == "acrawl":
        script = Path(sys.executable).parent / "acrawl-run"
        runner = [str(script)] if script.is_file() else [
            sys.executable, "-c", "from acrawl.cli.main import main; raise SystemExit(main())"]
        return [*runner, str(HERE / "porting" / "acrawl_spiders" / f"{spider}.py"),
                "-a", f"base={base}", "-o", str(out), "--no-robots", "--no-progress",
                "--log-level", "WARNING"]
    return [sys.executable, "-m", "scrapy", "runspider",
            str(HERE / "porting" / "scrapy_spiders" / f"{spider}.py"),
            "-a", f"base={base}", "-o", str(out), "-s", "LOG_LEVEL=WARNING"]


@dataclass
class Run:
    crawler: str
    spider: str
    wall: float
    cpu: float
    rss_mib: float
    items: list[dict[str, Any]]
    code: int
    stderr: str
    site_cpu: float = 0.0  # CPU seconds the site server used during the crawl


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_one(crawler: str, spider: str, base: str, workdir: Path) -> Run:
    out = workdir / f"{crawler}-{spider}-{time.monotonic_ns()}.jsonl"
    err_path = out.with_suffix(".stderr")
    with open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command(crawler, spider, base, out), cwd=workdir, env=_env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    items = []
    if out.exists():
        items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    return Run(crawler, spider, wall, usage.ru_utime + usage.ru_stime,
               usage.ru_maxrss / 1024, items, proc.returncode,
               err_path.read_text(encoding="utf-8", errors="replace"))


def serve(pages: int, authors: int, per_page: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE.parent / "tests" / "porting" / "quotes_site.py"),
         "--pages", str(pages), "--authors", str(authors), "--per-page", str(per_page)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=_env())
    assert proc.stdout is not None
    base = proc.stdout.readline().strip()
    if not base.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"the quotes site did not start: {base!r}")
    return proc, base


def lines_changed(spider: str) -> int:
    """Lines that differ between the Scrapy spider and its port (the docstring's usage line
    included)."""
    old = (HERE / "porting" / "scrapy_spiders" / f"{spider}.py").read_text().splitlines()
    new = (HERE / "porting" / "acrawl_spiders" / f"{spider}.py").read_text().splitlines()
    return sum(1 for line in difflib.ndiff(old, new) if line.startswith("- "))


# -- the report --------------------------------------------------------------------------------


def check(runs: list[Run], expected: dict[str, list[str]]) -> list[str]:
    problems = []
    for r in runs:
        if r.code != 0:
            problems.append(f"{r.crawler} {r.spider}: exit {r.code}\n{r.stderr[-2000:]}")
        got = canonical(r.items)
        want = expected[r.spider]
        if got != want:
            missing = sorted(set(want) - set(got))
            extra = sorted(set(got) - set(want))
            problems.append(
                f"{r.crawler} {r.spider}: {len(got)} items, {len(want)} expected; "
                f"{len(missing)} missing (e.g. {missing[:1]}), {len(extra)} unexpected "
                f"(e.g. {extra[:1]}), {len(got) - len(set(got))} repeated")
    return problems


def report(runs: list[Run], crawlers: list[str], spiders: list[str], args: Any) -> str:
    def median(spider: str, crawler: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs
                                 if r.spider == spider and r.crawler == crawler)

    head = ["spider", "items", "lines changed"]
    for c in crawlers:
        head += [f"{c} wall s", f"{c} CPU s", f"{c} RSS MiB", f"site CPU s ({c})"]
    if len(crawlers) == 2:
        head.append("wall scrapy/acrawl")
    rows = [head, ["---"] * len(head)]
    for s in spiders:
        items = {len(r.items) for r in runs if r.spider == s}
        row = [s, "/".join(map(str, sorted(items))), str(lines_changed(s))]
        for c in crawlers:
            row += [f"{median(s, c, 'wall'):.2f}", f"{median(s, c, 'cpu'):.2f}",
                    f"{median(s, c, 'rss_mib'):.0f}", f"{median(s, c, 'site_cpu'):.2f}"]
        if len(crawlers) == 2:
            ratio = median(s, "scrapy", "wall") / median(s, "acrawl", "wall")
            row.append(f"{ratio:.2f}x")
        rows.append(row)
    table = "\n".join("| " + " | ".join(r) + " |" for r in rows)
    versions = [f"Python {platform.python_version()}"]
    for name in ("acrawl", "scrapy", "aiohttp", "twisted", "uvloop"):
        try:
            module = __import__(name)
            versions.append(f"{name} {getattr(module, '__version__', '?')}")
        except ImportError:
            pass
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"Site: {args.pages} pages of {args.per_page} quotes, {args.authors} authors; "
            f"medians of {args.rounds} round(s); {os.cpu_count()} CPUs, load average "
            f"{load} at the end.\n\n{table}\n\n"
            f"Versions: {', '.join(versions)}.\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--authors", type=int, default=50)
    parser.add_argument("--per-page", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--crawlers", nargs="+", choices=CRAWLERS, default=list(CRAWLERS))
    parser.add_argument("--spiders", nargs="+", choices=SPIDERS, default=list(SPIDERS))
    parser.add_argument("--workdir", help="keep each run's items and stderr here")
    args = parser.parse_args(argv)
    book = QuoteBook.generated(args.pages, args.authors, args.per_page)
    expected = {s: canonical(expected_items(book, s)) for s in args.spiders}
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="porting-compare-"))
    workdir.mkdir(parents=True, exist_ok=True)
    server, base = serve(args.pages, args.authors, args.per_page)
    runs: list[Run] = []
    try:
        for n in range(args.rounds):
            order = args.crawlers[n % len(args.crawlers):] + args.crawlers[
                :n % len(args.crawlers)]
            for spider in args.spiders:
                for crawler in order:
                    site_cpu = process_cpu(server.pid)
                    r = run_one(crawler, spider, base, workdir)
                    r.site_cpu = process_cpu(server.pid) - site_cpu
                    runs.append(r)
                    print(f"round {n + 1} {spider:8} {crawler:7} {r.wall:6.2f} s wall, "
                          f"{r.cpu:5.2f} s CPU (site {r.site_cpu:5.2f} s), "
                          f"{len(r.items)} items, exit {r.code}", file=sys.stderr, flush=True)
    finally:
        server.kill()
        server.wait()
    problems = check(runs, expected)
    print(report(runs, args.crawlers, args.spiders, args))
    if problems:
        print("PROBLEMS:\n" + "\n".join(problems))
        return 1
    print("items: every crawl scraped exactly the expected items"
          + (" (both crawlers the same)" if len(args.crawlers) == 2 else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
