"""Every hook is documented and tested; one ``test_hook_<name>`` per hook in ``hookspecs.py``.

The guard tests copy datasette's ``test_plugin_hooks_are_documented`` and
``test_plugin_hooks_have_tests``: a hook added to ``acrawl.hookspecs`` fails here until it has a
``## acrawl_<name>`` section in ``docs/hooks.md`` and a ``test_hook_<name>`` test under
``tests/``.

The hook tests register small plugin objects on a real crawler and crawl a local shop
(``acrawl.demo.site.ShopSite``), asserting what each hook received and what its result did.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import socket
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import acrawl
from acrawl import hookimpl, hookspecs
from acrawl.crawler import Crawler
from acrawl.demo.site import LinkSite, Served, ShopSite, serve
from acrawl.errors import CallbackError, ConfigError, ConnectError, PluginError
from acrawl.gates import Gate
from acrawl.http import Link, Request, Response
from acrawl.plugins import make_plugin_manager
from acrawl.settings import Setting, Settings
from acrawl.sinks import Sink
from acrawl.spider import Spider
from acrawl.stats import Stats
from acrawl.urls import canonicalize

ROOT = Path(__file__).resolve().parent.parent
HOOKS_DOC = ROOT / "docs" / "hooks.md"
TESTS = ROOT / "tests"

HOOK_NAMES = sorted(
    name
    for name, obj in vars(hookspecs).items()
    if name.startswith("acrawl_") and inspect.isfunction(obj)
)


# ------------------------------------------------------------------------------------------------
# guards: every hook is documented and tested
# ------------------------------------------------------------------------------------------------


def _documented_hooks() -> list[str]:
    text = HOOKS_DOC.read_text(encoding="utf-8")
    return re.findall(r"^## (acrawl_\w+)\s*$", text, flags=re.MULTILINE)


@cache
def _test_function_names() -> frozenset[str]:
    names: set[str] = set()
    for path in TESTS.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return frozenset(names)


def test_the_contract_hooks_exist() -> None:
    assert {"acrawl_filter_url", "acrawl_extract_links", "acrawl_open_sink"} <= set(HOOK_NAMES)


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_hook_is_documented(hook: str) -> None:
    assert hook in _documented_hooks(), f"docs/hooks.md has no '## {hook}' section"


def test_documented_hooks_exist() -> None:
    documented = _documented_hooks()
    assert sorted(set(documented) - set(HOOK_NAMES)) == [], "docs/hooks.md documents old hooks"
    assert len(documented) == len(set(documented)), "a hook is documented twice"


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_hook_has_a_test(hook: str) -> None:
    wanted = "test_hook_" + hook.removeprefix("acrawl_")
    names = _test_function_names()
    assert any(n == wanted or n.startswith(wanted + "_") for n in names), (
        f"no test function named {wanted} under tests/"
    )


# ------------------------------------------------------------------------------------------------
# helpers: a local shop, a spider, plugin objects
# ------------------------------------------------------------------------------------------------


@pytest.fixture
async def shop() -> AsyncIterator[Served]:
    """ShopSite(products=6): /, /about, 6 category pages, 6 product pages (14 pages)."""
    async with await serve(ShopSite(products=6)) as served:
        yield served


class ShopSpider(Spider):
    """One item per product page; follows every ``<a href>``."""

    name = "shop"

    async def parse(self, response: Response) -> AsyncIterator[Any]:
        if "/product/" in response.url:
            yield {"url": response.url, "title": response.css("h1.title::text").get()}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href)


class PageSpider(Spider):
    """One item per page; follows nothing."""

    name = "pages"

    def parse(self, response: Response) -> dict[str, Any]:
        return {"url": response.url, "status": response.status}


def make_crawler(
    spider_cls: type[Spider],
    *plugins: object,
    settings: dict[str, Any] | None = None,
    outputs: tuple[str, ...] = (),
    without: tuple[str, ...] = (),
    **spider_args: Any,
) -> Crawler:
    """A crawler with ``plugins`` registered (each named after its class) and the plugins
    named in ``without`` unregistered; installed (entry-point) plugins are not loaded."""
    crawler = Crawler.create(
        spider_cls,
        spider_args=spider_args,
        settings={"obey_robots": False, "timeout": 10, **(settings or {})},
        outputs=list(outputs),
        entry_points=False,
    )
    pm = crawler.hooks.pm
    for name in without:
        pm.unregister(name=name)
    for plugin in plugins:
        pm.register(plugin, name=type(plugin).__name__)
    crawler.hooks.refresh()
    return crawler


def canonical_urls(urls: Any) -> set[str]:
    return {canonicalize(u) for u in urls}


def fetched(served: Served) -> set[str]:
    """Canonical URLs the crawl downloaded (robots.txt left out)."""
    return {u for u in served.hits if not u.endswith("/robots.txt")}


class MemorySink:
    def __init__(self, uri: str, *, fail: bool = False) -> None:
        self.uri = uri
        self.fail = fail
        self.items: list[dict[str, Any]] = []
        self.events: list[str] = []

    async def open(self) -> None:
        self.events.append("open")

    async def write(self, items: list[dict[str, Any]]) -> None:
        self.events.append("write")
        if self.fail:
            raise OSError("disk full")
        self.items.extend(items)

    async def close(self) -> None:
        self.events.append("close")


class MemorySinks:
    """Claims ``memory://`` (and ``broken://``, whose writes fail); leaves the rest alone."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Settings]] = []
        self.sinks: dict[str, MemorySink] = {}

    @hookimpl
    def acrawl_open_sink(self, uri: str, settings: Settings) -> Sink | None:
        self.calls.append((uri, settings))
        if not uri.startswith(("memory://", "broken://")):
            return None
        sink = self.sinks[uri] = MemorySink(uri, fail=uri.startswith("broken://"))
        return sink


