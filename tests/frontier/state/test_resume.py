"""``acrawl-run --state DIR``: interrupt a real crawl (SIGKILL, SIGINT, two SIGINTs) and run the
same command again until it finishes; every page is itemized, none is lost, and items are not
written twice (the built-in sinks are cut back to their checkpoint on resume).

The site is a :class:`~acrawl.demo.site.LinkSite` served by a thread of the test process, so it
outlives the crawler processes and counts every download (``srv.hits``).
"""

from __future__ import annotations

import json
import random
import re
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from state_support import (
    BATCH,
    CONCURRENCY,
    canon,
    describe,
    extra_copies,
    finish,
    kill9,
    output_has_items,
    output_urls,
    refetches,
    run,
    start,
    stats,
    wait_for,
    write_module,
)

from acrawl.demo.site import NOT_FOUND, LinkSite, Reply, run_in_thread

RESUMING = re.compile(r"resuming crawl in (?P<dir>\S+): (?P<pending>\d+) requests pending "
                      r"\((?P<requeued>\d+) were in flight\), (?P<done>\d+) done, "
                      r"(?P<seen>\d+) URLs seen")


def _links(base: str, *extra: str) -> list[str]:
    return ["links", "-a", f"url={base}/", "--state", "state", "--no-robots",
            "--stats", "stats.json", *extra]


def _outputs(*uris: str) -> list[str]:
    return [arg for uri in uris for arg in ("-o", uri)]


def _resume_to_end(cwd: Path, args: list[str], timeout: float = 80) -> tuple[str, float]:
    t0 = time.monotonic()
    result = run(cwd, *args, timeout=timeout)
    assert result.returncode == 0, describe(result.returncode, result.stderr, result.stdout)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.stderr, time.monotonic() - t0


# -- a. SIGKILL at random points, then resume ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("output", "kills"), [
    ("out.jsonl", 4),
    ("out.csv", 3),
    ("out.json", 3),
    ("sqlite:///out.db", 3),
])
def test_sigkill_at_random_points_then_resume(tmp_path: Path, link_site, output: str,
                                              kills: int) -> None:
    """Killed 3-4 times (seeded random 0.5-3 s after the output first shows items), then run
    to the end: every page is itemized, exactly once. A page in flight at a kill may be
    downloaded again (at most concurrency + item_batch_size per kill), but its items of the
    killed run are cut off on resume, so no item appears twice. The site's latency (0.06 s,
    8 requests at a time per host) makes the crawl last at least 15 s, however fast acrawl."""
    srv = link_site(pages=2000, latency=0.06)
    pages = LinkSite(pages=2000).page_urls(srv.base_url)
    args = [*_links(srv.base_url), *_outputs(output)]
    rng = random.Random(f"sigkill-{output}-{kills}")
    delays = []
    for _ in range(kills):
        proc = start(tmp_path, *args)
        try:
            assert wait_for(lambda p=proc: output_has_items(tmp_path, output)
                            or p.poll() is not None, 30), "no item written within 30 s"
            delay = rng.uniform(0.5, 3.0)
            time.sleep(delay)
            assert proc.poll() is None, describe(proc.returncode, *proc.communicate()[::-1])
            delays.append(round(delay, 2))
        finally:
            kill9(proc)
        assert not (tmp_path / "stats.json").exists(), "a killed run cannot write its stats"
    before_end = len(output_urls(tmp_path, output, partial=True))
    err, took = _resume_to_end(tmp_path, args)
    m = RESUMING.search(err)
    assert m, err[-3000:]

    urls = output_urls(tmp_path, output)
    got = {canon(u) for u in urls}
    dupes = extra_copies(urls)
    again = refetches(srv.hits, pages)
    final = stats(tmp_path / "stats.json")
    print(f"\n[state] {output}: {kills} SIGKILLs at {delays} s after first items; "
          f"{before_end} items before the final run (its resume: {m.group(0)!r}), "
          f"final run {took:.1f}s; items {len(urls)} for {len(pages)} pages; "
          f"duplicate items {dupes}; pages downloaded again {again}; "
          f"stats requests/done {final.get('requests/done')}, items {final.get('items')}, "
          f"pages {final.get('pages')}")
    assert not pages - got, f"{len(pages - got)} pages never itemized: {sorted(pages - got)[:5]}"
    assert not got - pages, f"items for unexpected URLs: {sorted(got - pages)[:5]}"
    bound = kills * (CONCURRENCY + BATCH)
    assert again <= bound, f"{again} pages downloaded again after {kills} kills (bound {bound})"
    assert dupes <= bound
    # the stronger guarantee: items of pages that were not committed are cut off on resume
    assert dupes == 0, f"{dupes} items written twice"
    assert len(urls) == len(pages)
    # a request is marked done only in the transaction that records the sink positions
    assert final["requests/done"] == len(pages), final


