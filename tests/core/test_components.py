"""Downloader middlewares, spider-output middlewares, item pipelines and the built-in
components' names and ``disable``, end to end against local servers (docs/middleware.md,
docs/pipelines.md)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import acrawl
from acrawl.crawler import Crawler
from acrawl.errors import ComponentError, ConfigError, HttpError, IgnoreRequest


class Site:
    """A local app that logs every request (path and headers) it gets."""

    def __init__(self) -> None:
        self.log: list[web.Request] = []
        self.hits: Counter[str] = Counter()

    def seen(self, path: str) -> int:
        return self.hits[path]

    def handler(self, body: str = "", status: int = 200, headers: dict[str, str] | None = None,
                content_type: str = "text/html") -> Any:
        async def handle(request: web.Request) -> web.Response:
            self.log.append(request)
            self.hits[request.path_qs] += 1
            return web.Response(text=body, status=status, headers=headers,
                                content_type=content_type)
        return handle


@pytest.fixture
def site() -> Site:
    return Site()


def links(*hrefs: str) -> str:
    return "<html><body>" + "".join(f'<a href="{h}">{h}</a>' for h in hrefs) + "</body></html>"


class Pages(acrawl.Spider):
    """Follows every link, one item per page: ``{"path": ..., "status": ...}``."""

    name = "pages"
    seen: list[acrawl.Response]
    failures: list[acrawl.Failure]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.seen, self.failures = [], []

    async def parse(self, response: acrawl.Response) -> Any:
        self.seen.append(response)
        yield {"path": response.url.split("/", 3)[-1], "status": response.status}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, errback=self.failed)

    def failed(self, failure: acrawl.Failure) -> None:
        self.failures.append(failure)


# -- downloader middlewares -----------------------------------------------------------------------


class AddHeader:
    def process_request(self, request: acrawl.Request, spider: Any) -> None:
        request.headers["X-Token"] = "secret-1"  # headers and meta change in place


class Fixture:
    """Answers /fixture from a local body: no network request."""

    async def process_request(self, request: acrawl.Request, spider: Any) -> Any:
        if request.url.endswith("/fixture"):
            return acrawl.Response(url=request.url, status=200, headers={},
                                   body=b"<html><title>from fixture</title></html>",
                                   request=request)
        return None


class BanRetry:
    """A 200 page that says "captcha" is a ban: retried with the built-in budget."""

    def process_response(self, request: acrawl.Request, response: acrawl.Response,
                         spider: Any) -> Any:
        if b"captcha" in response.body:
            return acrawl.get_retry_request(request, spider=spider, reason="ban") or response
        return response


class Recover:
    """A download error becomes a made-up response."""

    def process_exception(self, request: acrawl.Request, exception: Exception,
                          spider: Any) -> acrawl.Response:
        return acrawl.Response(url=request.url, status=200, headers={},
                               body=b"<html>recovered</html>", request=request)


async def test_a_spider_middleware_attribute_takes_effect(crawl: Any, serve_app: Any,
                                                          site: Site) -> None:
    flips = iter([True, True, False])

    async def bannable(request: web.Request) -> web.Response:
        site.log.append(request)
        site.hits[request.path] += 1
        return web.Response(text="captcha" if next(flips) else "<html>ok</html>",
                            content_type="text/html")

    class Spider(Pages):
        middlewares = [AddHeader, Fixture(), BanRetry]  # a class, an instance

    routes = {"/": site.handler(links("/fixture", "/ban", "/b")), "/ban": bannable,
              "/b": site.handler("<html>b</html>")}
    async with serve_app(routes) as base:
        result, spider = await crawl(Spider, start_urls=[base + "/"],
                                     settings={"obey_robots": False})
    # a header on every request that reached the server
    assert site.log and all(r.headers.get("X-Token") == "secret-1" for r in site.log)
    # answered from the fixture: it reached the callback, never the server
    assert site.seen("/fixture") == 0
    assert "from fixture" in next(r.text for r in spider.seen if r.url.endswith("/fixture"))
    # the ban page was retried twice (the default budget), then its real page came
    assert site.seen("/ban") == 3
    ban = next(r for r in spider.seen if r.url.endswith("/ban"))
    assert ban.text == "<html>ok</html>" and ban.request.retries == 2
    assert result.stats["retries/ban"] == 2
    assert sorted(r.url.rsplit("/", 1)[-1] for r in spider.seen) == ["", "b", "ban", "fixture"]


async def test_a_retry_from_a_middleware_uses_the_same_budget(crawl: Any, serve_app: Any,
                                                              site: Site) -> None:
    class Spider(Pages):
        middlewares = [BanRetry]

    async with serve_app({"/": site.handler("captcha")}) as base:
        result, spider = await crawl(Spider, start_urls=[base + "/"],
                                     settings={"obey_robots": False, "retry_times": 1})
    assert site.seen("/") == 2  # the first try and one retry
    assert result.stats["retries/max_reached"] == 1
    assert [r.text for r in spider.seen] == ["captcha"]  # budget spent: the response is used


async def test_process_exception_recovers_a_download_error(crawl: Any, closed_port: int) -> None:
    class Spider(Pages):
        middlewares = [Recover]

    result, spider = await crawl(Spider, start_urls=[f"http://127.0.0.1:{closed_port}/"],
                                 settings={"obey_robots": False, "retry_times": 0})
    assert [r.text for r in spider.seen] == ["<html>recovered</html>"]
    assert result.stats.get("failed/ConnectError") == 0
    assert spider.failures == []


class ScrapyMade:
    """Responses made as Scrapy's ``HtmlResponse(url=..., body=..., encoding=...)``: no
    status, headers or request given, a ``str`` body."""

    def process_request(self, request: acrawl.Request, spider: Any) -> Any:
        if request.url.endswith("/fixture"):
            return acrawl.Response(url=request.url, body="<p>caf\xe9 <a href=/b>b</a></p>",
                                   encoding="cp1252")
        return None

    def process_exception(self, request: acrawl.Request, exception: Exception,
                          spider: Any) -> acrawl.Response:
        return acrawl.Response(url=request.url, body="<p>offline</p>")


async def test_a_response_a_middleware_makes_as_in_scrapy(crawl: Any, serve_app: Any,
                                                          site: Site, closed_port: int) -> None:
    class Spider(Pages):
        middlewares = [ScrapyMade]

    offline = f"http://127.0.0.1:{closed_port}/"
    async with serve_app({"/b": site.handler("<p>b</p>")}) as base:
        result, spider = await crawl(Spider, start_urls=[base + "/fixture", offline],
                                     settings={"obey_robots": False, "retry_times": 0})
    assert result.errors == 0
    made = {r.url: r for r in spider.seen}
    fixture = made[base + "/fixture"]
    assert (fixture.status, fixture.body, fixture.encoding) == (
        200, "<p>caf\xe9 <a href=/b>b</a></p>".encode("cp1252"), "cp1252")
    assert fixture.css("p::text").get() == "caf\xe9 "
    assert fixture.request.url == base + "/fixture" and fixture.meta == {"depth": 0}
    assert site.seen("/fixture") == 0 and site.seen("/b") == 1  # its link was followed
    assert made[offline].text == "<p>offline</p>" and made[offline].request.url == offline


class BytesHeaders:
    """Scrapy's habit: header names and values set as bytes."""

    def process_request(self, request: acrawl.Request, spider: Any) -> None:
        request.headers[b"User-Agent"] = b"rotated/1.0"
        request.headers["X-Token"] = b"caf\xc3\xa9"