# ------------------------------------------------------------------------------------------------
# setup and registration
# ------------------------------------------------------------------------------------------------


class GreetingSettings:
    @hookimpl
    def acrawl_add_settings(self) -> list[Setting]:
        return [
            Setting("greeting", str, "hello", "what to say"),
            Setting("greeting_times", int, 1, "how often",
                    check=lambda v: None if v > 0 else "a number > 0"),
        ]


#: registered with ``plugins=[f"{__name__}:GREETING"]``, as ``-p test_hooks:GREETING`` would
GREETING = GreetingSettings()


class GreetingSpider(PageSpider):
    """A spider that implements a hook itself."""

    settings = {"greeting": "hi"}

    @hookimpl
    def acrawl_add_settings(self) -> list[Setting]:
        return [Setting("greeting", str, "hello", "what to say")]


def test_hook_add_settings() -> None:
    crawler = Crawler.create(PageSpider, plugins=[f"{__name__}:GREETING"],
                             settings={"greeting_times": "3"}, entry_points=False)
    assert crawler.settings["greeting"] == "hello"  # the declared default
    assert crawler.settings["greeting_times"] == 3  # a CLI string, typed by the declaration
    names = {s.name for s in crawler.settings.specs()}
    assert {"greeting", "greeting_times", "concurrency"} <= names

    with pytest.raises(ConfigError, match="greeting_times"):
        Crawler.create(PageSpider, plugins=[f"{__name__}:GREETING"],
                       settings={"greeting_times": "0"}, entry_points=False)
    with pytest.raises(ConfigError, match="unknown setting 'greeting'"):  # not declared
        Crawler.create(PageSpider, settings={"greeting": "x"}, entry_points=False)


def test_hook_add_settings_from_a_spider_and_twice() -> None:
    crawler = Crawler.create(GreetingSpider, entry_points=False)
    assert crawler.settings["greeting"] == "hi"  # the spider's own settings use its setting
    # the same declaration from two plugins is fine ...
    crawler = Crawler.create(GreetingSpider, plugins=[f"{__name__}:GREETING"],
                             entry_points=False)
    assert crawler.settings["greeting"] == "hi"

    # ... a different one is refused
    class Conflicting(PageSpider):
        @hookimpl
        def acrawl_add_settings(self) -> list[Setting]:
            return [Setting("greeting", str, "bonjour", "what to say")]

    with pytest.raises(ConfigError, match="declared twice"):
        Crawler.create(Conflicting, plugins=[f"{__name__}:GREETING"], entry_points=False)