# -- b. SIGINT, then resume ---------------------------------------------------------------------


ALL_OUTPUTS = ("out.jsonl", "out.json", "out.csv", "sqlite:///out.db")


def test_sigint_then_resume_writes_every_item_once(tmp_path: Path, link_site) -> None:
    """First SIGINT: requests in flight finish and are saved, exit 130. The same command then
    resumes (saying so, with its counts) and finishes with exit 0: every page itemized exactly
    once in every output, and no page downloaded twice."""
    srv = link_site(pages=1500, latency=0.05)
    pages = LinkSite(pages=1500).page_urls(srv.base_url)
    args = [*_links(srv.base_url), *_outputs(*ALL_OUTPUTS)]
    proc = start(tmp_path, *args)
    try:
        assert wait_for(lambda: output_has_items(tmp_path, "out.jsonl"), 30)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        code, out, err, _took = finish(proc, 30)
    finally:
        if proc.poll() is None:
            kill9(proc)
    assert code == 130, describe(code, err, out)
    assert "Traceback" not in err, err[-3000:]
    first = stats(tmp_path / "stats.json")
    assert first["reason"] == "interrupted", first
    written = output_urls(tmp_path, "out.jsonl")
    assert 0 < len(written) < len(pages)
    # the interrupted run left valid, complete outputs too (the JSON array is closed)
    for uri in ALL_OUTPUTS:
        assert sorted(output_urls(tmp_path, uri)) == sorted(written), uri

    err, _took = _resume_to_end(tmp_path, args)
    m = RESUMING.search(err)
    assert m, f"the resumed run does not say it resumes:\n{err[-3000:]}"
    assert int(m["done"]) == len(written), m.group(0)
    assert int(m["pending"]) > 0, m.group(0)
    assert int(m["requeued"]) == 0, f"a graceful stop left requests in flight: {m.group(0)}"
    assert int(m["seen"]) > len(written)
    for uri in ALL_OUTPUTS:
        urls = output_urls(tmp_path, uri)
        assert extra_copies(urls) == 0, f"{uri}: {extra_copies(urls)} items written twice"
        assert {canon(u) for u in urls} == pages, uri
    assert refetches(srv.hits, pages) == 0, "a page completed before the SIGINT was fetched again"
    assert stats(tmp_path / "stats.json")["requests/done"] == len(pages)


# -- c. two SIGINTs -----------------------------------------------------------------------------