async def test_bytes_headers_a_middleware_sets_are_sent_as_text(crawl: Any, serve_app: Any,
                                                                site: Site) -> None:
    class Spider(Pages):
        middlewares = [BytesHeaders]

    async with serve_app({"/": site.handler(links("/b")), "/b": site.handler("b")}) as base:
        result, spider = await crawl(Spider, start_urls=[base + "/"],
                                     settings={"obey_robots": False})
    assert result.errors == 0 and len(spider.seen) == 2
    assert [(r.headers.getall("User-Agent"), r.headers["X-Token"]) for r in site.log] == [
        (["rotated/1.0"], "caf\xe9")] * 2


async def test_an_http_error_carries_its_response_to_the_errback_and_spider_middlewares(
        crawl: Any, serve_app: Any, site: Site) -> None:
    """Scrapy's ``failure.value.response``; and, as there, what the errback yields goes
    through ``process_spider_output`` with that response."""
    outputs: list[tuple[Any, list[Any]]] = []

    class Tap:
        def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
            result = list(result)
            outputs.append((response, result))
            return result

    class Spider(Pages):
        spider_middlewares = [Tap]

        def failed(self, failure: acrawl.Failure) -> Any:
            assert failure.check(HttpError) is HttpError
            response = failure.value.response
            yield {"error": response.status, "body": response.text,
                   "url": failure.request.url}

    routes = {"/": site.handler(links("/gone")), "/gone": site.handler("no such page", 410)}
    async with serve_app(routes) as base:
        result, _spider = await crawl(Spider, start_urls=[base + "/"],
                                     settings={"obey_robots": False})
    assert result.errors == 0
    [(response, out)] = [(r, o) for r, o in outputs if r.url.endswith("/gone")]
    assert response.status == 410
    assert out == [{"error": 410, "body": "no such page", "url": base + "/gone"}]