async def test_hook_open_sink(shop: Served, tmp_path: Path) -> None:
    plugin = MemorySinks()
    jsonl = tmp_path / "items.jsonl"
    crawler = make_crawler(ShopSpider, plugin, outputs=("memory://a", str(jsonl)),
                           start_urls=[shop.base_url + "/"])
    result = await crawler.crawl()

    assert [uri for uri, _ in plugin.calls] == ["memory://a", str(jsonl)]
    assert all(settings is crawler.settings for _, settings in plugin.calls)
    sink = plugin.sinks["memory://a"]
    assert sink.events[0] == "open" and sink.events[-1] == "close"
    assert sink.events.count("close") == 1
    products = ShopSite(products=6).product_urls(shop.base_url)
    assert canonical_urls(i["url"] for i in sink.items) == products
    assert len(sink.items) == result.stats["items"] == 6
    # the plugin returned None for the .jsonl, so the built-in sink wrote it
    assert len(jsonl.read_text().splitlines()) == 6


async def test_hook_open_sink_first_result_wins(shop: Served, tmp_path: Path) -> None:
    class ClaimEverything(MemorySinks):
        @hookimpl
        def acrawl_open_sink(self, uri: str, settings: Settings) -> Sink | None:
            sink = self.sinks[uri] = MemorySink(uri)
            return sink

    plugin = ClaimEverything()
    jsonl = tmp_path / "items.jsonl"
    crawler = make_crawler(ShopSpider, plugin, outputs=(str(jsonl),),
                           start_urls=[shop.base_url + "/"])
    await crawler.crawl()
    assert len(plugin.sinks[str(jsonl)].items) == 6  # a later plugin is asked first
    assert not jsonl.exists()  # so the built-in .jsonl sink was never asked

    crawler = make_crawler(ShopSpider, outputs=("nowhere://x",), start_urls=[shop.base_url])
    with pytest.raises(ConfigError, match="no sink for output 'nowhere://x'"):
        await crawler.crawl()


class NoAboutGate:
    """Drops ``/about``; fetches robots.txt through ``fetch`` once."""

    def __init__(self, fetch: Any) -> None:
        self.fetch = fetch
        self.checked: list[str] = []
        self.delay_hosts: set[str] = set()
        self.robots: Response | None = None
        self.closed = False

    async def check(self, request: Request) -> str | None:
        self.checked.append(request.url)
        if self.robots is None:
            parts = urlsplit(request.url)
            self.robots = await self.fetch(f"{parts.scheme}://{parts.netloc}/robots.txt")
        return "no_about" if urlsplit(request.url).path == "/about" else None

    def delay(self, host: str) -> float | None:
        self.delay_hosts.add(host)
        return None

    async def close(self) -> None:
        self.closed = True


class NoAbout:
    def __init__(self) -> None:
        self.calls: list[tuple[Settings, Spider]] = []
        self.gates: list[NoAboutGate] = []

    @hookimpl
    def acrawl_open_gate(self, settings: Settings, spider: Spider, fetch: Any) -> Gate:
        self.calls.append((settings, spider))
        gate = NoAboutGate(fetch)
        self.gates.append(gate)
        return gate


async def test_hook_open_gate(shop: Served) -> None:
    plugin = NoAbout()
    crawler = make_crawler(ShopSpider, plugin, start_urls=[shop.base_url + "/"])
    result = await crawler.crawl()

    assert plugin.calls == [(crawler.settings, crawler.spider)]
    (gate,) = plugin.gates
    assert isinstance(gate, Gate)
    assert gate.closed
    # every request went through the gate before it was downloaded
    assert fetched(shop) <= canonical_urls(gate.checked)
    assert shop.base_url + "/about" not in shop.hits
    assert result.stats["filtered/no_about"] == 1
    # fetch downloads outside the crawl: not counted as a page, not deduplicated
    assert gate.robots is not None and gate.robots.status == 200
    assert "User-agent" in gate.robots.text
    assert result.stats["pages"] == 13
    # the scheduler asks each gate for a per-host delay, keyed by host[:port]
    assert gate.delay_hosts == {urlsplit(shop.base_url).netloc}


class SitemapLikeStarts:
    """Extra start requests from an async generator."""

    def __init__(self) -> None:
        self.calls: list[tuple[Spider, Settings, Any]] = []

    @hookimpl
    def acrawl_start_requests(
        self, spider: Spider, settings: Settings, fetch: Any
    ) -> AsyncIterator[Request]:
        self.calls.append((spider, settings, fetch))
        base = spider.start_urls[0].rsplit("/", 1)[0]

        async def more() -> AsyncIterator[Request]:
            yield Request(base + "/product/1")
            yield Request(base + "/product/2", priority=5)

        return more()