def test_second_sigint_stops_promptly_and_state_stays_consistent(tmp_path: Path,
                                                                 link_site) -> None:
    """Responses take 2 s: the first SIGINT would wait for those in flight, the second cancels
    them (exit 130 at once). Their requests stay in the state and the resume fetches them."""
    srv = link_site(pages=300, latency=2.0)
    pages = LinkSite(pages=300).page_urls(srv.base_url)
    fast = ["--concurrency", "64", "--per-host", "64", "--timeout", "30",
            "-s", "item_flush_interval=0.1"]
    args = [*_links(srv.base_url, *fast), *_outputs("out.jsonl", "out.csv")]
    proc = start(tmp_path, *args)
    try:
        # the start page arrives at 2 s; the pages it links to are in flight until about 4 s
        assert wait_for(lambda: output_has_items(tmp_path, "out.jsonl"), 30)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        assert proc.poll() is None, "expected the first SIGINT to wait for requests in flight"
        proc.send_signal(signal.SIGINT)
        code, out, err, took = finish(proc, 15)
    finally:
        if proc.poll() is None:
            kill9(proc)
    assert code == 130, describe(code, err, out)
    assert took < 3.0, f"took {took:.1f}s to stop after the second SIGINT"
    assert "Traceback" not in err, err[-3000:]
    before = output_urls(tmp_path, "out.jsonl")

    err, _took = _resume_to_end(tmp_path, args)
    m = RESUMING.search(err)
    assert m, err[-3000:]
    assert int(m["done"]) == len(before), m.group(0)
    assert int(m["requeued"]) > 0, f"the cancelled requests should be in flight: {m.group(0)}"
    for uri in ("out.jsonl", "out.csv"):
        urls = output_urls(tmp_path, uri)
        assert {canon(u) for u in urls} == pages, f"{uri}: pages lost"
        assert extra_copies(urls) == 0, uri
    # only the requests cancelled by the second SIGINT were downloaded twice
    assert refetches(srv.hits, pages) <= int(m["requeued"])


# -- d. another spider on the same state --------------------------------------------------------


def test_another_spider_on_the_same_state_is_refused(tmp_path: Path, link_site) -> None:
    srv = link_site(pages=50)
    first = run(tmp_path, *_links(srv.base_url), "-o", "out.jsonl")
    assert first.returncode == 0, describe(first.returncode, first.stderr)
    before = (tmp_path / "state" / "state.db").read_bytes()
    write_module(tmp_path, "other.py", f"""
        import acrawl

        class Other(acrawl.Spider):
            name = "other"
            start_urls = ["{srv.base_url}/"]

            def parse(self, response):
                yield {{"url": response.url}}
        """)
    result = run(tmp_path, "other.py", "--state", "state", "-o", "other.jsonl", "--no-robots")
    assert result.returncode == 2, describe(result.returncode, result.stderr, result.stdout)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "'links'" in lines[0] and "'other'" in lines[0] and "state" in lines[0], lines[0]
    assert not (tmp_path / "other.jsonl").exists(), "output created for a refused run"
    assert (tmp_path / "state" / "state.db").read_bytes() == before, "state changed"


# -- e. requests that cannot be stored ----------------------------------------------------------

UNSTORABLE = """
    import acrawl


    def outside(response):
        return None


    class Helper:
        def parse(self, response):
            return None


    class Unstorable(acrawl.Spider):
        name = "unstorable"
        allowed_hosts = ["127.0.0.1"]

        def start_requests(self):
            yield acrawl.Request(self.base + "/")

        def parse(self, response):
            yield {"url": response.url}
            if response.url.rstrip("/") != self.base:
                return
            yield acrawl.Request(self.base + "/p/1", meta={"x": object()})
            yield acrawl.Request(self.base + "/p/2", callback=lambda r: None)
            yield acrawl.Request(self.base + "/p/3", callback=outside)
            yield acrawl.Request(self.base + "/p/4", callback=Helper().parse)
            yield acrawl.Request(self.base + "/p/5", errback=lambda failure: None)
            yield acrawl.Request(self.base + "/p/6", callback=self.parse_page,
                                 cb_kwargs={"n": {1, 2}})
            yield acrawl.Request(self.base + "/p/7", callback=self.parse_page,
                                 meta={"ok": [1, "two", None]}, cb_kwargs={"n": 7})
            yield acrawl.Request(self.base + "/p/8", callback="parse_page", cb_kwargs={"n": 8})

        def parse_page(self, response, n):
            yield {"url": response.url, "n": n, "meta": response.meta.get("ok")}
    """


