"""Middlewares and pipelines from the command line: a ``-p`` plugin's middleware, a spider's
pipelines (exit 0 with dropped items), ``-s middlewares=...``, ``-s disable=...`` and
``--list-components``."""

from __future__ import annotations

from pathlib import Path

from e2e_support import PagesSite, Runner, assert_ok, assert_usage_error, read_jsonl, write_module

SPIDER = '''
    import acrawl

    class DropLove:
        def process_item(self, item, spider):
            if "love" in item["url"]:
                raise acrawl.DropItem("no love")
            return item

    class AddLength:
        async def process_item(self, item, spider):
            item["length"] = len(item["title"])
            return item

    class Quotes(acrawl.Spider):
        name = "quotes"
        pipelines = [DropLove, AddLength]

        def __init__(self, base="", **kw):
            super().__init__(**kw)
            self.start_urls = [base + "/"]

        def parse(self, response):
            yield {"url": response.url, "title": response.css("title::text").get(""),
                   "seen": response.request.headers.get("X-Seen", "")}
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)
'''

PLUGIN = '''
    import acrawl

    class Seen:
        name = "seen"
        def process_request(self, request, spider):
            request.headers["X-Seen"] = "plugin"

    @acrawl.hookimpl
    def acrawl_middlewares(settings, spider):
        return [Seen]
'''

PAGES = {
    "/": '<title>home</title><a href="/love">l</a><a href="/life">l</a>',
    "/love": "<title>love</title>",
    "/life": "<title>life</title>",
}


def test_a_plugin_middleware_and_spider_pipelines(acrawl: Runner, tmp_path: Path,
                                                  serve) -> None:  # type: ignore[no-untyped-def]
    srv = serve(PagesSite(PAGES))
    spider = write_module(tmp_path, "quotes_spider.py", SPIDER)
    write_module(tmp_path, "seen_plugin.py", PLUGIN)
    out = tmp_path / "items.jsonl"
    result = acrawl.run(str(spider), "-a", f"base={srv.base_url}", "-p", "seen_plugin",
                        "-o", str(out), "--stats", str(tmp_path / "stats.json"),
                        pythonpath=[tmp_path])
    assert_ok(result)  # dropped items are no error
    items = sorted(read_jsonl(out), key=lambda i: i["url"])
    assert [(i["title"], i["length"], i["seen"]) for i in items] == [
        ("home", 4, "plugin"), ("life", 4, "plugin")]
    import json

    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["items/dropped"] == 1 and stats["items"] == 2

    listed = acrawl.run(str(spider), "-p", "seen_plugin", "--list-components",
                        pythonpath=[tmp_path])
    assert_ok(listed)
    rows = [line.split(None, 3) if not line.startswith("spider") else [] for line in
            listed.stdout.splitlines()]
    assert [(r[0], r[2]) for r in rows] == [
        ("middleware", "robots"), ("middleware", "headers"), ("middleware", "seen"),
        ("middleware", "retry"), ("middleware", "redirect"), ("middleware", "cookies"),
        ("pipeline", "DropLove"), ("pipeline", "AddLength")]
    assert rows[2][3].strip() == "plugin seen_plugin"
    assert rows[6][3].strip() == "spider"


def test_a_broken_component_is_a_one_line_usage_error(acrawl: Runner, tmp_path: Path,
                                                      serve) -> None:  # type: ignore[no-untyped-def]
    srv = serve(PagesSite(PAGES))
    spider = write_module(tmp_path, "quotes_spider.py", SPIDER)
    result = acrawl.run(str(spider), "-a", f"base={srv.base_url}",
                        "-s", "middlewares=nowhere.mod:Thing", pythonpath=[tmp_path])
    assert_usage_error(result, "cannot import middleware 'nowhere.mod:Thing'")
    result = acrawl.run(str(spider), "-a", f"base={srv.base_url}", "-s", "disable=retri",
                        pythonpath=[tmp_path])
    assert_usage_error(result, "unknown components ['retri']")


def test_disable_robots_from_the_command_line(acrawl: Runner, tmp_path: Path,
                                              serve) -> None:  # type: ignore[no-untyped-def]
    import json

    srv = serve(PagesSite(PAGES, robots="User-agent: *\nDisallow: /love\n"))
    spider = write_module(tmp_path, "quotes_spider.py", SPIDER)
    stats = tmp_path / "stats.json"
    kept = acrawl.run(str(spider), "-a", f"base={srv.base_url}", "--stats", str(stats),
                      pythonpath=[tmp_path])
    assert_ok(kept)
    on = json.loads(stats.read_text())
    assert on["filtered/robots"] == 1 and "items/dropped" not in on  # /love never fetched
    off = acrawl.run(str(spider), "-a", f"base={srv.base_url}", "--stats", str(stats),
                     "-s", "disable=robots", pythonpath=[tmp_path])
    assert_ok(off)
    off_stats = json.loads(stats.read_text())
    # /love fetched now, and dropped by the spider's own pipeline instead
    assert "filtered/robots" not in off_stats and off_stats["items/dropped"] == 1
    assert off_stats["http/200"] == 3