class ListStarts:
    """Extra start requests as a plain list (the opt-in ``spider`` argument only)."""

    @hookimpl
    def acrawl_start_requests(self, spider: Spider) -> list[Request]:
        base = spider.start_urls[0].rsplit("/", 1)[0]
        return [Request(base + "/product/3"), Request(base + "/about")]  # /about: a duplicate


class NoStarts:
    @hookimpl
    def acrawl_start_requests(self) -> None:
        return None


async def test_hook_start_requests(shop: Served) -> None:
    starts = SitemapLikeStarts()
    crawler = make_crawler(PageSpider, starts, ListStarts(), NoStarts(),
                           start_urls=[shop.base_url + "/about"])
    result = await crawler.crawl()

    assert starts.calls == [(crawler.spider, crawler.settings, crawler.fetch)]
    base = shop.base_url
    assert fetched(shop) == {base + "/about", base + "/product/1", base + "/product/2",
                             base + "/product/3"}
    assert result.stats["dropped/duplicate"] == 1  # extra starts pass dedup like any request


# ------------------------------------------------------------------------------------------------
# lifecycle
# ------------------------------------------------------------------------------------------------


class Lifecycle:
    def __init__(self, sinks: MemorySinks | None = None) -> None:
        self.sinks = sinks
        self.events: list[tuple[Any, ...]] = []

    def _sink_events(self) -> list[str]:
        return [e for s in (self.sinks.sinks.values() if self.sinks else ()) for e in s.events]

    @hookimpl
    def acrawl_crawl_opened(self, spider: Spider, settings: Settings) -> None:
        self.events.append(("opened", spider, settings, self._sink_events()))

    @hookimpl
    def acrawl_request_scheduled(self, request: Request) -> None:
        self.events.append(("scheduled", request.url))

    @hookimpl
    def acrawl_crawl_closed(self, spider: Spider, stats: Stats, reason: str) -> None:
        self.events.append(("closed", spider, stats, reason, self._sink_events()))


async def test_hook_crawl_opened(shop: Served) -> None:
    sinks = MemorySinks()
    life = Lifecycle(sinks)
    crawler = make_crawler(ShopSpider, sinks, life, outputs=("memory://a",),
                           start_urls=[shop.base_url + "/"])
    await crawler.crawl()

    opened = [e for e in life.events if e[0] == "opened"]
    assert opened == [("opened", crawler.spider, crawler.settings, ["open"])]  # sinks are open
    assert life.events[0][0] == "opened"  # before the first request is scheduled


async def test_hook_crawl_closed(shop: Served) -> None:
    sinks = MemorySinks()
    life = Lifecycle(sinks)
    crawler = make_crawler(ShopSpider, sinks, life, outputs=("memory://a",),
                           start_urls=[shop.base_url + "/"])
    result = await crawler.crawl()

    closed = [e for e in life.events if e[0] == "closed"]
    assert len(closed) == 1 and life.events[-1] is closed[0]
    _, spider, stats, reason, sink_events = closed[0]
    assert spider is crawler.spider
    assert reason == "finished" == result.reason
    assert stats is result.stats and stats["pages"] == 14
    # items are written before the hook runs; sinks are closed after it
    assert "write" in sink_events and "close" not in sink_events
    assert sinks.sinks["memory://a"].events[-1] == "close"


async def test_hook_crawl_closed_reasons(shop: Served) -> None:
    life = Lifecycle()
    crawler = make_crawler(ShopSpider, life, settings={"max_pages": 3},
                           start_urls=[shop.base_url + "/"])
    await crawler.crawl()
    assert life.events[-1][3] == "max_pages"
    assert life.events[-1][2]["pages"] == 3

    class StopAtOnce(Lifecycle):
        @hookimpl
        def acrawl_response_received(self) -> None:
            crawler.stop()

    life = StopAtOnce()
    crawler = make_crawler(ShopSpider, life, start_urls=[shop.base_url + "/"])
    result = await crawler.crawl()
    assert life.events[-1][3] == "interrupted" == result.reason


# ------------------------------------------------------------------------------------------------
# requests
# ------------------------------------------------------------------------------------------------