def test_unstorable_requests_are_errors_and_the_crawl_goes_on(tmp_path: Path,
                                                              link_site) -> None:
    """Unserialisable meta/cb_kwargs, a lambda, a module function or another object's method as
    callback: each is a clear error naming the URL, counted, the crawl goes on; exit 1."""
    srv = link_site(pages=50)
    write_module(tmp_path, "unstorable.py", UNSTORABLE)
    result = run(tmp_path, "unstorable.py", "-a", f"base={srv.base_url}", "--state", "state",
                 "-o", "out.jsonl", "--no-robots", "--stats", "stats.json")
    err = result.stderr
    assert result.returncode == 1, describe(result.returncode, err, result.stdout)
    assert "Traceback" not in err, err[-3000:]
    error_lines = [line for line in err.splitlines() if " ERROR " in line]
    for n in (1, 2, 3, 4, 5, 6):
        url = f"{srv.base_url}/p/{n}"
        named = [line for line in error_lines if url in line]
        assert len(named) == 1, f"no single clear error naming {url}:\n{err[-3000:]}"
    assert "meta/cb_kwargs" in next(x for x in error_lines if "/p/1:" in x)
    for n in (2, 3, 4, 5):
        line = next(x for x in error_lines if f"/p/{n}:" in x)
        assert "not a method of the spider" in line, line
    final = stats(tmp_path / "stats.json")
    assert final["errors/unstorable_request"] == 6, final
    items = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    by_url = {it["url"]: it for it in items}
    assert set(by_url) == {f"{srv.base_url}/", f"{srv.base_url}/p/7", f"{srv.base_url}/p/8"}
    assert by_url[f"{srv.base_url}/p/7"]["meta"] == [1, "two", None]
    assert by_url[f"{srv.base_url}/p/8"]["n"] == 8
    # an unstorable request is not marked as seen: nothing about it is in the state
    conn = sqlite3.connect(tmp_path / "state" / "state.db")
    try:
        assert conn.execute("SELECT COUNT(*) FROM seen").fetchone()[0] == 3
    finally:
        conn.close()


def test_unstorable_requests_are_not_counted_as_duplicates(tmp_path: Path, link_site) -> None:
    """The spider above yields no duplicate at all: its six unstorable requests are errors,
    not ``dropped/duplicate`` (nor reported to ``acrawl_request_dropped`` as duplicates)."""
    srv = link_site(pages=50)
    write_module(tmp_path, "unstorable.py", UNSTORABLE)
    result = run(tmp_path, "unstorable.py", "-a", f"base={srv.base_url}", "--state", "state",
                 "-o", "out.jsonl", "--no-robots", "--stats", "stats.json")
    assert result.returncode == 1, describe(result.returncode, result.stderr, result.stdout)
    final = stats(tmp_path / "stats.json")
    assert final["errors/unstorable_request"] == 6, final
    assert final.get("dropped/duplicate", 0) == 0, final


def test_without_state_the_same_requests_are_fine(tmp_path: Path, link_site) -> None:
    """The errors above are about storing requests: in memory the same spider runs clean."""
    srv = link_site(pages=50)
    write_module(tmp_path, "unstorable.py", UNSTORABLE)
    result = run(tmp_path, "unstorable.py", "-a", f"base={srv.base_url}", "-o", "out.jsonl",
                 "--no-robots")
    assert result.returncode == 0, describe(result.returncode, result.stderr, result.stdout)


# -- f. resuming a finished crawl ---------------------------------------------------------------


def test_resume_of_a_finished_crawl_is_a_quick_no_op(tmp_path: Path, link_site) -> None:
    srv = link_site(pages=300)
    pages = LinkSite(pages=300).page_urls(srv.base_url)
    args = [*_links(srv.base_url), *_outputs(*ALL_OUTPUTS)]
    _resume_to_end(tmp_path, args)
    files = {p: (tmp_path / p).read_bytes() for p in ("out.jsonl", "out.json", "out.csv")}
    rows = output_urls(tmp_path, "sqlite:///out.db")
    hits = sum(srv.hits.values())
    assert {canon(u) for u in rows} == pages

    err, took = _resume_to_end(tmp_path, args, timeout=30)
    assert took < 10, f"resuming a finished crawl took {took:.1f}s"
    m = RESUMING.search(err)
    assert m, err[-3000:]
    assert (m["pending"], m["requeued"], m["done"]) == ("0", "0", str(len(pages))), m.group(0)
    for path, data in files.items():
        assert (tmp_path / path).read_bytes() == data, f"{path} changed"
    assert output_urls(tmp_path, "sqlite:///out.db") == rows
    assert sum(srv.hits.values()) == hits, "a finished crawl downloaded pages again"