class Deferred:
    """Plain methods that return awaitables (as a callable with an async ``__call__`` does):
    awaited like async methods, and what the awaitable raises names the middleware."""

    def process_request(self, request: acrawl.Request, spider: Any) -> Any:
        return self._request(request)

    async def _request(self, request: acrawl.Request) -> None:
        await asyncio.sleep(0)
        if request.url.endswith("/broken"):
            raise RuntimeError("deferred failure")
        request.headers["X-Deferred"] = "yes"

    def process_response(self, request: acrawl.Request, response: acrawl.Response,
                         spider: Any) -> Any:
        return self._response(response)

    async def _response(self, response: acrawl.Response) -> acrawl.Response:
        await asyncio.sleep(0)
        return response.replace(status=299)


async def test_plain_methods_returning_awaitables_are_awaited(crawl: Any, serve_app: Any,
                                                              site: Site) -> None:
    class Spider(Pages):
        middlewares = [Deferred]
        handle_httpstatus_list = [299]

    routes = {"/": site.handler(links("/broken")), "/broken": site.handler("<html>no</html>")}
    async with serve_app(routes) as base:
        result, spider = await crawl(Spider, start_urls=[base + "/"],
                                     settings={"obey_robots": False})
    assert [r.headers.get("X-Deferred") for r in site.log] == ["yes"]  # /broken never sent
    assert [r.status for r in spider.seen] == [299]
    assert result.stats["errors/middleware"] == 1
    [failure] = spider.failures
    assert isinstance(failure.exception, ComponentError)
    assert "'Deferred' process_request raised RuntimeError: deferred failure" in str(
        failure.exception)