class NoCategories:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Request, Spider, bool | None]] = []

    @hookimpl
    def acrawl_filter_url(self, url: str, request: Request, spider: Spider) -> bool | None:
        verdict = False if "/category/" in url else None
        self.calls.append((url, request, spider, verdict))
        return verdict


class AllowEverything:
    @hookimpl
    def acrawl_filter_url(self, url: str) -> bool:
        return True  # does not override another plugin's False


async def test_hook_filter_url(shop: Served) -> None:
    plugin = NoCategories()
    crawler = make_crawler(ShopSpider, plugin, AllowEverything(),
                           start_urls=[shop.base_url + "/"])
    result = await crawler.crawl()

    assert plugin.calls, "the filter was never asked"
    for url, request, spider, _ in plugin.calls:
        assert url == request.url
        assert spider is crawler.spider
    rejected = [url for url, *_, verdict in plugin.calls if verdict is False]
    assert rejected
    # any False drops the request before dedup; counted under the plugin's name
    assert result.stats["filtered/NoCategories"] == len(rejected)
    assert not [u for u in shop.hits if "/category/" in u]
    assert result.stats["pages"] == len(fetched(shop)) > 1


async def test_hook_filter_url_builtin_allowed_hosts(shop: Served) -> None:
    class OffsiteSpider(PageSpider):
        def start_requests(self) -> Iterator[Request]:
            yield Request(shop.base_url + "/")
            yield Request("http://elsewhere.invalid/")

    crawler = make_crawler(OffsiteSpider, start_urls=[shop.base_url + "/"],
                           allowed_hosts=["127.0.0.1"])
    result = await crawler.crawl()
    assert result.stats["pages"] == 1
    assert result.stats["filtered/allowed_hosts"] == 1  # acrawl.policies.allowed_hosts


def test_url_filter_verdicts_name_every_filter_and_its_answer() -> None:
    """What ``acrawl explain`` shows: each filter by name, in the order the crawl asks them,
    a raising filter's exception as its answer."""

    class Broken:
        @hookimpl
        def acrawl_filter_url(self, url: str) -> bool:
            raise RuntimeError("broken filter")

    crawler = make_crawler(PageSpider, NoCategories(), AllowEverything(), Broken(),
                           allowed_hosts=["127.0.0.1"])
    hooks, spider = crawler.hooks, crawler.spider
    url = "http://127.0.0.1:9/category/x"
    verdicts = dict(hooks.url_filter_verdicts(url, Request(url), spider))
    # pluggy order: the last registered first, the built-in allowed_hosts last
    assert list(verdicts) == ["Broken", "AllowEverything", "NoCategories", "allowed_hosts"]
    assert verdicts["allowed_hosts"] is None and verdicts["NoCategories"] is False
    assert verdicts["AllowEverything"] is True
    assert isinstance(verdicts["Broken"], RuntimeError)
    other = "http://elsewhere.test/"
    assert dict(hooks.url_filter_verdicts(other, Request(other), spider))["allowed_hosts"] is False


class Scheduled:
    def __init__(self) -> None:
        self.calls: list[tuple[Request, Spider]] = []

    @hookimpl
    def acrawl_request_scheduled(self, request: Request, spider: Spider) -> None:
        self.calls.append((request, spider))


async def test_hook_request_scheduled(shop: Served) -> None:
    plugin = Scheduled()
    crawler = make_crawler(ShopSpider, plugin, start_urls=[shop.base_url + "/"])
    result = await crawler.crawl()

    urls = [canonicalize(r.url) for r, _ in plugin.calls]
    assert len(urls) == len(set(urls)) == result.stats["requests/scheduled"]  # after dedup
    assert set(urls) == ShopSite(products=6).page_urls(shop.base_url) == fetched(shop)
    assert all(spider is crawler.spider for _, spider in plugin.calls)
    assert plugin.calls[0][0].depth == 0 and max(r.depth for r, _ in plugin.calls) >= 2


class Dropped:
    def __init__(self) -> None:
        self.calls: list[tuple[Request, str, Spider]] = []

    @hookimpl
    def acrawl_request_dropped(self, request: Request, reason: str, spider: Spider) -> None:
        self.calls.append((request, reason, spider))


