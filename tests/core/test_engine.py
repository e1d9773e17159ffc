"""The engine, driven end to end through ``Crawler.create(...).crawl()`` against local servers."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web
from w3lib.url import canonicalize_url

from acrawl import testing as kit
from acrawl.demo.site import LinkSite, ShopSite, serve
from acrawl.errors import ConnectError, HttpError, TooManyRedirects
from acrawl.http import Failure, Link, Request, Response
from acrawl.spider import Spider
from acrawl.testing import crawl_async

#: converted to the testing kit (acrawl_site + crawl_async): as the ``crawl`` fixture sets it
KIT = {"timeout": 10}


class Recorder:
    """Counts and timestamps what a custom app served (robots.txt excluded)."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.order: list[str] = []
        self.times: dict[str, list[float]] = {}
        self.requests: dict[str, list[web.Request]] = {}
        self.bodies: dict[str, list[bytes]] = {}

    async def note(self, request: web.Request) -> None:
        key = request.path_qs
        self.hits[key] += 1
        self.order.append(key)
        self.times.setdefault(key, []).append(time.monotonic())
        self.requests.setdefault(key, []).append(request)
        self.bodies.setdefault(key, []).append(await request.read())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def pages(rec: Recorder, page: Any, site: dict[str, Any]) -> dict[str, Any]:
    """Routes for ``{path: html_body_or_handler}``; bodies are served as HTML and recorded."""
    routes = {}
    for path, what in site.items():
        if callable(what):
            routes[path] = what
            continue

        async def handler(request: web.Request, body: str = what) -> web.Response:
            await rec.note(request)
            return page(body)

        routes[path] = handler
    return routes


def redirect(rec: Recorder, location: str, status: int = 302) -> Any:
    """A handler redirecting to ``location`` (``{host}`` is this server's host:port)."""

    async def handler(request: web.Request) -> web.Response:
        await rec.note(request)
        return web.Response(status=status,
                            headers={"Location": location.format(host=request.host)})

    return handler


# -- spiders ---------------------------------------------------------------------------------------


class ShopSpider(Spider):
    name = "shop"

    async def parse(self, response: Response) -> Any:
        if "/product/" in response.url:
            yield {"url": response.url, "title": response.css("h1.title::text").get(),
                   "sku": response.css(".sku::text").get()}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href)


class RecordingSpider(Spider):
    """Records every callback/errback call; follows nothing unless told."""

    name = "recording"

    def __init__(self, **kw: Any) -> None:
        self.seen: list[Response] = []
        self.failures: list[Failure] = []
        super().__init__(**kw)

    def parse(self, response: Response) -> Any:
        self.seen.append(response)
        yield {"url": response.url, "status": response.status}

    def on_error(self, failure: Failure) -> Any:
        self.failures.append(failure)
        yield {"failed": failure.request.url}


# -- the shop: every product exactly once ------------------------------------------------------


async def test_every_product_itemized_exactly_once(crawl: Any, tmp_path: Path) -> None:
    site = ShopSite()
    out = tmp_path / "items.jsonl"
    async with await serve(site) as served:
        base = served.base_url
        result, _ = await crawl(ShopSpider, start_urls=[base + "/"], outputs=[str(out)],
                                settings={"concurrency": 8})
        hits = Counter(served.hits)
    assert result.reason == "finished"
    products = site.product_urls(base)
    items = read_jsonl(out)
    assert len(items) == len(products) == result.stats["items"]
    assert {canonicalize_url(i["url"]) for i in items} == products
    by_url = {canonicalize_url(i["url"]): i for i in items}
    for pid in (1, 57, 120):
        expected = site.product(pid)
        item = by_url[f"{base}/product/{pid}"]
        assert (item["title"], item["sku"]) == (expected["title"], expected["sku"])
    robots = f"{base}/robots.txt"
    assert hits.pop(robots) == 1
    assert set(hits) == site.page_urls(base)
    assert set(hits.values()) == {1}, [u for u, n in hits.items() if n > 1]
    assert result.stats["pages"] == len(site.page_urls(base))
    assert result.stats["dropped/duplicate"] > 0
    assert result.errors == 0


# -- callback shapes and item types ----------------------------------------------------------


@attrs.define
class AttrsItem:
    kind: str
    tags: list[str] = attrs.Factory(list)


@dataclasses.dataclass
class DataItem:
    kind: str
    n: int = 0


class KindsSpider(Spider):
    name = "kinds"

    def start_requests(self) -> Any:
        base = self.base
        yield Request(base + "/list", callback=self.as_list)
        yield Request(base + "/gen", callback=self.as_generator)
        yield Request(base + "/coro", callback=self.as_coroutine)
        yield Request(base + "/agen", callback=self.as_async_generator)
        yield Request(base + "/single", callback=self.as_single)
        yield Request(base + "/none", callback="as_none")  # a method name works too

    def as_list(self, response: Response) -> list[Any]:
        return [{"kind": "list"}, response.follow("/from-list", callback=self.as_single)]

    def as_generator(self, response: Response) -> Any:
        yield DataItem("generator", 2)
        yield None

    async def as_coroutine(self, response: Response) -> Any:
        await asyncio.sleep(0)
        return AttrsItem("coroutine", ["a", "b"])

    async def as_async_generator(self, response: Response) -> Any:
        await asyncio.sleep(0)
        yield {"kind": "async generator"}
        yield response.follow("/from-agen", callback=self.as_single)

    def as_single(self, response: Response) -> Any:
        return {"kind": "single", "path": response.url.rsplit("/", 1)[1]}

    def as_none(self, response: Response) -> None:
        self.none_called = True


