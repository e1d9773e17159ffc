"""Broken user components, as ``acrawl-run`` users meet them: a middleware, pipeline, spider
middleware, plugin or setting that is wrong gets one line naming it (exit 2) before the
crawl, or is survived (logged, counted, exit 1) during it — never a bare traceback, never
lost data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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

PAGES = {
    "/": '<title>home</title><a href="/a">a</a><a href="/b">b</a>',
    "/a": "<title>a</title>",
    "/b": "<title>b</title>",
}

COMPONENTS = '''
    import acrawl

    class Keep:
        def process_item(self, item, spider):
            return item

    class Header:
        def process_request(self, request, spider):
            request.headers["X-Seen"] = "yes"
'''


def spider_source(body: str = "", preamble: str = "") -> str:
    """A spider crawling PAGES from ``-a base=URL``, with ``body`` in its class."""
    return f'''
import acrawl
{preamble}

class Site(acrawl.Spider):
    name = "site"
{body}
    def __init__(self, base="", **kw):
        super().__init__(**kw)
        self.start_urls = [base + "/"]

    def parse(self, response):
        yield {{"url": response.url, "title": response.css("title::text").get("")}}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href)
'''


def run_spider(acrawl: Runner, tmp_path: Path, base: str, *args: str, body: str = "",
               preamble: str = "") -> Any:
    spider = tmp_path / "site_spider.py"
    spider.write_text(spider_source(body, preamble), encoding="utf-8")
    write_module(tmp_path, "comps.py", COMPONENTS)
    return acrawl.run(str(spider), "-a", f"base={base}", *args, pythonpath=[tmp_path])


# -- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["middlewares", "spider_middlewares", "pipelines",
                                     "disable"])
def test_an_empty_component_setting_is_an_empty_list(acrawl: Runner, tmp_path: Path, serve,
                                                      setting: str) -> None:
    """``-s disable=$EXTRA`` with nothing in ``$EXTRA`` crawls as without it."""
    srv = serve(PagesSite(PAGES))
    result = run_spider(acrawl, tmp_path, srv.base_url, "-s", f"{setting}=", "-o", "out.jsonl")
    assert_ok(result)
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 3


@pytest.mark.parametrize(("where", "args", "body"), [
    ("command line", ("-s", 'pipelines={"comps.Keep": 300}'), ""),
    ("spider settings", (), '    settings = {"pipelines": {"comps.Keep": 300}}\n'),
    ("spider attribute", (), '    middlewares = {"comps.Header": 543}\n'),
])
def test_scrapys_numbered_dict_of_components_is_refused(acrawl: Runner, tmp_path: Path, serve,
                                                        where: str, args: tuple[str, ...],
                                                        body: str) -> None:
    """A dict of order numbers, pasted from Scrapy's settings, was iterated for its keys
    (the numbers silently ignored) or refused as "expects a list" without saying why."""
    srv = serve(PagesSite(PAGES))
    result = run_spider(acrawl, tmp_path, srv.base_url, *args, "-o", "out.jsonl", body=body)
    line = assert_usage_error(result, "is a list in the order the components run",
                              "scrapy's dict of order numbers")
    assert "comps." in line, where
    assert not (tmp_path / "out.jsonl").exists(), describe(result)


# -- loading --------------------------------------------------------------------------------------

GENERATORS = '''
class YieldingPipeline:
    def process_item(self, item, spider):
        yield item

class AsyncYieldingPipeline:
    async def process_item(self, item, spider):
        yield item

class YieldingMiddleware:
    def process_request(self, request, spider):
        yield None

class YieldingOpen:
    def open_spider(self, spider):
        yield

    def process_item(self, item, spider):
        return item

class NoneFromCrawler:
    @classmethod
    def from_crawler(cls, crawler):
        cls.crawler = crawler      # forgot: return cls()

    def process_item(self, item, spider):
        return item
'''


@pytest.mark.parametrize(("attr", "needles"), [
    ("pipelines = [YieldingPipeline]", ("YieldingPipeline", "process_item", "generator")),
    ("pipelines = [AsyncYieldingPipeline]", ("AsyncYieldingPipeline", "process_item",
                                             "generator")),
    ("middlewares = [YieldingMiddleware]", ("YieldingMiddleware", "process_request",
                                            "generator")),
    ("pipelines = [YieldingOpen]", ("YieldingOpen", "open_spider", "generator")),
])
def test_a_generator_method_is_refused_when_it_loads(acrawl: Runner, tmp_path: Path, serve,
                                                     attr: str,
                                                     needles: tuple[str, ...]) -> None:
    """``yield item`` in ``process_item`` wrote the generator object (``errors/output``) and
    lost the item; in ``process_request`` it failed every request."""
    srv = serve(PagesSite(PAGES))
    result = run_spider(acrawl, tmp_path, srv.base_url, "-o", "out.jsonl",
                        body=f"    {attr}\n", preamble=GENERATORS)
    assert_usage_error(result, *needles, "return")
    assert not (tmp_path / "out.jsonl").exists()


def test_from_crawler_returning_none_is_named(acrawl: Runner, tmp_path: Path, serve) -> None:
    """It was reported as "has none of the methods process_item", which it has."""
    srv = serve(PagesSite(PAGES))
    result = run_spider(acrawl, tmp_path, srv.base_url, body="    pipelines = [NoneFromCrawler]\n",
                        preamble=GENERATORS)
    line = assert_usage_error(result, "NoneFromCrawler", "from_crawler(crawler) returned None")
    assert "none of the methods" not in line


# -- opening --------------------------------------------------------------------------------------

OPENERS = '''
class DatabaseDown:
    def open_spider(self, spider):
        raise ConnectionError("database down")

    def process_item(self, item, spider):
        return item

class AsyncDatabaseDown:
    async def open_spider(self, spider):
        raise ConnectionError("database down")

    def process_item(self, item, spider):
        return item

class JournalDown:
    def open_spider(self, spider):
        raise PermissionError("journal not writable")

    def process_request(self, request, spider):
        return None
'''


@pytest.mark.parametrize(("attr", "name"), [("pipelines = [DatabaseDown]", "DatabaseDown"),
                                            ("pipelines = [AsyncDatabaseDown]",
                                             "AsyncDatabaseDown"),
                                            ("middlewares = [JournalDown]", "JournalDown")])
@pytest.mark.parametrize("output", ["items.jsonl", "items.json"])
def test_a_failing_open_spider_leaves_the_existing_output_untouched(
    acrawl: Runner, tmp_path: Path, serve, attr: str, name: str, output: str,
) -> None:
    """With ``--overwrite`` the outputs were opened (truncated) before the components'
    ``open_spider``: a database that was down cost the last run's items."""
    srv = serve(PagesSite(PAGES))
    previous = '{"kept": "from the last run"}\n' if output.endswith("l") else \
        '[{"kept": "from the last run"}]\n'
    (tmp_path / output).write_text(previous)
    result = run_spider(acrawl, tmp_path, srv.base_url, "-o", output, "-o", "new.jsonl",
                        "--overwrite", body=f"    {attr}\n", preamble=OPENERS)
    assert_usage_error(result, name, "open_spider raised")
    assert (tmp_path / output).read_text() == previous
    assert not (tmp_path / "new.jsonl").exists()