async def test_hook_request_dropped(shop: Served) -> None:
    class MailtoSpider(ShopSpider):
        def start_requests(self) -> Iterator[Request]:
            yield from super().start_requests()
            yield Request("mailto:shop@example.com")

    plugin = Dropped()
    crawler = make_crawler(MailtoSpider, plugin, settings={"max_depth": 1},
                           start_urls=[shop.base_url + "/"])
    result = await crawler.crawl()

    reasons = Counter(reason for _, reason, _ in plugin.calls)
    # ``reason`` is the full stats key, and every drop is both counted and reported
    assert reasons == {k: v for k, v in result.stats.counters.items()
                       if k.startswith(("dropped/", "filtered/"))}
    assert {"dropped/duplicate", "dropped/max_depth", "dropped/scheme"} <= set(reasons)
    assert all(spider is crawler.spider for *_, spider in plugin.calls)
    assert all(r.depth == 2 for r, reason, _ in plugin.calls if reason == "dropped/max_depth")
    (mailto,) = [r for r, reason, _ in plugin.calls if reason == "dropped/scheme"]
    assert mailto.url == "mailto:shop@example.com"


# ------------------------------------------------------------------------------------------------
# responses and items
# ------------------------------------------------------------------------------------------------


class Received:
    def __init__(self, log: list[tuple[str, str]]) -> None:
        self.log = log
        self.responses: list[tuple[Response, Spider]] = []

    @hookimpl
    def acrawl_response_received(self, response: Response, spider: Spider) -> None:
        self.log.append(("received", response.url))
        self.responses.append((response, spider))


class LoggingSpider(ShopSpider):
    log: list[tuple[str, str]]

    async def parse(self, response: Response) -> AsyncIterator[Any]:
        self.log.append(("callback", response.url))
        async for out in super().parse(response):
            yield out


async def test_hook_response_received(shop: Served) -> None:
    log: list[tuple[str, str]] = []
    plugin = Received(log)
    crawler = make_crawler(LoggingSpider, plugin, start_urls=[shop.base_url + "/"], log=log)
    await crawler.crawl()

    assert canonical_urls(r.url for r, _ in plugin.responses) == fetched(shop)
    assert len(plugin.responses) == 14
    assert all(spider is crawler.spider and r.status == 200 for r, spider in plugin.responses)
    for response, _ in plugin.responses:  # always just before the response's callback
        at = log.index(("received", response.url))
        assert log[at + 1] == ("callback", response.url)


async def test_hook_response_received_a_raising_observer_spares_the_others(
        shop: Served, caplog: pytest.LogCaptureFixture) -> None:
    """Observation hooks are called directly (not through pluggy's loop): in pluggy's order,
    each with only the arguments it names, and one plugin raising does not keep the next one
    from seeing the page; a hook wrapper still gets pluggy's own loop."""
    order: list[str] = []

    class Broken:
        @hookimpl(tryfirst=True)
        def acrawl_response_received(self) -> None:
            order.append("broken")
            raise RuntimeError("observer exploded")

    class Counting:
        def __init__(self) -> None:
            self.urls: list[str] = []

        @hookimpl
        def acrawl_response_received(self, response: Response) -> None:
            order.append("counting")
            self.urls.append(response.url)

    counting = Counting()
    crawler = make_crawler(LoggingSpider, Broken(), counting, start_urls=[shop.base_url + "/"],
                           log=[])
    await crawler.crawl()
    assert len(counting.urls) == 14 and order[:2] == ["broken", "counting"]
    assert caplog.text.count("plugin Broken: hook acrawl_response_received raised") == 14

    class Wrapping:
        def __init__(self) -> None:
            self.seen = 0

        @hookimpl(wrapper=True)
        def acrawl_response_received(self, response: Response) -> Any:
            self.seen += 1
            return (yield)

    wrapping, counting = Wrapping(), Counting()
    crawler = make_crawler(LoggingSpider, wrapping, counting,
                           start_urls=[shop.base_url + "/"], log=[])
    await crawler.crawl()
    assert wrapping.seen == 14 and len(counting.urls) == 14


async def test_hook_response_received_not_for_redirects() -> None:
    async with await serve(LinkSite(pages=3)) as served:
        plugin = Received([])
        crawler = make_crawler(PageSpider, plugin, start_urls=[served.base_url + "/p/0"])
        result = await crawler.crawl()  # /p/0 answers 301 -> /
    assert [(r.url, r.status) for r, _ in plugin.responses] == [(served.base_url + "/", 200)]
    assert result.stats["redirects"] == 1