async def test_callback_shapes_and_item_types(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder, tmp_path: Path
) -> None:
    paths = ["/list", "/gen", "/coro", "/agen", "/single", "/none", "/from-list", "/from-agen"]
    out = tmp_path / "out.jsonl"
    async with serve_app(pages(rec, page, dict.fromkeys(paths, "x"))) as base:
        result, spider = await crawl(KindsSpider, base=base, outputs=[str(out)])
    assert dict(rec.hits) == dict.fromkeys(paths, 1)
    items = read_jsonl(out)

    def key(item: dict[str, Any]) -> str:
        return json.dumps(item, sort_keys=True)

    assert sorted(items, key=key) == sorted([
        {"kind": "list"},
        {"kind": "generator", "n": 2},
        {"kind": "coroutine", "tags": ["a", "b"]},
        {"kind": "async generator"},
        {"kind": "single", "path": "single"},
        {"kind": "single", "path": "from-list"},
        {"kind": "single", "path": "from-agen"},
    ], key=key)
    assert spider.none_called is True
    assert result.stats["items"] == 7
    assert result.errors == 0


class RecordingSink:
    def __init__(self) -> None:
        self.batches: list[list[Any]] = []
        self.opened = self.closed = False

    async def open(self) -> None:
        self.opened = True

    async def write(self, items: list[Any]) -> None:
        self.batches.append(list(items))

    async def close(self) -> None:
        self.closed = True