def test_the_outputs_are_replaced_once_open_spider_succeeded(acrawl: Runner, tmp_path: Path,
                                                             serve) -> None:
    srv = serve(PagesSite(PAGES))
    (tmp_path / "items.jsonl").write_text('{"kept": "from the last run"}\n')
    result = run_spider(acrawl, tmp_path, srv.base_url, "-o", "items.jsonl", "--overwrite",
                        body='    pipelines = ["comps:Keep"]\n')
    assert_ok(result)
    assert sorted(i["title"] for i in read_jsonl(tmp_path / "items.jsonl")) == ["a", "b", "home"]


# -- plugins --------------------------------------------------------------------------------------

SETUP_HOOKS = ["acrawl_add_settings()", "acrawl_middlewares(settings, spider)",
               "acrawl_pipelines(settings, spider)", "acrawl_open_gate(settings, spider, fetch)",
               "acrawl_download_handler(settings, spider)", "acrawl_open_sink(uri, settings)"]


@pytest.mark.parametrize("hook", SETUP_HOOKS)
def test_a_plugin_failing_to_set_up_is_one_line_naming_it(acrawl: Runner, tmp_path: Path,
                                                          serve, hook: str) -> None:
    """``acrawl_add_settings`` and ``acrawl_open_gate`` raising was a bare traceback (exit 1),
    the others a line that did not say which plugin."""
    srv = serve(PagesSite(PAGES))
    write_module(tmp_path, "broken_plugin.py", f'''
        import acrawl

        @acrawl.hookimpl
        def {hook}:
            raise RuntimeError("plugin set-up bug")
    ''')
    result = run_spider(acrawl, tmp_path, srv.base_url, "-p", "broken_plugin", "-o", "out.jsonl")
    assert_usage_error(result, "plugin 'broken_plugin'", hook.partition("(")[0],
                       "RuntimeError: plugin set-up bug")
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("hook", ["acrawl_crawl_opened(spider, settings)",
                                  "acrawl_crawl_closed(spider, stats, reason)"])
def test_a_plugin_failing_in_crawl_opened_or_closed_is_counted_and_the_crawl_goes_on(
    acrawl: Runner, tmp_path: Path, serve, hook: str,
) -> None:
    """It was logged only: the crawl exited 0 as if nothing had failed."""
    srv = serve(PagesSite(PAGES))
    write_module(tmp_path, "broken_plugin.py", f'''
        import acrawl

        @acrawl.hookimpl
        def {hook}:
            raise RuntimeError("plugin lifecycle bug")

        class Other:  # a second plugin's hook still runs
            @acrawl.hookimpl
            def {hook.replace("(", "(self, ")}:
                open("other-ran", "w").close()

        other = Other()
    ''')
    result = run_spider(acrawl, tmp_path, srv.base_url, "-p", "broken_plugin",
                        "-p", "broken_plugin:other", "-o", "out.jsonl", "--stats", "stats.json")
    assert result.returncode == 1, describe(result)
    assert f"plugin broken_plugin: hook {hook.partition('(')[0]} raised" in result.stderr
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 3
    assert json.loads((tmp_path / "stats.json").read_text())["errors/plugin"] == 1
    assert (tmp_path / "other-ran").exists()