class HandPicked:
    """Links only on the home page: relative, fragment, mailto, nofollow, a repeat."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Spider]] = []

    @hookimpl
    def acrawl_extract_links(self, response: Response, spider: Spider) -> list[str | Link] | None:
        self.calls.append((response.url, spider))
        if urlsplit(response.url).path != "/":
            return None
        return ["/about#team", "product/1", "mailto:shop@example.com",
                Link("/product/2", "Two", nofollow=True), "./about"]


class LinksSpider(PageSpider):
    follow_links = True
    seen_links: dict[str, list[Link]]

    def parse(self, response: Response) -> dict[str, Any]:
        self.seen_links[response.url] = response.links()
        return super().parse(response)


async def test_hook_extract_links(shop: Served) -> None:
    plugin = HandPicked()
    seen: dict[str, list[Link]] = {}
    crawler = make_crawler(LinksSpider, plugin, without=("acrawl.policies.linkextract",),
                           start_urls=[shop.base_url + "/"], seen_links=seen)
    await crawler.crawl()

    base = shop.base_url
    # resolved against the page, canonical, only http(s), deduplicated, in order
    assert seen[base + "/"] == [Link(base + "/about"), Link(base + "/product/1"),
                                Link(base + "/product/2", "Two", nofollow=True)]
    # follow_links follows them, except nofollow ones
    assert fetched(shop) == {base + "/", base + "/about", base + "/product/1"}
    # asked once per response, although both the callback and follow_links read the links
    assert sorted(Counter(url for url, _ in plugin.calls).values()) == [1, 1, 1]
    assert all(spider is crawler.spider for _, spider in plugin.calls)


async def test_hook_extract_links_union_with_builtin(shop: Served) -> None:
    plugin = HandPicked()
    seen: dict[str, list[Link]] = {}
    crawler = make_crawler(LinksSpider, plugin, start_urls=[shop.base_url + "/"],
                           seen_links=seen, settings={"max_depth": 0})
    await crawler.crawl()
    home = [link.url for link in seen[shop.base_url + "/"]]
    assert shop.base_url + "/category/books/" in home  # from the built-in <a href> extractor
    assert len(home) == len(set(home))


class BrokenExtractor:
    @hookimpl
    def acrawl_extract_links(self, response: Response) -> list[str]:
        raise RuntimeError("extractor exploded")


class FollowingPageSpider(PageSpider):
    follow_links = True


def _doc_section(hook: str) -> str:
    text = HOOKS_DOC.read_text(encoding="utf-8")
    return text.split(f"## {hook}\n", 1)[1].split("\n## ", 1)[0]


async def test_hook_extract_links_raising(shop: Served) -> None:
    """An extractor that raises under ``follow_links``: counted ``errors/plugin`` (not
    ``errors/internal``), reported to ``acrawl_error``, the page's item is kept and no link
    of it is followed; called from a callback, it is that callback's error. docs/hooks.md
    says so."""
    errors = Errors()
    crawler = make_crawler(FollowingPageSpider, BrokenExtractor(), errors,
                           start_urls=[shop.base_url + "/"])
    result = await crawler.crawl()
    stats = result.stats
    assert stats["pages"] == stats["items"] == 1
    assert stats["errors/plugin"] == 1
    assert stats["errors/internal"] == 0
    [(exc, req, _)] = errors.calls
    assert isinstance(exc, RuntimeError) and req is not None and req.url == shop.base_url + "/"

    seen: dict[str, list[Link]] = {}
    crawler = make_crawler(LinksSpider, BrokenExtractor(), start_urls=[shop.base_url + "/"],
                           seen_links=seen)
    stats = (await crawler.crawl()).stats
    assert stats["errors/callback"] == 1 and stats["items"] == 0

    section = _doc_section("acrawl_extract_links")
    assert "errors/plugin" in section and "errors/internal" not in section


@dataclasses.dataclass
class Product:
    url: str
    title: str | None


class ProductSpider(ShopSpider):
    async def parse(self, response: Response) -> AsyncIterator[Any]:
        async for out in super().parse(response):
            yield Product(**out) if isinstance(out, dict) else out


class Items:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, Response, Spider]] = []

    @hookimpl
    def acrawl_item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        self.calls.append((item, response, spider))


async def test_hook_item_scraped(shop: Served) -> None:
    plugin, sinks = Items(), MemorySinks()
    crawler = make_crawler(ProductSpider, plugin, sinks, outputs=("memory://a",),
                           start_urls=[shop.base_url + "/"])
    result = await crawler.crawl()

    assert len(plugin.calls) == result.stats["items"] == 6
    for item, response, spider in plugin.calls:
        assert isinstance(item, dict)  # a dataclass item arrives as a dict
        assert item["url"] == response.url and item["title"]
        assert spider is crawler.spider
    assert [i for i, _, _ in plugin.calls] == sinks.sinks["memory://a"].items


class Errors:
    def __init__(self) -> None:
        self.calls: list[tuple[BaseException, Request | None, Spider]] = []

    @hookimpl
    def acrawl_error(
        self, exception: BaseException, request: Request | None, spider: Spider
    ) -> None:
        self.calls.append((exception, request, spider))


class FailingSpider(ShopSpider):
    async def parse(self, response: Response) -> AsyncIterator[Any]:
        if response.url.endswith("/about"):
            raise ValueError("boom")
        async for out in super().parse(response):
            yield out


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_hook_error(shop: Served, closed_port: int) -> None:
    plugin, sinks = Errors(), MemorySinks()
    dead = f"http://127.0.0.1:{closed_port}/"
    crawler = make_crawler(FailingSpider, plugin, sinks, outputs=("broken://x",),
                           settings={"retry_times": 0},
                           start_urls=[shop.base_url + "/", dead])
    result = await crawler.crawl()

    assert all(spider is crawler.spider for *_, spider in plugin.calls)
    by_type = {type(exc): (exc, req) for exc, req, _ in plugin.calls}
    # a callback raised: wrapped with its request
    exc, req = by_type[CallbackError]
    assert isinstance(exc, CallbackError) and isinstance(exc.wrapped, ValueError)
    assert req is not None and req.url == shop.base_url + "/about" and exc.request is req
    # a download failed for good
    exc, req = by_type[ConnectError]
    assert req is not None and req.url == dead
    # a sink failed to write: no request
    exc, req = by_type[OSError]
    assert str(exc) == "disk full" and req is None

    stats = result.stats
    assert stats["errors/callback"] == 1
    assert stats["failed/ConnectError"] == 1
    assert stats["errors/sink"] >= 1
    assert result.errors > 0


# ------------------------------------------------------------------------------------------------
# registration rules
# ------------------------------------------------------------------------------------------------


class AsyncHook:
    @hookimpl
    async def acrawl_crawl_opened(self, spider: Spider) -> None:
        return None


class AsyncGenHook:
    @hookimpl
    async def acrawl_extract_links(self, response: Response) -> AsyncIterator[str]:
        yield "/x"


ASYNC_PLUGIN = AsyncHook()


class AsyncSpider(PageSpider):
    @hookimpl
    async def acrawl_item_scraped(self, item: Any) -> None:
        return None


@pytest.mark.parametrize("plugin", [AsyncHook(), AsyncGenHook()], ids=["coroutine", "asyncgen"])
def test_async_hookimpl_is_refused(plugin: object) -> None:
    pm = make_plugin_manager(entry_points=False)
    with pytest.raises(PluginError, match="async def"):
        pm.register(plugin, name="async-plugin")
    assert pm.get_plugin("async-plugin") is None


def test_async_hookimpl_is_refused_from_the_command_line_and_spiders() -> None:
    with pytest.raises(PluginError, match="acrawl_crawl_opened"):
        Crawler.create(PageSpider, plugins=[f"{__name__}:ASYNC_PLUGIN"], entry_points=False)
    with pytest.raises(PluginError, match="acrawl_item_scraped"):
        Crawler.create(AsyncSpider, entry_points=False)


def test_hookimpl_with_unknown_argument_is_refused() -> None:
    class Wrong:
        @hookimpl
        def acrawl_filter_url(self, url: str, uri: str) -> bool:
            return True

    pm = make_plugin_manager(entry_points=False)
    with pytest.raises(PluginError, match="uri"):
        pm.register(Wrong(), name="wrong")


def test_public_hookimpl_is_the_acrawl_marker() -> None:
    assert acrawl.hookimpl is hookspecs.hookimpl
    assert acrawl.hookimpl.project_name == "acrawl"