async def test_sinks_receive_attrs_and_dataclass_items_as_dicts(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    from acrawl import hookimpl

    sink = RecordingSink()

    class SinkSpider(RecordingSpider):
        @hookimpl
        def acrawl_open_sink(self, uri: str) -> Any:
            return sink if uri == "memory://" else None

        def parse(self, response: Response) -> Any:
            yield AttrsItem("a", ["t"])
            yield DataItem("d", 3)
            yield {"kind": "dict"}

    async with serve_app(pages(rec, page, {"/": "x"})) as base:
        await crawl(SinkSpider, start_urls=[base + "/"], outputs=["memory://"])
    items = [i for batch in sink.batches for i in batch]
    assert items == [{"kind": "a", "tags": ["t"]}, {"kind": "d", "n": 3}, {"kind": "dict"}]
    assert all(type(i) is dict for i in items)
    assert sink.opened and sink.closed


# -- errors in callbacks -------------------------------------------------------------------------


class BadOutputSpider(RecordingSpider):
    def parse(self, response: Response) -> Any:
        self.seen.append(response)
        if response.url.endswith("/"):
            yield 42
            yield "a string is not an item"
            yield response  # acrawl's own attrs classes are no items
            yield response.links()[0] if response.links() else Link("http://a.test/")
            yield {"ok": 1}
            yield response.follow("/next")
        else:
            yield {"ok": 2}


async def test_unsupported_output_is_counted_and_crawl_continues(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    async with serve_app(pages(rec, page, {"/": "x", "/next": "y"})) as base:
        result, _ = await crawl(BadOutputSpider, start_urls=[base + "/"])
    assert result.stats["errors/output"] == 4
    assert result.stats["items"] == 2
    assert rec.hits["/next"] == 1
    assert result.reason == "finished"
    messages = [r.getMessage() for r in caplog.records]
    assert any("BadOutputSpider.parse" in m and "int" in m for m in messages), messages


class RaisingSpider(RecordingSpider):
    def parse(self, response: Response) -> Any:
        self.seen.append(response)
        if response.url.endswith("/"):
            yield {"before": 1}
            yield response.follow("/after")
            raise RuntimeError("spider bug")
        yield {"page": "after"}

    async def coro(self, response: Response) -> Any:
        raise KeyError("in a coroutine")


async def test_callback_exception_is_counted_and_crawl_continues(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    out = tmp_path / "items.jsonl"
    caplog.set_level(logging.ERROR)

    class Spider2(RaisingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/")
            yield Request(self.base + "/c", callback=self.coro)

    async with serve_app(pages(rec, page, {"/": "x", "/after": "y", "/c": "z"})) as base:
        result, _ = await crawl(Spider2, base=base, outputs=[str(out)])
    assert result.stats["errors/callback"] == 2
    assert result.reason == "finished"
    assert rec.hits["/after"] == 1  # the request yielded before the exception went out
    assert sorted(map(json.dumps, read_jsonl(out))) == sorted(
        map(json.dumps, [{"before": 1}, {"page": "after"}]))
    with_tb = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], RuntimeError)]
    assert with_tb, "the callback's exception is logged with its traceback"


async def test_unknown_callback_name_is_an_error_not_a_crash(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/a", callback="no_such_method")
            yield Request(self.base + "/b")

    async with serve_app(pages(rec, page, {"/a": "x", "/b": "y"})) as base:
        result, spider = await crawl(Spider2, base=base)
    assert result.stats["errors/callback"] == 1
    assert [r.url for r in spider.seen] == [base + "/b"]


# -- errbacks and HTTP status handling -----------------------------------------------------------


async def test_errback_gets_failure_on_connection_refused(crawl: Any, closed_port: int) -> None:
    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(f"http://127.0.0.1:{closed_port}/x", errback=self.on_error,
                          meta={"tag": 1})

    result, spider = await crawl(Spider2, settings={"retry_times": 1, "obey_robots": False})
    assert len(spider.failures) == 1
    failure = spider.failures[0]
    assert isinstance(failure, Failure)
    assert isinstance(failure.exception, ConnectError)
    assert failure.request.url == f"http://127.0.0.1:{closed_port}/x"
    assert failure.request.meta["tag"] == 1
    assert failure.value is failure.exception
    assert spider.seen == []
    assert result.stats["retries"] == 1
    assert result.stats["failed/ConnectError"] == 1
    assert result.stats["items"] == 1  # what the errback yielded
    assert result.reason == "finished"


async def test_non_2xx_not_passed_to_callback(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    async def not_found(request: web.Request) -> web.Response:
        await rec.note(request)
        return web.Response(status=404, text="nope", content_type="text/html")

    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/missing")
            yield Request(self.base + "/missing?eb", errback=self.on_error)
            yield Request(self.base + "/missing?handled",
                          meta={"handle_httpstatus_list": [404]})
            yield Request(self.base + "/ok")

    async with serve_app({"/missing": not_found, **pages(rec, page, {"/ok": "x"})}) as base:
        result, spider = await crawl(Spider2, base=base)
    assert sorted((r.url.rsplit("/", 1)[1], r.status) for r in spider.seen) == [
        ("missing?handled", 404), ("ok", 200)]
    assert len(spider.failures) == 1
    exc = spider.failures[0].exception
    assert isinstance(exc, HttpError) and exc.status == 404
    assert spider.failures[0].request.url == base + "/missing?eb"
    assert result.stats["http_ignored/404"] == 2
    assert result.stats["http/404"] == 3


async def test_spider_handle_httpstatus_list(
    crawl: Any, serve_app: Any, rec: Recorder
) -> None:
    async def gone(request: web.Request) -> web.Response:
        await rec.note(request)
        return web.Response(status=410, text="gone")

    class Spider2(RecordingSpider):
        handle_httpstatus_list = [410]

    async with serve_app({"/": gone}) as base:
        _, spider = await crawl(Spider2, start_urls=[base + "/"])
    assert [r.status for r in spider.seen] == [410]


async def test_errback_exception_is_counted(crawl: Any, serve_app: Any, rec: Recorder) -> None:
    async def not_found(request: web.Request) -> web.Response:
        await rec.note(request)
        return web.Response(status=404)

    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/x", errback=self.broken)
            yield Request(self.base + "/y", errback=self.on_error)

        def broken(self, failure: Failure) -> None:
            raise RuntimeError("errback bug")

    async with serve_app({"/x": not_found, "/y": not_found}) as base:
        result, spider = await crawl(Spider2, base=base)
    assert result.stats["errors/callback"] == 1
    assert [f.request.url for f in spider.failures] == [base + "/y"]
    assert result.reason == "finished"


# -- start requests --------------------------------------------------------------------------------


async def test_start_requests_errors_and_bad_values(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/1")
            yield self.base + "/2"  # a plain URL string is accepted
            yield 42  # not a request: counted, skipped
            raise RuntimeError("start_requests bug")

    async with serve_app(pages(rec, page, {"/1": "x", "/2": "y"})) as base:
        result, _ = await crawl(Spider2, base=base)
    assert dict(rec.hits) == {"/1": 1, "/2": 1}
    assert result.stats["errors/output"] == 1
    assert result.stats["errors/callback"] == 1
    assert result.reason == "finished"


# -- scheduling: dedup, filters, schemes, depth -------------------------------------------------


async def test_start_requests_and_links_back_are_deduplicated(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    site = {
        "/": '<a href="/">self</a><a href="/#top">frag</a><a href="/a">a</a><a href="/a?">a?</a>',
        "/a": '<a href="/">home</a><a href="http://127.0.0.1:PORT/">abs</a><a href="/a#x">a</a>',
    }

    class Follow(RecordingSpider):
        def parse(self, response: Response) -> Any:
            self.seen.append(response)
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href.replace("PORT", str(self.port)))

    async with serve_app(pages(rec, page, site)) as base:
        result, _ = await crawl(Follow, start_urls=[base + "/", base + "/", base],
                                port=int(base.rsplit(":", 1)[1]))
    assert dict(rec.hits) == {"/": 1, "/a": 1}
    assert result.stats["pages"] == 2
    assert result.stats["dropped/duplicate"] >= 7


async def test_dont_filter_refetches(crawl: Any, serve_app: Any, page: Any, rec: Recorder) -> None:
    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/")
            yield Request(self.base + "/", dont_filter=True)

    async with serve_app(pages(rec, page, {"/": "x"})) as base:
        await crawl(Spider2, base=base)
    assert rec.hits["/"] == 2


async def test_non_http_links_dropped_and_counted(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    class Spider2(RecordingSpider):
        def parse(self, response: Response) -> Any:
            self.seen.append(response)
            yield response.follow("mailto:someone@example.com")
            yield response.follow("javascript:void(0)")
            yield response.follow("tel:+123456")
            yield Request("ftp://127.0.0.1/file")
            yield Request("data:text/plain,hi")
            yield Request("http:///no-host")
            yield response.follow("http://[broken")
            yield response.follow("/fine") if response.url.endswith("/") else None

    async with serve_app(pages(rec, page, {"/": "x", "/fine": "y"})) as base:
        result, _ = await crawl(Spider2, start_urls=[base + "/"])
    assert result.stats["dropped/scheme"] == 10
    assert result.stats["dropped/invalid_url"] == 4
    assert result.errors == 0
    assert dict(rec.hits) == {"/": 1, "/fine": 1}


async def test_follow_links_drops_and_counts_non_http_links(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    # CONTRACT: "file:, ftp:, data:, javascript:, mailto: links are dropped and counted" —
    # also when the engine follows response.links() itself.
    body = ('<a href="mailto:a@b.c">m</a><a href="javascript:void(0)">j</a>'
            '<a href="ftp://127.0.0.1/f">f</a><a href="/next">n</a>')

    class Generic(RecordingSpider):
        follow_links = True

    async with serve_app(pages(rec, page, {"/": body, "/next": "end"})) as base:
        result, _ = await crawl(Generic, start_urls=[base + "/"])
    assert dict(rec.hits) == {"/": 1, "/next": 1}
    assert result.stats["dropped/scheme"] == 3


async def test_allowed_hosts_filter(crawl: Any, serve_app: Any, page: Any, rec: Recorder) -> None:
    class Spider2(RecordingSpider):
        allowed_hosts = ["127.0.0.1"]

        def parse(self, response: Response) -> Any:
            self.seen.append(response)
            if response.url.endswith("/"):
                yield response.follow(f"http://localhost:{self.port}/offhost")
                yield response.follow("http://elsewhere.invalid/x")
                yield response.follow("/onhost")

    async with serve_app(pages(rec, page, {"/": "x", "/onhost": "y", "/offhost": "z"})) as base:
        result, _ = await crawl(Spider2, start_urls=[base + "/"],
                                port=int(base.rsplit(":", 1)[1]))
    assert dict(rec.hits) == {"/": 1, "/onhost": 1}
    assert result.stats["filtered/allowed_hosts"] == 2


async def test_scrapys_allowed_domains_is_the_host_filter(crawl: Any, serve_app: Any, page: Any,
                                                         rec: Recorder) -> None:
    """A ported spider's ``allowed_domains`` filters as Scrapy's does (it was refused)."""
    class Ported(RecordingSpider):
        allowed_domains = ["127.0.0.1"]

        def parse(self, response: Response) -> Any:
            self.seen.append(response)
            if response.url.endswith("/"):
                yield response.follow(f"http://localhost:{self.port}/offhost")
                yield response.follow("/onhost")

    async with serve_app(pages(rec, page, {"/": "x", "/onhost": "y", "/offhost": "z"})) as base:
        result, spider = await crawl(Ported, start_urls=[base + "/"],
                                     port=int(base.rsplit(":", 1)[1]))
    assert dict(rec.hits) == {"/": 1, "/onhost": 1}
    assert result.stats["filtered/allowed_hosts"] == 1
    assert spider.allowed_hosts == ["127.0.0.1"]


async def test_max_depth(crawl: Any, serve_app: Any, page: Any, rec: Recorder) -> None:
    site = {f"/n/{i}": f'<a href="/n/{i + 1}">next</a>' for i in range(6)}

    class Chain(RecordingSpider):
        def parse(self, response: Response) -> Any:
            self.seen.append(response)
            yield {"depth": response.request.depth}
            yield from response.follow_all(css="a")

    async with serve_app(pages(rec, page, site)) as base:
        result, spider = await crawl(Chain, start_urls=[base + "/n/0"],
                                     settings={"max_depth": 2})
    assert dict(rec.hits) == {"/n/0": 1, "/n/1": 1, "/n/2": 1}
    assert [r.request.depth for r in spider.seen] == [0, 1, 2]
    assert [r.request.referer for r in spider.seen][1:] == [base + "/n/0", base + "/n/1"]
    assert rec.requests["/n/2"][0].headers.get("Referer") == base + "/n/1"
    assert result.stats["dropped/max_depth"] == 1


@pytest.mark.parametrize(("max_pages", "concurrency"), [(10, 8), (1, 16), (25, 4)])
async def test_max_pages_is_exact(
    crawl: Any, tmp_path: Path, max_pages: int, concurrency: int
) -> None:
    out = tmp_path / "items.jsonl"

    class Counting(ShopSpider):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.calls = 0

        async def parse(self, response: Response) -> Any:
            self.calls += 1
            yield {"url": response.url}
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)

    async with await serve(ShopSite(latency=0.01)) as served:
        result, spider = await crawl(Counting, start_urls=[served.base_url + "/"],
                                     outputs=[str(out)],
                                     settings={"max_pages": max_pages,
                                               "concurrency": concurrency})
    assert spider.calls == max_pages
    assert len(read_jsonl(out)) == max_pages
    assert result.stats["pages"] == max_pages
    assert result.stats["items"] == max_pages
    assert result.stats["dropped/max_pages"] > 0
    assert result.reason == "max_pages"


async def test_generic_crawl_of_link_site(crawl: Any) -> None:
    site = LinkSite(pages=300)

    class Generic(Spider):
        name = "generic"
        follow_links = True
        allowed_hosts = ["127.0.0.1"]

        def parse(self, response: Response) -> Any:
            return {"url": response.url}

    async with await serve(site) as served:
        base = served.base_url
        result, _ = await crawl(Generic, start_urls=[base + "/"], outputs=[],
                                settings={"concurrency": 16})
        hits = Counter(served.hits)
    assert hits.pop(base + "/robots.txt") == 1
    assert set(hits) == site.page_urls(base)
    assert set(hits.values()) == {1}
    assert result.stats["pages"] == result.stats["items"] == 300
    assert result.stats["filtered/allowed_hosts"] > 0  # the off-host links
    assert result.errors == 0


async def test_cb_kwargs_and_meta(crawl: Any, serve_app: Any, page: Any, rec: Recorder) -> None:
    got: list[tuple[Any, ...]] = []

    class Spider2(Spider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/a", callback=self.detail, cb_kwargs={"x": 1, "y": "z"},
                          meta={"m": "v"})
            yield Request(self.base + "/r", callback=self.detail, cb_kwargs={"x": 2, "y": "r"},
                          meta={"m": "w"})

        def detail(self, response: Response, x: int, y: str) -> None:
            got.append((response.url.rsplit("/", 1)[1], x, y, response.meta["m"],
                        response.request.cb_kwargs))

    async with serve_app({**pages(rec, page, {"/a": "x"}), "/r": redirect(rec, "/a?r")}) as base:
        await crawl(Spider2, base=base)
    assert sorted(got) == [("a", 1, "z", "v", {"x": 1, "y": "z"}),
                           ("a?r", 2, "r", "w", {"x": 2, "y": "r"})]


async def test_async_start_requests(crawl: Any, serve_app: Any, page: Any, rec: Recorder) -> None:
    class Spider2(RecordingSpider):
        async def start_requests(self) -> Any:
            for p in ("/1", "/2"):
                await asyncio.sleep(0)
                yield Request(self.base + p)

    async with serve_app(pages(rec, page, {"/1": "x", "/2": "y"})) as base:
        _, spider = await crawl(Spider2, base=base)
    assert sorted(r.url for r in spider.seen) == [base + "/1", base + "/2"]


async def test_priorities_respected(crawl: Any, serve_app: Any, page: Any, rec: Recorder) -> None:
    class Prio(RecordingSpider):
        def parse(self, response: Response) -> Any:
            if response.url.endswith("/"):
                yield response.follow("/neg", priority=-5)
                for i in range(4):
                    yield response.follow(f"/low/{i}")
                yield response.follow("/high", priority=10)

    site = dict.fromkeys(["/", "/neg", "/high", *(f"/low/{i}" for i in range(4))], "x")
    async with serve_app(pages(rec, page, site)) as base:
        await crawl(Prio, start_urls=[base + "/"], settings={"concurrency": 1})
    assert rec.order == ["/", "/high", "/low/0", "/low/1", "/low/2", "/low/3", "/neg"]


# -- robots.txt ----------------------------------------------------------------------------------


@pytest.mark.parametrize("obey", [True, False])
async def test_robots_txt_disallow(acrawl_site: Any, obey: bool) -> None:
    site = acrawl_site({
        "/": '<a href="/private/a">p</a><a href="/private">p</a><a href="/public">ok</a>',
        "/private/a": "secret", "/private": "secret", "/public": "ok",
    }, robots="User-agent: *\nDisallow: /private\n")

    class Follow(RecordingSpider):
        def parse(self, response: Response) -> Any:
            yield from response.follow_all(css="a")

    record = await crawl_async(Follow, start_urls=[site.url("/")], project=False,
                               settings={**KIT, "obey_robots": obey, "user_agent": "testbot/1"})
    pages = Counter(h.path for h in site.log if h.path != "/robots.txt")
    robots_agents = [h.headers.get("User-Agent") for h in site.log if h.path == "/robots.txt"]
    if obey:
        assert dict(pages) == {"/": 1, "/public": 1}
        assert record.stats["filtered/robots"] == 2
        assert sorted(record.dropped_for("filtered/robots")) == [site.url("/private"),
                                                                  site.url("/private/a")]
        assert robots_agents == ["testbot/1"]
    else:
        assert dict(pages) == {"/": 1, "/public": 1, "/private": 1, "/private/a": 1}
        assert robots_agents == []


async def test_a_request_robots_txt_refuses_reaches_its_errback(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    """As Scrapy's IgnoreRequest: the errback learns its request was not fetched, and why."""
    from acrawl.errors import RequestIgnored

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow: /private\n")

    class Errbacks(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/private/x", errback=self.failed)
            yield Request(self.base + "/private/y")  # no errback: filtered, as before
            yield Request(self.base + "/public", errback=self.failed)

        def failed(self, failure: Failure) -> Any:
            self.failures.append(failure)
            yield {"ignored": failure.request.url}

    async with serve_app({"/robots.txt": robots,
                          **pages(rec, page, {"/public": "ok"})}) as base:
        result, spider = await crawl(Errbacks, base=base)
    assert [f.request.url for f in spider.failures] == [base + "/private/x"]
    exc = spider.failures[0].exception
    assert isinstance(exc, RequestIgnored) and exc.reason == "robots"
    assert result.stats["filtered/robots"] == 2
    assert dict(rec.hits) == {"/public": 1}


async def test_robots_crawl_delay_spaces_requests(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nCrawl-delay: 0.5\n")

    site = dict.fromkeys(["/1", "/2", "/3"], "x")

    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            for p in site:
                yield Request(self.base + p)

    async with serve_app({"/robots.txt": robots, **pages(rec, page, site)}) as base:
        await crawl(Spider2, base=base, settings={"concurrency": 4})
    starts = sorted(t for times in rec.times.values() for t in times)
    assert len(starts) == 3
    # CONTRACT: "robots.txt obeyed (with Crawl-delay)" — from the first request to the host
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(starts)), starts


# -- redirects -----------------------------------------------------------------------------------


async def test_redirect_chain_followed(acrawl_site: Any) -> None:
    site = acrawl_site({"/r1": kit.redirect("/r2", status=301), "/r2": kit.redirect("r3"),
                        "/final": "<h1>done</h1>"})
    site.pages["/r3"] = kit.redirect(site.url("/final"), status=307)
    record = await crawl_async(RecordingSpider, start_urls=[site.url("/r1")], settings=KIT,
                               project=False)
    assert record.urls == [site.url("/final")]
    resp = record.responses[0]
    assert resp.status == 200
    assert resp.meta["redirect_urls"] == [site.url("/r1"), site.url("/r2"), site.url("/r3")]
    assert resp.request.redirects == 3
    assert Counter(site.paths) == {"/robots.txt": 1, "/r1": 1, "/r2": 1, "/r3": 1, "/final": 1}
    assert record.stats["redirects"] == 3
    assert record.stats["pages"] == 1


async def test_redirect_loop_detected(crawl: Any, serve_app: Any, rec: Recorder) -> None:
    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/a", errback=self.on_error)

    routes = {"/a": redirect(rec, "/b"), "/b": redirect(rec, "/a#again")}
    async with serve_app(routes) as base:
        result, spider = await crawl(Spider2, base=base)
    assert dict(rec.hits) == {"/a": 1, "/b": 1}
    assert len(spider.failures) == 1
    assert isinstance(spider.failures[0].exception, TooManyRedirects)
    assert spider.failures[0].request.url == base + "/b"
    assert result.stats["failed/TooManyRedirects"] == 1
    assert result.reason == "finished"


async def test_max_redirects_exceeded(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/r1", errback=self.on_error)

    routes = {"/r1": redirect(rec, "/r2"), "/r2": redirect(rec, "/r3"),
              "/r3": redirect(rec, "/final"), **pages(rec, page, {"/final": "x"})}
    async with serve_app(routes) as base:
        _, spider = await crawl(Spider2, base=base, settings={"max_redirects": 2})
    assert dict(rec.hits) == {"/r1": 1, "/r2": 1, "/r3": 1}
    assert spider.seen == []
    assert len(spider.failures) == 1
    assert isinstance(spider.failures[0].exception, TooManyRedirects)


async def test_redirect_target_passes_filters_and_dedup(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    class Spider2(RecordingSpider):
        allowed_hosts = ["127.0.0.1"]

        def start_requests(self) -> Any:
            for p in ("/", "/to-home", "/to-offhost", "/to-mailto"):
                yield Request(self.base + p)

    routes = {
        **pages(rec, page, {"/": "home", "/secret": "no"}),
        "/to-home": redirect(rec, "/#frag"),
        "/to-mailto": redirect(rec, "mailto:x@example.com"),
    }

    async def to_offhost(request: web.Request) -> web.Response:
        await rec.note(request)
        port = request.host.rsplit(":", 1)[1]
        return web.Response(status=302, headers={"Location": f"http://localhost:{port}/secret"})

    routes["/to-offhost"] = to_offhost
    async with serve_app(routes) as base:
        result, spider = await crawl(Spider2, base=base)
    assert dict(rec.hits) == {"/": 1, "/to-home": 1, "/to-offhost": 1, "/to-mailto": 1}
    assert [r.url for r in spider.seen] == [base + "/"]
    assert result.stats["filtered/allowed_hosts"] == 1
    assert result.stats["dropped/scheme"] == 1
    assert result.stats["dropped/duplicate"] == 1


async def test_post_redirected_with_307_stays_post(
    crawl: Any, serve_app: Any, rec: Recorder
) -> None:
    async def done(request: web.Request) -> web.Response:
        await rec.note(request)
        return web.Response(text="ok", content_type="text/html")

    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/form", method="POST", body=b"a=1")

    async with serve_app({"/form": redirect(rec, "/done", 307), "/done": done}) as base:
        await crawl(Spider2, base=base)
    assert rec.requests["/done"][0].method == "POST"
    assert rec.bodies["/done"] == [b"a=1"]


async def test_post_redirected_with_303_becomes_get_without_body(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/form", method="POST", body="a=1",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})

    routes = {"/form": redirect(rec, "/done", 303), **pages(rec, page, {"/done": "ok"})}
    async with serve_app(routes) as base:
        _, spider = await crawl(Spider2, base=base)
    assert rec.requests["/form"][0].method == "POST"
    assert rec.bodies["/form"] == [b"a=1"]
    done = rec.requests["/done"][0]
    assert done.method == "GET"
    assert rec.bodies["/done"] == [b""]
    assert "Content-Type" not in done.headers
    assert spider.seen[0].request.method == "GET"
    assert spider.seen[0].request.body is None


async def test_credentials_dropped_on_cross_origin_redirect(
    crawl: Any, serve_app: Any, page: Any
) -> None:
    rec_a, rec_b = Recorder(), Recorder()
    auth = {"Authorization": "Bearer s3cret", "Cookie": "session=1"}
    async with serve_app(pages(rec_b, page, {"/land": "b"})) as other:
        routes = {"/same": redirect(rec_a, "/land"), "/cross": redirect(rec_a, other + "/land"),
                  **pages(rec_a, page, {"/land": "a"})}
        async with serve_app(routes) as base:

            class Spider2(RecordingSpider):
                def start_requests(self) -> Any:
                    yield Request(base + "/same", headers=auth)
                    yield Request(base + "/cross", headers=auth)

            await crawl(Spider2, allowed_hosts=["127.0.0.1"])
    same = rec_a.requests["/land"][0].headers
    cross = rec_b.requests["/land"][0].headers
    assert same.get("Authorization") == "Bearer s3cret"
    assert "Authorization" not in cross
    assert "session=1" not in cross.get("Cookie", "")


# -- retries -------------------------------------------------------------------------------------


def flaky(rec: Recorder, failures: int, status: int = 503,
          headers: dict[str, str] | None = None) -> Any:
    """Answers ``status`` (with ``headers``) ``failures`` times, then 200."""

    async def handler(request: web.Request) -> web.Response:
        await rec.note(request)
        if rec.hits[request.path_qs] <= failures:
            return web.Response(status=status, text="busy", headers=headers or {})
        return web.Response(text="<p>ok</p>", content_type="text/html")

    return handler


async def test_retry_on_503_then_success(acrawl_site: Any) -> None:
    site = acrawl_site({"/": kit.flaky("<p>ok</p>", failures=2, status=503, retry_after=0)})
    record = await crawl_async(RecordingSpider, start_urls=[site.url("/")], settings=KIT,
                               project=False)
    assert site.hits("/") == 3
    assert [r.status for r in record.responses] == [200]
    assert record.responses[0].request.retries == 2
    assert record.stats["retries"] == 2
    assert record.stats["http/503"] == 2
    assert record.stats["items"] == 1


async def test_retries_exhausted_gives_http_error(acrawl_site: Any) -> None:
    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/", errback=self.on_error)

    site = acrawl_site({"/": kit.flaky(failures=99, status=503, retry_after=0)})
    record = await crawl_async(Spider2, base=site.base_url, settings={**KIT, "retry_times": 1},
                               project=False)
    assert site.hits("/") == 2
    assert record.responses == []
    assert record.items == [{"failed": site.url("/")}]  # what the errback yielded
    [exc] = record.errors
    assert isinstance(exc, HttpError) and exc.status == 503
    assert record.stats["retries"] == 1


async def test_no_retry_when_retry_times_is_zero(
    crawl: Any, serve_app: Any, rec: Recorder
) -> None:
    async with serve_app({"/": flaky(rec, 1, 500)}) as base:
        result, spider = await crawl(RecordingSpider, start_urls=[base + "/"],
                                     settings={"retry_times": 0})
    assert rec.hits["/"] == 1
    assert spider.seen == []
    assert result.stats["retries"] == 0


async def test_retry_backoff_without_retry_after(
    crawl: Any, serve_app: Any, rec: Recorder
) -> None:
    async with serve_app({"/": flaky(rec, 1, 500)}) as base:
        result, spider = await crawl(RecordingSpider, start_urls=[base + "/"])
    t0, t1 = rec.times["/"]
    assert t1 - t0 >= 0.2  # 0.5 s * jitter in [0.5, 1.5]
    assert [r.status for r in spider.seen] == [200]
    assert result.stats["retries/http_500"] == 1


async def test_retry_after_is_honoured(acrawl_site: Any) -> None:
    site = acrawl_site({"/": kit.flaky(failures=1, status=429, retry_after=1)})
    record = await crawl_async(RecordingSpider, start_urls=[site.url("/")], settings=KIT,
                               project=False)
    t0, t1 = (h.time for h in site.log if h.path == "/")
    assert t1 - t0 >= 0.9
    assert [r.status for r in record.responses] == [200]
    assert record.stats["retries"] == 1


async def test_retry_after_does_not_block_other_requests(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    """A 503 with Retry-After pauses its host -- the retry and the host's other requests wait
    -- but not the crawl: the one download slot goes to another host meanwhile."""
    paused = {"/slow": flaky(rec, 1, 503, {"Retry-After": "1"}),
              **pages(rec, page, {"/same": "x"})}

    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/slow", priority=1)
            yield Request(self.base + "/same")
            yield Request(self.other + "/other")

    async with serve_app(paused) as base, serve_app(pages(rec, page, {"/other": "x"})) as other:
        await crawl(Spider2, base=base, other=other, settings={"concurrency": 1})
    assert rec.order == ["/slow", "/other", "/slow", "/same"]
    assert rec.times["/other"][0] - rec.times["/slow"][0] < 0.9
    assert rec.times["/same"][0] - rec.times["/slow"][0] >= 0.9  # the host was paused


async def test_max_pages_does_not_wait_for_pending_retries(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    busy = {"/busy": flaky(rec, 99, 503, {"Retry-After": "5"})}  # (pauses its host 5 s)

    class Spider2(RecordingSpider):
        def start_requests(self) -> Any:
            yield Request(self.base + "/busy", priority=1)
            yield Request(self.other + "/")

    async with serve_app(busy) as base, serve_app(pages(rec, page, {"/": "x"})) as other:
        started = time.monotonic()
        result, spider = await crawl(Spider2, base=base, other=other,
                                     settings={"max_pages": 1})
        elapsed = time.monotonic() - started
    assert [r.url for r in spider.seen] == [other + "/"]
    assert result.reason == "max_pages"
    assert rec.hits["/busy"] == 1
    assert elapsed < 3


# -- sinks ---------------------------------------------------------------------------------------


async def test_jsonl_sink_matches_callback_items(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder, tmp_path: Path
) -> None:
    out = tmp_path / "sub" / "items.jsonl"
    produced: list[dict[str, Any]] = []

    class Spider2(Spider):
        def parse(self, response: Response) -> Any:
            for i in range(150):  # more than one batch (item_batch_size=100)
                item = {"i": i, "text": "café ✓", "nested": {"l": [i, None, True]}}
                produced.append(item)
                yield item

    async with serve_app(pages(rec, page, {"/": "x"})) as base:
        result, _ = await crawl(Spider2, start_urls=[base + "/"], outputs=[str(out)])
    assert read_jsonl(out) == produced
    assert result.stats["items"] == 150


# -- the main loop -------------------------------------------------------------------------------


async def test_engine_does_not_busy_wait_at_the_concurrency_cap(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    """With every slot busy on a slow page while another host waits out its download delay,
    the engine must sleep until a slot frees, not spin on a zero timeout."""

    async def slow(request: web.Request) -> web.Response:
        await rec.note(request)
        await asyncio.sleep(1.5)
        return page("slow")

    async with serve_app(pages(rec, page, {"/1": "a", "/2": "b"})) as fast, \
            serve_app({"/slow": slow}) as slow_base:

        class Spider2(RecordingSpider):
            def start_requests(self) -> Any:
                yield Request(fast + "/1", priority=10)
                yield Request(fast + "/2", priority=10)
                yield Request(slow_base + "/slow")

        cpu0, wall0 = time.process_time(), time.monotonic()
        _, spider = await crawl(Spider2, settings={"concurrency": 1, "download_delay": 0.1,
                                                   "obey_robots": False})
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    assert rec.order == ["/1", "/slow", "/2"]  # /2 waited for its delay, then for the slot
    assert len(spider.seen) == 3
    assert wall >= 1.5
    assert cpu < 0.4, f"{cpu:.2f}s of CPU in {wall:.2f}s of mostly idle waiting"


async def test_concurrency_bounds_downloads_not_callbacks(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder
) -> None:
    """``concurrency`` bounds downloads in flight. A page in its callback no longer holds a
    download slot, so the next download starts while it is processed; at most
    ``concurrency`` pages wait for or run their callbacks besides."""
    state = {"downloading": 0, "max_downloading": 0, "in_callback": 0, "max_in_callback": 0,
             "downloads_during_callbacks": 0}

    async def handler(request: web.Request) -> web.Response:
        await rec.note(request)
        state["downloading"] += 1
        state["max_downloading"] = max(state["max_downloading"], state["downloading"])
        if state["in_callback"]:
            state["downloads_during_callbacks"] += 1
        await asyncio.sleep(0.02)
        state["downloading"] -= 1
        return page("x")

    async with serve_app({"/{n}": handler}) as base:

        class SlowCallbacks(Spider):
            name = "slow_callbacks"

            def start_requests(self) -> Any:
                for n in range(24):
                    yield Request(f"{base}/{n}")

            async def parse(self, response: Response) -> Any:
                state["in_callback"] += 1
                state["max_in_callback"] = max(state["max_in_callback"], state["in_callback"])
                await asyncio.sleep(0.1)  # e.g. a callback awaiting a slow service
                state["in_callback"] -= 1
                yield {"url": response.url}

        result, _ = await crawl(SlowCallbacks, settings={"concurrency": 2,
                                                         "per_host_concurrency": 2,
                                                         "obey_robots": False})
    assert len(rec.hits) == 24 and result.stats["items"] == 24
    assert state["max_downloading"] == 2
    assert state["downloads_during_callbacks"] > 0
    assert 2 < state["max_in_callback"] <= 4  # callbacks overlap beyond 2, bounded by 2 x 2


# -- the item writer -----------------------------------------------------------------------------


class _ListSink:
    """Records each ``write``; refuses a batch holding an item with ``"bad"``, or any batch
    once ``broken``."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.broken = False

    async def open(self) -> None: ...

    async def write(self, items: list[dict[str, Any]]) -> None:
        if self.broken or any("bad" in item for item in items):
            raise ValueError("cannot encode")
        self.batches.append(list(items))

    async def close(self) -> None: ...


def _writer(sink: _ListSink, batch_size: int) -> tuple[Any, list[Any], list[Any], list[Any]]:
    from acrawl.core.writer import ItemWriter

    committed: list[Any] = []
    sink_errors: list[Any] = []
    bad: list[Any] = []

    async def commit(requests: list[Request], sinks: list[Any]) -> None:
        committed.extend(requests)

    writer = ItemWriter(sinks=[sink], batch_size=batch_size, commit=commit,
                        on_error=lambda s, exc: sink_errors.append(exc),
                        on_bad_item=lambda s, item, exc: bad.append(item))
    return writer, committed, sink_errors, bad


async def test_item_writer_batches_are_at_most_item_batch_size() -> None:
    sink = _ListSink()
    writer, committed, _, _ = _writer(sink, batch_size=4)
    await writer.add([{"i": i} for i in range(11)], Request("http://a.test/1"))  # one page
    await writer.add([{"i": 11}], None)
    await writer.flush()
    assert [len(b) for b in sink.batches] == [4, 4, 3, 1]
    assert [i["i"] for b in sink.batches for i in b] == list(range(12))
    assert [r.url for r in committed] == ["http://a.test/1"]


async def test_item_writer_drops_only_the_item_a_sink_refuses() -> None:
    sink = _ListSink()
    writer, committed, sink_errors, bad = _writer(sink, batch_size=100)
    items: list[dict[str, Any]] = [{"i": 0}, {"i": 1, "bad": True}, {"i": 2}]
    await writer.add(items, Request("http://a.test/1"))
    await writer.flush()
    assert [i["i"] for b in sink.batches for i in b] == [0, 2]
    assert bad == [items[1]] and sink_errors == []
    assert len(committed) == 1  # the page is done: its good items are written


async def test_item_writer_reports_a_broken_sink_once_not_per_item() -> None:
    sink = _ListSink()
    sink.broken = True
    writer, _, sink_errors, bad = _writer(sink, batch_size=100)
    await writer.add([{"i": i} for i in range(5)], None)
    await writer.flush()
    assert len(sink_errors) == 1 and bad == []


async def test_relative_request_urls_are_reported_and_crawled_pages_logged_at_debug(
    crawl: Any, serve_app: Any, page: Any, rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="acrawl")

    class Relative(RecordingSpider):
        def parse(self, response: Response) -> Any:
            for href in ("/a", "", "b.html", "c.html", "d.html"):
                yield Request(href)  # should have been response.follow(href)

    async with serve_app(pages(rec, page, {"/": "x"})) as base:
        result, _ = await crawl(Relative, start_urls=[base + "/"])
    assert result.stats["dropped/scheme"] == 5
    warned = [r.getMessage() for r in caplog.records if "has no scheme" in r.getMessage()]
    assert len(warned) == 3 and "'/a'" in warned[0] and "response.follow()" in warned[0]
    crawled = [r.getMessage() for r in caplog.records if r.getMessage().startswith("crawled")]
    assert crawled == [f"crawled (200) <GET {base}/> (referer: None)"]


async def test_spider_closed_gets_the_reason_as_in_scrapy(crawl: Any, serve_app: Any) -> None:
    """Scrapy's ``Spider.closed(reason)``, sync or async, once at the end; one that raises
    is the spider's error, counted."""
    reasons: list[tuple[str, str, int]] = []

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text='<a href="/a">a</a><a href="/b">b</a>',
                            content_type="text/html")

    class Closing(Spider):
        name = "closing"

        def parse(self, response: Response) -> Any:
            yield {"url": response.url}
            yield from response.follow_all(css="a")

        def closed(self, reason: str) -> None:
            reasons.append(("sync", reason, self.crawler.stats["pages"]))

    class AsyncClosing(Closing):
        async def closed(self, reason: str) -> None:
            reasons.append(("async", reason, self.crawler.stats["pages"]))

    class Broken(Closing):
        def closed(self, reason: str) -> None:
            raise RuntimeError("summary failed")

    async with serve_app({"/": handler, "/a": handler, "/b": handler}) as base:
        first, _ = await crawl(Closing, start_urls=[base + "/"],
                               settings={"obey_robots": False})
        second, _ = await crawl(AsyncClosing, start_urls=[base + "/"],
                                settings={"obey_robots": False, "max_pages": 1})
        broken, _ = await crawl(Broken, start_urls=[base + "/"],
                                settings={"obey_robots": False})
    assert reasons == [("sync", "finished", 3), ("async", "max_pages", 1)]
    assert first.errors == 0 and second.errors == 0
    assert broken.stats["errors/callback"] == 1 and broken.reason == "finished"