# -- bugs found while writing these tests -------------------------------------------------------


def _created(cwd: Path, output: str) -> bool:
    """The sink has opened its output (for SQLite: created its table)."""
    if not output.startswith("sqlite:///"):
        return (cwd / output).exists()
    path = cwd / output[len("sqlite:///"):]
    if not path.exists():
        return False
    conn = sqlite3.connect(path)
    try:
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'items'").fetchone()
        return found is not None
    except sqlite3.Error:
        return False
    finally:
        conn.close()


@pytest.mark.parametrize("output", ["out.csv", "out.json", "sqlite:///out.db"])
def test_sigkill_before_the_first_checkpoint_then_resume(tmp_path: Path, link_site,
                                                         output: str) -> None:
    """Killed after the outputs were created but before the first commit recorded their
    checkpoints: the resume must still work (it is the same command)."""
    srv = link_site(pages=200, latency=0.3)
    pages = LinkSite(pages=200).page_urls(srv.base_url)
    args = [*_links(srv.base_url, "--concurrency", "64", "--per-host", "64"), *_outputs(output)]
    proc = start(tmp_path, *args)
    try:
        assert wait_for(lambda: _created(tmp_path, output) or proc.poll() is not None, 30)
    finally:
        kill9(proc)
    # each output records its starting position as soon as it is opened; a kill between its
    # creation and that record leaves it without items, and the resume replaces it: whenever
    # the kill came, the same command resumes rather than refusing an existing output
    result = run(tmp_path, *args)
    assert result.returncode == 0, describe(result.returncode, result.stderr, result.stdout)
    urls = output_urls(tmp_path, output)
    assert {canon(u) for u in urls} == pages
    assert extra_copies(urls) == 0


def test_sigint_with_max_pages_then_resume_writes_max_pages_in_all(tmp_path: Path,
                                                                   link_site) -> None:
    """``--max-pages N`` with ``--state``: interrupted and resumed with the same command, the
    crawl writes the items of N pages in all, as the uninterrupted command would."""
    srv = link_site(pages=2000, latency=0.05)
    args = [*_links(srv.base_url, "--max-pages", "600"), *_outputs("out.jsonl")]
    proc = start(tmp_path, *args)
    try:
        assert wait_for(lambda: output_has_items(tmp_path, "out.jsonl"), 30)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        code, out, err, _took = finish(proc, 30)
    finally:
        if proc.poll() is None:
            kill9(proc)
    assert code == 130, describe(code, err, out)
    first = len(output_urls(tmp_path, "out.jsonl"))
    assert first < 600
    _resume_to_end(tmp_path, args)
    urls = output_urls(tmp_path, "out.jsonl")
    assert extra_copies(urls) == 0
    assert len(urls) == 600, f"{first} items before the interrupt, {len(urls)} after the resume"



