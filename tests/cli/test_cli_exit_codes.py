"""Exit codes 0/1 and ``--stats``: spider errors are counted, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_support import (
    PagesSite,
    Runner,
    assert_ok,
    assert_usage_error,
    describe,
    read_jsonl,
    write_module,
)

from acrawl.demo.site import LinkSite

FLAKY = '''
    import acrawl

    class Flaky(acrawl.Spider):
        name = "flaky"
        allowed_hosts = ["127.0.0.1"]

        def start_requests(self):
            yield acrawl.Request(self.url)

        async def parse(self, response):
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)
            n = int(response.css("h1::text").get().split()[-1])
            if n % 4 == 1:
                raise ValueError(f"boom on page {n}")
            if n % 4 == 2 and getattr(self, "bad_output", None):
                yield 42                     # not a Request, item or None
            yield {"n": n, "url": response.url}
'''


def test_callback_errors_exit_1_and_other_items_are_written(acrawl: Runner, tmp_path: Path,
                                                            serve) -> None:
    srv = serve(LinkSite(pages=40))
    write_module(tmp_path, "flaky.py", FLAKY)
    result = acrawl.run("flaky.py", "-a", f"url={srv.base_url}/", "-o", "out.jsonl",
                        "--stats", "stats.json")
    assert_ok(result, 1)
    items = read_jsonl(tmp_path / "out.jsonl")
    got = sorted(it["n"] for it in items)
    assert got == sorted(n for n in range(srv.site.pages) if n % 4 != 1)
    failing = [n for n in range(srv.site.pages) if n % 4 == 1]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["errors/callback"] == len(failing), stats
    assert stats["pages"] == 40
    assert stats["items"] == len(got)
    assert stats["reason"] == "finished"
    assert stats["spider"] == "flaky"
    # logged with the traceback and the failing page
    assert "boom on page" in result.stderr
    assert "Traceback" in result.stderr
    assert "Flaky.parse" in result.stderr or "parse" in result.stderr


def test_invalid_callback_output_is_an_error_naming_the_callback(acrawl: Runner,
                                                                 tmp_path: Path,
                                                                 serve) -> None:
    srv = serve(LinkSite(pages=20))
    write_module(tmp_path, "flaky.py", FLAKY)
    result = acrawl.run("flaky.py", "-a", f"url={srv.base_url}/", "-a", "bad_output=1",
                        "-o", "out.jsonl", "--stats", "stats.json")
    assert_ok(result, 1)
    assert "Flaky.parse" in result.stderr, describe(result)
    assert "int" in result.stderr
    items = read_jsonl(tmp_path / "out.jsonl")
    # the crawl went on: pages yielding 42 still produced their item afterwards
    assert sorted(it["n"] for it in items) == [n for n in range(20) if n % 4 != 1]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["errors/output"] == len([n for n in range(20) if n % 4 == 2])


def test_clean_crawl_exits_0_with_stats(acrawl: Runner, tmp_path: Path, serve) -> None:
    srv = serve(LinkSite(pages=30))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "--stats", "stats.json",
                        "-o", "o.jsonl")
    assert_ok(result)
    stats = json.loads((tmp_path / "stats.json").read_text())
    for key in ("pages", "items", "elapsed_seconds", "reason", "spider",
                "requests/scheduled", "requests/downloaded"):
        assert key in stats, key
    assert stats["pages"] == stats["items"] == 30
    assert stats["reason"] == "finished"
    assert stats["spider"] == "links"
    assert stats["elapsed_seconds"] > 0
    assert not [k for k in stats if k.startswith("errors/") and stats[k]]


@pytest.mark.parametrize(("stats", "needles"), [
    ("afile/stats.json", ["--stats", "afile is not a directory"]),
    (".", ["--stats", "directory"]),
    ("adir", ["--stats", "adir", "directory"]),
])
def test_unwritable_stats_path_is_refused_before_the_crawl(acrawl: Runner, tmp_path: Path,
                                                          serve, stats: str,
                                                          needles: list[str]) -> None:
    """Exit 2 and one line before anything is fetched, not exit 1 after the whole crawl."""
    srv = serve(LinkSite(pages=5))
    (tmp_path / "afile").write_text("")
    (tmp_path / "adir").mkdir()
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "--stats", stats,
                        "-o", "o.jsonl")
    assert_usage_error(result, *needles)
    assert sum(srv.hits.values()) == 0
    assert (tmp_path / "afile").read_text() == ""


def test_stats_parent_directories_are_created(acrawl: Runner, tmp_path: Path, serve) -> None:
    """As for ``-o``: ``--stats runs/2024/stats.json`` creates ``runs/2024``."""
    srv = serve(LinkSite(pages=5))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "--stats",
                        "runs/2024/stats.json", "-o", "runs/o.jsonl")
    assert_ok(result)
    assert json.loads((tmp_path / "runs" / "2024" / "stats.json").read_text())["pages"] == 5


def test_not_found_pages_are_not_errors(acrawl: Runner, tmp_path: Path, serve) -> None:
    """HTTP 404s are outcomes of the crawl, not spider errors: exit 0."""
    site = PagesSite({"/": "<html><title>t</title><a href='/gone'>x</a><a href='/a'>a</a></html>",
                      "/a": "<html><title>a</title></html>"})
    base = serve(site).base_url
    write_module(tmp_path, "plain.py", '''
        import acrawl

        class Plain(acrawl.Spider):
            name = "plain"
            allowed_hosts = ["127.0.0.1"]

            def start_requests(self):
                yield acrawl.Request(self.url)

            def parse(self, response):
                yield {"url": response.url}
                yield from response.follow_all(response.css("a::attr(href)").getall())
    ''')
    result = acrawl.run("plain.py", "-a", f"url={base}/", "-o", "o.jsonl",
                        "--stats", "stats.json")
    assert_ok(result)
    assert {it["url"] for it in read_jsonl(tmp_path / "o.jsonl")} == {base + "/", base + "/a"}
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats.get("http/404") == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_start_requests_raising_midway_keeps_earlier_requests(acrawl: Runner, tmp_path: Path,
                                                              serve, kind: str) -> None:
    srv = serve(LinkSite(pages=10))
    write_module(tmp_path, "starts.py", f'''
        import acrawl

        class Starts(acrawl.Spider):
            name = "starts"
            allowed_hosts = ["127.0.0.1"]

            {"async " if kind == "async" else ""}def start_requests(self):
                yield acrawl.Request(self.url + "p/1")
                yield acrawl.Request(self.url + "p/2")
                raise RuntimeError("no more start urls")

            def parse(self, response):
                yield {{"url": response.url}}
    ''')
    result = acrawl.run("starts.py", "-a", f"url={srv.base_url}/", "-o", "o.jsonl")
    assert_ok(result, 1)
    assert "no more start urls" in result.stderr
    assert {it["url"] for it in read_jsonl(tmp_path / "o.jsonl")} == {
        srv.base_url + "/p/1", srv.base_url + "/p/2"}
