"""``acrawl.CrawlSpider`` and ``acrawl.Rule`` against a small local site."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

import acrawl
from acrawl.crawler import Crawler
from acrawl.errors import ConfigError

# /            -> /cat/1/, /cat/2/, /item/1/, /about/
# /cat/N/      -> /item/N1/, /item/N2/, /cat/N/?page=2 (a category's second page)
# /item/X/     -> /cat/1/ (back), /item/X/reviews/
SITE = {
    "/": ["/cat/1/", "/cat/2/", "/item/1/", "/about/", "/missing/"],
    "/cat/1/": ["/item/11/", "/item/12/", "/cat/1/p2/"],
    "/cat/1/p2/": ["/item/13/"],
    "/cat/2/": ["/item/21/", "/item/1/"],
    "/about/": ["/item/99/"],
}


def _handler(page: Callable[..., web.Response]) -> Any:
    async def handle(request: web.Request) -> web.Response:
        path = request.path
        if path == "/missing/":
            raise web.HTTPNotFound()
        if path.startswith("/item/"):
            name = path.strip("/").split("/")[-1]
            return page(f'<h1>Item {name}</h1><a href="/cat/1/">back</a>'
                        f'<a href="{path}reviews/">reviews</a>', title=f"item {name}")
        hrefs = SITE.get(path)
        if hrefs is None:
            return page("<p>nothing</p>", title=path)
        return page("".join(f'<a href="{h}">link {h}</a>' for h in hrefs), title=path)
    return handle


@pytest.fixture
def site(serve_app: Any, page: Callable[..., web.Response]) -> Any:
    return serve_app({"/{tail:.*}": _handler(page)})


class Shop(acrawl.CrawlSpider):
    name = "shop"
    rules = (
        acrawl.Rule(acrawl.LinkExtractor(allow=r"/cat/"), follow=True),
        acrawl.Rule(acrawl.LinkExtractor(allow=r"/item/\d+/$"), callback="parse_item"),
    )

    def parse_item(self, response: acrawl.Response) -> Any:
        yield {"item": response.css("h1::text").get(), "rule": response.meta["rule"],
               "link_text": response.meta["link_text"], "depth": response.request.depth}


async def test_rules_follow_categories_and_parse_items_once_each(site: Any, crawl: Any) -> None:
    async with site as base:
        result, _ = await crawl(Shop, start_urls=[base + "/"])
    # the start page, 3 category pages, 5 distinct items (/about/ matches no rule)
    assert result.stats["pages"] == 1 + 3 + 5
    assert result.stats["items"] == 5
    assert result.stats.get("errors/callback") == 0


async def test_items_and_meta(site: Any, tmp_path: Any, crawl: Any) -> None:
    out = tmp_path / "items.jsonl"
    async with site as base:
        await crawl(Shop, outputs=[str(out)], start_urls=[base + "/"])
    items = _read(out)
    by_name = {i["item"]: i for i in items}
    # /about/ is not followed (no rule matches it), so item 99 is never reached
    assert sorted(by_name) == ["Item 1", "Item 11", "Item 12", "Item 13", "Item 21"]
    assert by_name["Item 1"] == {"item": "Item 1", "rule": 1, "link_text": "link /item/1/",
                                 "depth": 1}
    assert by_name["Item 13"]["depth"] == 3  # / -> /cat/1/ -> /cat/1/p2/ -> /item/13/


def _read(path: Any) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_the_first_matching_rule_wins_per_page(site: Any, tmp_path: Any,
                                                     crawl: Any) -> None:
    class Overlap(acrawl.CrawlSpider):
        name = "overlap"
        rules = (
            acrawl.Rule(acrawl.LinkExtractor(allow=r"/item/1/$"), callback="first"),
            acrawl.Rule(acrawl.LinkExtractor(allow=r"/item/"), callback="second"),
        )

        def first(self, response: acrawl.Response) -> Any:
            return {"url": response.url, "by": "first"}

        def second(self, response: acrawl.Response) -> Any:
            return {"url": response.url, "by": "second"}

    out = tmp_path / "items.jsonl"
    async with site as base:
        result, _ = await crawl(Overlap, outputs=[str(out)], start_urls=[base + "/"])
    items = {i["url"].removeprefix(base): i["by"] for i in _read(out)}
    assert items == {"/item/1/": "first"}  # the rules do not follow: only the start page's links
    assert result.stats.get("dropped/duplicate") == 0  # not requested twice


async def test_follow_true_with_a_callback_and_parse_start_url(site: Any, tmp_path: Any,
                                                               crawl: Any) -> None:
    class Deep(acrawl.CrawlSpider):
        name = "deep"
        rules = (acrawl.Rule(acrawl.LinkExtractor(allow=r"/item/\d+/(reviews/)?$"),
                             callback="parse_item", follow=True, cb_kwargs={"kind": "item"}),)

        def parse_start_url(self, response: acrawl.Response, **kwargs: Any) -> Any:
            return [{"start": response.url}]

        async def parse_item(self, response: acrawl.Response, kind: str) -> Any:
            return {"url": response.url, "kind": kind}

    out = tmp_path / "items.jsonl"
    async with site as base:
        await crawl(Deep, outputs=[str(out)], start_urls=[base + "/"])
    items = _read(out)
    assert {"start": base + "/"} in items
    urls = sorted(i["url"].removeprefix(base) for i in items if "url" in i)
    # from /item/1/ on, the rule follows /item/1/reviews/ too
    assert urls == ["/item/1/", "/item/1/reviews/"]
    assert all(i["kind"] == "item" for i in items if "url" in i)


async def test_process_links_process_request_and_errback(site: Any, tmp_path: Any,
                                                         crawl: Any) -> None:
    class Hooks(acrawl.CrawlSpider):
        name = "hooks"
        rules = (
            acrawl.Rule(acrawl.LinkExtractor(allow=r"/(item|missing)/"), callback="parse_item",
                        process_links="only_some", process_request="tag",
                        errback="failed"),
        )

        def only_some(self, links: list[acrawl.Link]) -> list[acrawl.Link]:
            return [link for link in links if not link.url.endswith("/item/1/")]

        def tag(self, request: acrawl.Request, response: acrawl.Response) -> Any:
            if "about" in request.url:
                return None
            return request.replace(meta={**request.meta, "from": response.url})

        def parse_item(self, response: acrawl.Response) -> Any:
            return {"url": response.url, "from": response.meta["from"]}

        def failed(self, failure: acrawl.Failure) -> Any:
            yield {"failed": failure.request.url, "status": failure.value.status,
                   "rule": failure.request.meta["rule"]}

    out = tmp_path / "items.jsonl"
    async with site as base:
        await crawl(Hooks, outputs=[str(out)], start_urls=[base + "/"])
    items = _read(out)
    assert items == [{"failed": base + "/missing/", "status": 404, "rule": 0}]


async def test_a_failing_rule_callback_is_reported_and_its_links_still_followed(
        site: Any, tmp_path: Any, crawl: Any) -> None:
    class Broken(acrawl.CrawlSpider):
        name = "broken"
        rules = (acrawl.Rule(acrawl.LinkExtractor(allow=r"/cat/"), callback="parse_cat",
                             follow=True),
                 acrawl.Rule(acrawl.LinkExtractor(allow=r"/item/\d+/$"), callback="item"))

        def parse_cat(self, response: acrawl.Response) -> Any:
            yield {"cat": response.url}
            raise RuntimeError("boom")

        def item(self, response: acrawl.Response) -> Any:
            return {"item": response.url}

    out = tmp_path / "items.jsonl"
    async with site as base:
        result, _ = await crawl(Broken, outputs=[str(out)], start_urls=[base + "/"])
    items = _read(out)
    assert len([i for i in items if "cat" in i]) == 3
    assert len([i for i in items if "item" in i]) == 5
    assert result.stats["errors/callback"] == 3


def test_rule_defaults() -> None:
    assert acrawl.Rule().follow is True
    assert acrawl.Rule(callback="x").follow is False
    assert acrawl.Rule(callback="x", follow=True).follow is True
    assert isinstance(acrawl.Rule().link_extractor, acrawl.LinkExtractor)


@pytest.mark.parametrize(("rules", "message"), [
    ((acrawl.Rule(callback="nope"),), "rule 0 callback 'nope' is not a method of the spider"),
    ((acrawl.Rule(), acrawl.Rule(process_links="gone")), "rule 1 process_links 'gone'"),
    ((acrawl.Rule(errback=3),), "rule 0 errback must be a method name or a callable"),
    (acrawl.Rule(), "rules must be a list or tuple of acrawl.Rule"),
    (("x",), "rule 0 is not an acrawl.Rule"),
])
def test_bad_rules_are_config_errors(rules: Any, message: str) -> None:
    spider_cls = type("Bad", (acrawl.CrawlSpider,), {"name": "bad", "rules": rules})
    with pytest.raises(ConfigError, match=message):
        Crawler.create(spider_cls, entry_points=False)


def test_overriding_parse_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    class Mine(acrawl.CrawlSpider):
        name = "mine"

        def parse(self, response: acrawl.Response, **kwargs: Any) -> Any:  # type: ignore[override]
            return None

    Mine()
    assert "override parse_start_url instead" in caplog.text


async def test_a_request_without_a_valid_rule_index_is_a_callback_error(
        site: Any, crawl: Any, caplog: pytest.LogCaptureFixture) -> None:
    class Stale(acrawl.CrawlSpider):
        name = "stale"
        rules = (acrawl.Rule(callback="parse_item"),)

        def start_requests(self) -> Any:
            yield acrawl.Request(self.start_urls[0], callback="_parse_rule",
                                 meta={"rule": 5})

        def parse_item(self, response: acrawl.Response) -> Any:
            return None

    async with site as base:
        result, _ = await crawl(Stale, start_urls=[base + "/"])
    assert result.stats["errors/callback"] == 1
    assert "meta['rule'] is 5, not one of the spider's 1 rules" in caplog.text