@pytest.mark.parametrize(("output", "pristine"), [
    ("out.json", b"["), ("out.csv", b""), ("sqlite:///out.db", None),
])
def test_an_output_without_items_is_replaced_one_with_items_refused(
        tmp_path: Path, link_site, output: str, pristine: bytes | None) -> None:
    """The state knows no position for an output that exists (a kill came between creating it
    and recording its start): it is replaced if it holds no item, refused if it holds any."""
    srv = link_site(pages=30)
    pages = LinkSite(pages=30).page_urls(srv.base_url)
    args = [*_links(srv.base_url), *_outputs(output)]
    path = tmp_path / output.removeprefix("sqlite:///")

    def make(with_item: bool) -> None:
        if pristine is None:
            conn = sqlite3.connect(path)
            with conn:
                conn.execute("DROP TABLE IF EXISTS items")
                conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, item TEXT)")
                if with_item:
                    conn.execute("INSERT INTO items (item) VALUES ('{\"url\": \"x\"}')")
            conn.close()
        else:
            path.write_bytes(pristine + (b'{"url": "x"}\n' if with_item else b""))

    make(with_item=True)
    refused = run(tmp_path, *args)
    assert refused.returncode == 2 and "exists" in refused.stderr, refused.stderr
    make(with_item=False)
    result = run(tmp_path, *args)
    assert result.returncode == 0, describe(result.returncode, result.stderr, result.stdout)
    urls = output_urls(tmp_path, output)
    assert {canon(u) for u in urls} == pages
    assert extra_copies(urls) == 0


class _StalledRobots:
    """Two linked pages; /robots.txt does not answer until ``answer`` is set (the server's
    thread waits, as a stalled server would)."""

    latency = 0.0

    def __init__(self) -> None:
        self.answer = threading.Event()

    def render(self, path: str, query: dict[str, str], base: str) -> Reply:
        if path == "/robots.txt":
            self.answer.wait(30)
            return Reply(200, "User-agent: *\nAllow: /\n", "text/plain; charset=utf-8")
        if path in ("/", "/next"):
            return Reply(200, f"<title>{path}</title><a href='/next'>next</a>")
        return NOT_FOUND


def test_sigint_while_robots_txt_stalls_exits_at_once_and_loses_no_request(
        tmp_path: Path) -> None:
    """A stop must not wait for robots.txt (up to three attempts of ``timeout`` each), and the
    request waiting for it is not filtered as "robots unavailable" and marked done: it stays
    pending, and the resumed crawl fetches it."""
    site = _StalledRobots()
    srv = run_in_thread(site)
    try:
        args = ["links", "-a", f"url={srv.base_url}/", "--state", "state", "--timeout", "20",
                "--no-progress", "--stats", "stats.json", "-o", "out.jsonl"]
        proc = start(tmp_path, *args)
        try:
            time.sleep(1.5)  # the crawl is waiting for robots.txt
            proc.send_signal(signal.SIGINT)
            code, out, err, took = finish(proc, 60)
        finally:
            if proc.poll() is None:
                kill9(proc)
        assert code == 130, describe(code, err, out)
        assert took < 5, f"the stop waited {took:.1f}s for robots.txt"
        assert "filtered/robots_unavailable" not in stats(tmp_path / "stats.json")
        site.answer.set()
        err, _took = _resume_to_end(tmp_path, args)
        m = RESUMING.search(err)
        assert m and int(m["pending"]) == 1, err[-2000:]  # the start page, not lost
        assert sorted(output_urls(tmp_path, "out.jsonl")) == [srv.base_url + "/",
                                                              srv.base_url + "/next"]
    finally:
        site.answer.set()
        srv.close()


def test_rerun_after_max_pages_was_reached_fetches_nothing(tmp_path: Path, link_site) -> None:
    """The limit counts the whole crawl: once reached, the same command downloads nothing
    (it used to download the requests left in flight, then drop them); a higher limit goes
    on from there."""
    srv = link_site(pages=200)
    args = [*_links(srv.base_url), *_outputs("out.jsonl")]
    _resume_to_end(tmp_path, [*args, "--max-pages", "10"])
    hits = sum(srv.hits.values())
    _resume_to_end(tmp_path, [*args, "--max-pages", "10"])
    assert sum(srv.hits.values()) == hits
    assert stats(tmp_path / "stats.json")["reason"] == "max_pages"
    _resume_to_end(tmp_path, [*args, "--max-pages", "25"])
    urls = output_urls(tmp_path, "out.jsonl")
    assert len(urls) == 25 and extra_copies(urls) == 0