async def test_hook_middlewares_from_a_plugin_take_effect(
    crawl: Any, serve_app: Any, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mw_plugin.py").write_text(textwrap.dedent("""
        import acrawl

        class Stamp:
            name = "stamp"
            def process_request(self, request, spider):
                request.headers["X-Plugin"] = "yes"

        @acrawl.hookimpl
        def acrawl_middlewares(settings, spider):
            return [Stamp]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    async with serve_app({"/": site.handler(links("/a")), "/a": site.handler("a")}) as base:
        crawler = Crawler.create(Pages, spider_args={"start_urls": [base + "/"]},
                                 settings={"obey_robots": False}, plugins=["mw_plugin"],
                                 entry_points=False)
        await crawler.crawl()
    assert len(site.log) == 2 and all(r.headers.get("X-Plugin") == "yes" for r in site.log)
    sys.modules.pop("mw_plugin", None)


async def test_middlewares_from_the_setting_by_import_path(
    crawl: Any, serve_app: Any, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mw_paths.py").write_text(textwrap.dedent("""
        class One:
            def process_request(self, request, spider):
                request.headers["X-Order"] = request.headers.get("X-Order", "") + "1"
        class Two:
            def process_request(self, request, spider):
                request.headers["X-Order"] = request.headers.get("X-Order", "") + "2"
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    async with serve_app({"/": site.handler("x")}) as base:
        await crawl(Pages, start_urls=[base + "/"],
                    settings={"obey_robots": False, "middlewares": "mw_paths:Two,mw_paths.One"})
    assert [r.headers["X-Order"] for r in site.log] == ["21"]  # the order written
    sys.modules.pop("mw_paths", None)


async def test_ignore_request_drops_with_a_reason_and_reaches_the_errback(
    crawl: Any, serve_app: Any, site: Site
) -> None:
    class NoB:
        name = "no_b"

        def process_request(self, request: acrawl.Request, spider: Any) -> None:
            if request.url.endswith("/b"):
                raise IgnoreRequest("b is not wanted")

    class Spider(Pages):
        middlewares = [NoB]

    async with serve_app({"/": site.handler(links("/b")), "/b": site.handler("b")}) as base:
        result, spider = await crawl(Spider, start_urls=[base + "/"],
                                     settings={"obey_robots": False})
    assert site.seen("/b") == 0
    assert result.stats["filtered/no_b"] == 1
    assert [type(f.exception) for f in spider.failures] == [IgnoreRequest]
    assert result.errors == 0


async def test_a_broken_middleware_is_one_request_s_error(crawl: Any, serve_app: Any,
                                                          site: Site) -> None:
    class Broken:
        def process_response(self, request: Any, response: Any, spider: Any) -> Any:
            if response.url.endswith("/b"):
                raise RuntimeError("boom")
            if response.url.endswith("/c"):
                return {"not": "a response"}
            return response

    class Spider(Pages):
        middlewares = [Broken]

    routes = {"/": site.handler(links("/b", "/c", "/d")), "/b": site.handler("b"),
              "/c": site.handler("c"), "/d": site.handler("d")}
    async with serve_app(routes) as base:
        result, spider = await crawl(Spider, start_urls=[base + "/"],
                                     settings={"obey_robots": False})
    assert sorted(r.url.rsplit("/", 1)[-1] for r in spider.seen) == ["", "d"]
    assert result.stats["errors/middleware"] == 2
    assert {type(f.exception) for f in spider.failures} == {ComponentError}
    assert any("boom" in str(f.exception) for f in spider.failures)
    assert any("returned dict" in str(f.exception) for f in spider.failures)


async def test_hook_download_handler_fetches_what_it_handles(
    crawl: Any, serve_app: Any, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "handler_plugin.py").write_text(textwrap.dedent("""
        import acrawl

        class Canned:
            def __init__(self):
                self.fetched = []
            def handles(self, request):
                return request.url.endswith("/canned")
            async def fetch(self, request):
                self.fetched.append(request.url)
                return acrawl.Response(url=request.url, status=200, headers={},
                                       body=b"<html>canned</html>", request=request)
            async def close(self):
                pass

        CANNED = Canned()

        @acrawl.hookimpl
        def acrawl_download_handler(settings, spider):
            return CANNED
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    async with serve_app({"/": site.handler(links("/canned")),
                          "/canned": site.handler("real")}) as base:
        crawler = Crawler.create(Pages, spider_args={"start_urls": [base + "/"]},
                                 settings={"obey_robots": False}, plugins=["handler_plugin"],
                                 entry_points=False)
        await crawler.crawl()
    import handler_plugin

    assert handler_plugin.CANNED.fetched == [base + "/canned"]
    assert site.seen("/canned") == 0 and site.seen("/") == 1
    assert [r.text for r in crawler.spider.seen][-1] == "<html>canned</html>"
    sys.modules.pop("handler_plugin", None)


# -- spider-output middlewares ------------------------------------------------------------------


async def test_a_spider_output_middleware_filters_yielded_requests(
    crawl: Any, serve_app: Any, site: Site
) -> None:
    class SkipOdd:
        def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
            for out in result:
                if isinstance(out, acrawl.Request) and out.url[-1] in "13579":
                    continue
                yield out

    class Spider(Pages):
        spider_middlewares = [SkipOdd]

    routes = {"/": site.handler(links(*(f"/p{i}" for i in range(6))))}
    routes.update({f"/p{i}": site.handler(str(i)) for i in range(6)})
    async with serve_app(routes) as base:
        result, _ = await crawl(Spider, start_urls=[base + "/"],
                                     settings={"obey_robots": False})
    assert sorted(k for k in site.hits) == ["/", "/p0", "/p2", "/p4"]
    assert result.stats["items"] == 4  # items pass through untouched


# -- item pipelines -----------------------------------------------------------------------------


class DropLove:
    calls: Counter[str] = Counter()

    def open_spider(self, spider: Any) -> None:
        DropLove.calls["open"] += 1

    def process_item(self, item: dict[str, Any], spider: Any) -> dict[str, Any]:
        if "love" in item["path"]:
            raise acrawl.DropItem("no love")
        return item

    async def close_spider(self, spider: Any) -> None:
        DropLove.calls["close"] += 1


class AddLength:
    async def process_item(self, item: dict[str, Any], spider: Any) -> dict[str, Any]:
        await asyncio.sleep(0)
        item["length"] = len(item["path"])
        return item


async def test_pipelines_drop_change_open_and_close(crawl: Any, serve_app: Any, site: Site,
                                                    tmp_path: Path) -> None:
    DropLove.calls.clear()

    class Spider(Pages):
        pipelines = [DropLove, AddLength]

    routes = {"/": site.handler(links("/love", "/life", "/loves")),
              "/love": site.handler("x"), "/life": site.handler("y"),
              "/loves": site.handler("z")}
    out = tmp_path / "items.jsonl"
    async with serve_app(routes) as base:
        result, _ = await crawl(Spider, start_urls=[base + "/"], outputs=[str(out)],
                                settings={"obey_robots": False})
    import json

    items = sorted((json.loads(line) for line in out.read_text().splitlines()),
                   key=lambda i: i["path"])
    assert items == [{"path": "", "status": 200, "length": 0},
                     {"path": "life", "status": 200, "length": 4}]
    assert result.stats["items/dropped"] == 2
    assert result.stats["items"] == 2
    assert result.errors == 0  # a dropped item is no error: exit 0
    assert DropLove.calls == {"open": 1, "close": 1}


async def test_a_failing_pipeline_step_drops_only_that_item(crawl: Any, serve_app: Any,
                                                            site: Site) -> None:
    class Picky:
        def process_item(self, item: dict[str, Any], spider: Any) -> dict[str, Any]:
            if item["path"] == "b":
                raise ValueError("cannot take b")
            return item

    class Spider(Pages):
        pipelines = [Picky()]

    routes = {"/": site.handler(links("/b", "/c")), "/b": site.handler("b"),
              "/c": site.handler("c")}
    async with serve_app(routes) as base:
        result, _ = await crawl(Spider, start_urls=[base + "/"],
                                settings={"obey_robots": False})
    assert result.stats["items"] == 2
    assert result.stats["errors/pipeline"] == 1


def test_a_component_without_its_methods_is_a_config_error() -> None:
    class Spider(Pages):
        pipelines = [object]

    with pytest.raises(ConfigError, match="has none of the methods process_item"):
        Crawler.create(Spider, spider_args={"start_urls": ["http://127.0.0.1:9/"]},
                       entry_points=False)


def test_an_unknown_import_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot import middleware 'no_such_module:Thing'"):
        Crawler.create(Pages, spider_args={"start_urls": ["http://127.0.0.1:9/"]},
                       settings={"middlewares": "no_such_module:Thing"}, entry_points=False)


ITEM_PLUGIN = """
import acrawl

class Tag:
    def process_item(self, item, spider):
        item["tagged"] = True
        return item

class NoFollow:
    def process_spider_output(self, response, result, spider):
        return [o for o in result if not isinstance(o, acrawl.Request)]

@acrawl.hookimpl
def acrawl_pipelines(settings, spider):
    return [Tag]

@acrawl.hookimpl
def acrawl_spider_middlewares(settings, spider):
    return NoFollow()
"""


async def _crawl_with_item_plugin(serve_app: Any, site: Site, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> tuple[Crawler, Path]:
    (tmp_path / "item_plugin.py").write_text(ITEM_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "item_plugin", raising=False)
    out = tmp_path / "items.jsonl"
    async with serve_app({"/": site.handler(links("/a")), "/a": site.handler("a")}) as base:
        crawler = Crawler.create(Pages, spider_args={"start_urls": [base + "/"]},
                                 settings={"obey_robots": False}, plugins=["item_plugin"],
                                 outputs=[str(out)], entry_points=False)
        await crawler.crawl()
    return crawler, out


async def test_hook_pipelines_from_a_plugin(
    serve_app: Any, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    crawler, out = await _crawl_with_item_plugin(serve_app, site, tmp_path, monkeypatch)
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"path": "", "status": 200, "tagged": True}]
    _, _, pipelines = crawler.components()
    assert [(s.name, s.origin) for s in pipelines] == [("Tag", "plugin item_plugin")]


async def test_hook_spider_middlewares_from_a_plugin(
    serve_app: Any, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crawler, _ = await _crawl_with_item_plugin(serve_app, site, tmp_path, monkeypatch)
    assert site.seen("/a") == 0  # the plugin's spider middleware dropped the followed link
    assert site.seen("/") == 1
    _, spider_mws, _ = crawler.components()
    assert [(s.name, s.origin) for s in spider_mws] == [("NoFollow", "plugin item_plugin")]


# -- built-ins: names, order, disable ------------------------------------------------------------


def test_the_components_are_listed_in_the_order_they_run() -> None:
    class Mine:
        def process_request(self, request: Any, spider: Any) -> None: ...

    class Spider(Pages):
        middlewares = [Mine]
        pipelines = [AddLength]

    crawler = Crawler.create(Spider, spider_args={"start_urls": ["http://127.0.0.1:9/"]},
                             settings={"max_depth": 3, "autothrottle": True,
                                       "proxy": "http://127.0.0.1:9"},
                             entry_points=False)
    middlewares, spider_mws, pipelines = crawler.components()
    assert [s.name for s in middlewares] == [
        "robots", "headers", "Mine", "retry", "redirect", "cookies", "proxy", "throttle"]
    assert [s.origin for s in middlewares][2] == "spider"
    assert [s.name for s in spider_mws] == ["max_depth"]
    assert [s.name for s in pipelines] == ["AddLength"]


def test_a_component_named_like_a_built_in_takes_its_place() -> None:
    class MyRetry:
        name = "retry"

        def process_response(self, request: Any, response: Any, spider: Any) -> Any:
            return response

    class Spider(Pages):
        middlewares = [MyRetry]

    crawler = Crawler.create(Spider, spider_args={"start_urls": ["http://127.0.0.1:9/"]},
                             entry_points=False)
    middlewares, _, _ = crawler.components()
    assert [(s.name, s.origin) for s in middlewares] == [
        ("robots", "built-in"), ("headers", "built-in"), ("retry", "spider"),
        ("redirect", "built-in"), ("cookies", "built-in")]


def test_disable_names_must_be_known() -> None:
    with pytest.raises(ConfigError, match=r"unknown components \['retyr'\]"):
        Crawler.create(Pages, spider_args={"start_urls": ["http://127.0.0.1:9/"]},
                       settings={"disable": "retry,retyr"}, entry_points=False)


async def test_disable_retry_fails_a_503_at_once(crawl: Any, serve_app: Any, site: Site) -> None:
    async with serve_app({"/": site.handler("busy", status=503)}) as base:
        on, _ = await crawl(Pages, start_urls=[base + "/"], settings={"obey_robots": False})
        assert site.seen("/") == 3
        site.hits.clear()
        off, _ = await crawl(Pages, start_urls=[base + "/"],
                                  settings={"obey_robots": False, "disable": "retry"})
    assert site.seen("/") == 1
    assert off.stats["http_ignored/503"] == 1 and off.stats.get("retries") == 0
    assert on.stats["retries"] == 2


async def test_disable_redirect_hands_the_301_to_the_callback(crawl: Any, serve_app: Any,
                                                              site: Site) -> None:
    class Spider(Pages):
        handle_httpstatus_list = [301]

    routes = {"/": site.handler("", status=301, headers={"Location": "/target"}),
              "/target": site.handler("target")}
    async with serve_app(routes) as base:
        _, spider = await crawl(Spider, start_urls=[base + "/"],
                                  settings={"obey_robots": False, "disable": ["redirect"]})
        assert [r.status for r in spider.seen] == [301]
        assert site.seen("/target") == 0

        on, spider = await crawl(Pages, start_urls=[base + "/"],
                                 settings={"obey_robots": False})
    assert [r.url for r in spider.seen] == [base + "/target"]
    assert on.stats["redirects"] == 1


async def test_disable_robots_fetches_the_disallowed_page(crawl: Any, serve_app: Any,
                                                          site: Site) -> None:
    routes = {"/robots.txt": site.handler("User-agent: *\nDisallow: /private\n",
                                          content_type="text/plain"),
              "/": site.handler(links("/private")), "/private": site.handler("secret")}
    async with serve_app(routes) as base:
        on, _ = await crawl(Pages, start_urls=[base + "/"])
        assert site.seen("/private") == 0 and on.stats["filtered/robots"] == 1
        await crawl(Pages, start_urls=[base + "/"], settings={"disable": "robots"})
    assert site.seen("/private") == 1
    assert site.seen("/robots.txt") == 1  # only the first crawl asked for it


async def test_disable_allowed_hosts_and_max_depth(crawl: Any, serve_app: Any,
                                                   site: Site) -> None:
    class Spider(Pages):
        allowed_hosts = ["elsewhere.test"]

    routes = {"/": site.handler(links("/a")), "/a": site.handler(links("/b")),
              "/b": site.handler("b")}
    async with serve_app(routes) as base:
        kept, _ = await crawl(Spider, start_urls=[base + "/"],
                              settings={"obey_robots": False, "max_depth": 1})
        assert site.seen("/a") == 0 and kept.stats["filtered/allowed_hosts"] >= 1
        site.hits.clear()
        off, _ = await crawl(Spider, start_urls=[base + "/"],
                             settings={"obey_robots": False, "max_depth": 1,
                                       "disable": "allowed_hosts"})
        assert site.seen("/a") == 1 and site.seen("/b") == 0
        assert off.stats["dropped/max_depth"] == 1
        site.hits.clear()
        await crawl(Spider, start_urls=[base + "/"],
                    settings={"obey_robots": False, "max_depth": 1,
                              "disable": "allowed_hosts,max_depth"})
    assert site.seen("/b") == 1


async def test_meta_refresh_is_followed(crawl: Any, serve_app: Any, site: Site) -> None:
    refresh = '<html><head><meta http-equiv="refresh" content="0; url=/next"></head></html>'
    slow = '<html><head><meta http-equiv="refresh" content="500; url=/never"></head></html>'
    routes = {"/": site.handler(refresh), "/next": site.handler(links("/slow")),
              "/slow": site.handler(slow), "/never": site.handler("never")}
    async with serve_app(routes) as base:
        result, spider = await crawl(Pages, start_urls=[base + "/"],
                                     settings={"obey_robots": False})
    assert [r.url.rsplit("/", 1)[-1] for r in spider.seen] == ["next", "slow"]
    assert site.seen("/never") == 0
    assert result.stats["redirects/meta_refresh"] == 1


async def test_per_request_dont_retry_and_dont_redirect(crawl: Any, serve_app: Any,
                                                        site: Site) -> None:
    class Spider(Pages):
        handle_httpstatus_list = [302, 503]

        def start_requests(self) -> Any:
            yield acrawl.Request(self.base + "/busy", meta={"dont_retry": True},
                                 errback=self.failed)
            yield acrawl.Request(self.base + "/moved", meta={"dont_redirect": True})

    routes = {"/busy": site.handler("busy", status=503),
              "/moved": site.handler("", status=302, headers={"Location": "/x"}),
              "/x": site.handler("x")}
    async with serve_app(routes) as base:
        _, spider = await crawl(Spider, base=base, settings={"obey_robots": False})
    assert site.seen("/busy") == 1 and site.seen("/x") == 0
    assert sorted(r.status for r in spider.seen) == [302, 503]
    assert not any(isinstance(f.exception, HttpError) for f in spider.failures)
