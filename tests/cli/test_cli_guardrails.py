"""Guardrails (``close_timeout``, ``close_item_count``, ``close_error_count``,
``memory_limit_mb``): each stops a real crawl of a local site gracefully, records its reason in
``--stats`` and the summary, and keeps the exit code the contract gives a finished crawl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from e2e_support import Runner, assert_ok, assert_usage_error, describe, read_jsonl, write_module

from acrawl.demo.site import LinkSite

#: a site slow enough that no guardrail test can finish it before its limit
SLOW = {"pages": 2000, "latency": 0.05}


def _stats(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "stats.json").read_text())
    return data


def _stopped_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("  stopped: ")]
    assert len(lines) == 1, stderr[-2000:]
    return lines[0]


def test_close_timeout_stops_after_the_given_seconds(acrawl: Runner, tmp_path: Path,
                                                      serve: Any) -> None:
    srv = serve(LinkSite(**SLOW))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "--concurrency", "4",
                        "--close-timeout", "1.5", "-o", "out.jsonl", "--stats", "stats.json")
    assert_ok(result)
    stats = _stats(tmp_path)
    assert stats["reason"] == stats["finish_reason"] == "close_timeout", stats
    assert stats["elapsed_seconds"] >= 1.5
    assert "s of crawling, limit 1.5s" in stats["finish_detail"]
    assert "close_timeout" in _stopped_line(result.stderr)
    items = read_jsonl(tmp_path / "out.jsonl")
    # graceful: every page that reached its callback has its item written
    assert 0 < len(items) == stats["pages"] < SLOW["pages"]


def test_close_item_count_stops_once_that_many_items_are_scraped(acrawl: Runner,
                                                                 tmp_path: Path,
                                                                 serve: Any) -> None:
    srv = serve(LinkSite(**SLOW))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "--concurrency", "4",
                        "--close-item-count", "25", "-o", "out.jsonl", "--stats", "stats.json")
    assert_ok(result)
    stats = _stats(tmp_path)
    assert stats["reason"] == "close_item_count", stats
    assert ", limit 25" in stats["finish_detail"]
    items = read_jsonl(tmp_path / "out.jsonl")
    # pages done before the next check (50 ms at <= 80 pages/s: 4) and the requests in
    # flight when the limit was passed (4 downloading, 4 in callbacks) still count
    assert 25 <= len(items) == stats["items"] <= 25 + 4 + 8
    assert "stopped: close_item_count" in result.stderr


FAILING = '''
    import acrawl

    class Failing(acrawl.Spider):
        """Every page after the first raises in its callback."""
        name = "failing"
        allowed_hosts = ["127.0.0.1"]

        def __init__(self, url, **kw):
            super().__init__(**kw)
            self.start_urls = [url]

        def parse(self, response):
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)
            if response.request.depth > 0:
                raise ValueError("broken page " + response.url)
            yield {"url": response.url}
'''


def test_close_error_count_stops_after_that_many_errors(acrawl: Runner, tmp_path: Path,
                                                        serve: Any) -> None:
    srv = serve(LinkSite(**SLOW))
    write_module(tmp_path, "failing.py", FAILING)
    result = acrawl.run("failing.py", "-a", f"url={srv.base_url}/", "--concurrency", "4",
                        "--close-error-count", "5", "-o", "out.jsonl", "--stats", "stats.json")
    assert_ok(result, 1)  # a stopped crawl with errors: exit 1, as any crawl with errors
    stats = _stats(tmp_path)
    assert stats["reason"] == "close_error_count", stats
    assert 5 <= stats["errors/callback"] <= 5 + 4 + 8  # (as for close_item_count)
    assert stats["pages"] < SLOW["pages"]
    assert "stopped: close_error_count" in result.stderr


HOARDER = '''
    import acrawl

    class Hoarder(acrawl.Spider):
        """Keeps 4 MiB per page (written, so the pages are resident) and never frees them."""
        name = "hoarder"
        allowed_hosts = ["127.0.0.1"]
        held = []

        def __init__(self, url, **kw):
            super().__init__(**kw)
            self.start_urls = [url]

        def parse(self, response):
            self.held.append(b"x" * (4 << 20))
            yield {"url": response.url}
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)
'''


def test_memory_limit_stops_a_spider_that_holds_memory(acrawl: Runner, tmp_path: Path,
                                                       serve: Any) -> None:
    srv = serve(LinkSite(pages=2000, latency=0.05))  # at most ~80 pages/s: ~8 per check
    write_module(tmp_path, "hoarder.py", HOARDER)
    result = acrawl.run("hoarder.py", "-a", f"url={srv.base_url}/", "--concurrency", "4",
                        "--memory-limit", "250", "-s", "memory_warning_mb=180",
                        "-o", "out.jsonl", "--stats", "stats.json", timeout=120)
    assert_ok(result)
    stats = _stats(tmp_path)
    assert stats["reason"] == "memory_limit", stats
    assert stats["finish_detail"].startswith("RSS ") and "limit 250 MiB" in stats["finish_detail"]
    assert stats["peak_rss_bytes"] >= 250 << 20
    # 2000 pages would hold 8 GiB: it stopped long before (at most ~63 pages over 250 MiB)
    assert stats["pages"] < 100, stats["pages"]
    assert stats["memory_warning_rss_mb"] >= 180
    assert "passed memory_warning_mb=180" in result.stderr, describe(result)
    assert len(read_jsonl(tmp_path / "out.jsonl")) == stats["items"]


def test_a_crawl_stopped_by_a_guardrail_resumes_with_state(acrawl: Runner, tmp_path: Path,
                                                            serve: Any) -> None:
    site = LinkSite(pages=150, latency=0.01)
    srv = serve(site)
    args = ["links", "-a", f"url={srv.base_url}/", "--state", "st", "--concurrency", "4",
            "-o", "out.jsonl", "--stats", "stats.json"]
    first = acrawl.run(*args, "--close-item-count", "30")
    assert_ok(first)
    assert _stats(tmp_path)["reason"] == "close_item_count"
    after_first = len(read_jsonl(tmp_path / "out.jsonl"))
    assert 30 <= after_first < 150
    # the limit counts this run's items: a second run with it stops again after 30 more
    second = acrawl.run(*args, "--close-item-count", "30")
    assert_ok(second)
    assert _stats(tmp_path)["reason"] == "close_item_count"
    assert len(read_jsonl(tmp_path / "out.jsonl")) >= after_first + 30
    rest = acrawl.run(*args)
    assert_ok(rest)
    assert _stats(tmp_path)["reason"] == "finished"
    urls = [it["url"] for it in read_jsonl(tmp_path / "out.jsonl")]
    assert sorted(urls) == sorted(site.page_urls(srv.base_url))  # each page once, none lost


def test_bad_guardrail_values_are_usage_errors(acrawl: Runner) -> None:
    url = "url=http://127.0.0.1:1/"
    assert_usage_error(acrawl.run("links", "-a", url, "--close-timeout", "0"), "close_timeout")
    assert_usage_error(acrawl.run("links", "-a", url, "--close-item-count", "-3"),
                       "close_item_count")
    assert_usage_error(acrawl.run("links", "-a", url, "-s", "memory_limit_mb=lots"),
                       "memory_limit_mb")
    assert_usage_error(acrawl.run("links", "-a", url, "--close-error-count", "x"),
                       "--close-error-count")
