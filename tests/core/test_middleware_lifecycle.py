"""``open_spider(spider)``/``close_spider(spider)`` of downloader and spider middlewares
(src/acrawl/core/components.py ``Lifecycle``, docs/middleware.md): each called once, sync or
async, in order on open and in reverse on close; close also after a failed or stopped crawl;
a raising open_spider stops the crawl before it starts (exit 2 from ``acrawl-run``), a raising
close_spider is counted and the other close steps still run."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from core_support import (
    Site,
    acrawl_run,
    links,
    make_crawler,
    run_crawl,
    run_crawler,
    serve,
    write_module,
)

import acrawl
from acrawl.errors import ConfigError


class Journal:
    """What the components did, in order: ``("open", name)``, ``("request", url)``, ..."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def note(self, what: str, name: str) -> None:
        self.events.append((what, name))

    def of(self, *kinds: str) -> list[tuple[str, str]]:
        return [e for e in self.events if e[0] in kinds]


def downloader_mw(journal: Journal, name: str, *, async_: bool = False) -> Any:
    """A downloader middleware with open_spider/close_spider (async ones with ``async_``)."""

    class Mw:
        def process_request(self, request: acrawl.Request, spider: Any) -> None:
            journal.note("request", name)

    if async_:
        async def open_spider(self: Any, spider: Any) -> None:
            assert isinstance(spider, acrawl.Spider)
            journal.note("open", name)

        async def close_spider(self: Any, spider: Any) -> None:
            assert isinstance(spider, acrawl.Spider)
            journal.note("close", name)
    else:
        def open_spider(self: Any, spider: Any) -> None:  # type: ignore[misc]
            assert isinstance(spider, acrawl.Spider)
            journal.note("open", name)

        def close_spider(self: Any, spider: Any) -> None:  # type: ignore[misc]
            assert isinstance(spider, acrawl.Spider)
            journal.note("close", name)

    Mw.open_spider = open_spider  # type: ignore[attr-defined]
    Mw.close_spider = close_spider  # type: ignore[attr-defined]
    Mw.name = name  # type: ignore[attr-defined]
    return Mw()


def spider_mw(journal: Journal, name: str, *, async_: bool = False) -> Any:
    class Smw:
        def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
            journal.note("output", name)
            return result

    if async_:
        async def open_spider(self: Any, spider: Any) -> None:
            journal.note("open", name)

        async def close_spider(self: Any, spider: Any) -> None:
            journal.note("close", name)
    else:
        def open_spider(self: Any, spider: Any) -> None:  # type: ignore[misc]
            journal.note("open", name)

        def close_spider(self: Any, spider: Any) -> None:  # type: ignore[misc]
            journal.note("close", name)

    Smw.open_spider = open_spider  # type: ignore[attr-defined]
    Smw.close_spider = close_spider  # type: ignore[attr-defined]
    Smw.name = name  # type: ignore[attr-defined]
    return Smw()


class Pages(acrawl.Spider):
    """Follows the links of ``/``; one item per page."""

    name = "pages"
    base = ""

    def start_requests(self) -> Any:
        yield acrawl.Request(self.base + "/")

    def parse(self, response: acrawl.Response) -> Any:
        yield {"url": response.url}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href)


SITE = {"/": links("/a", "/b"), "/a": "a", "/b": "b"}


async def test_open_and_close_once_each_in_order_and_reverse(tmp_path: Path) -> None:
    journal = Journal()
    out = tmp_path / "items.jsonl"

    class Pipeline:
        def process_item(self, item: Any, spider: Any) -> Any:
            return item

        def open_spider(self, spider: Any) -> None:
            journal.note("open", "pipeline")

        def close_spider(self, spider: Any) -> None:
            journal.note("close", "pipeline")

    class Closer:
        """Checks, when it closes, that every item was already written."""

        def process_spider_input(self, response: Any, spider: Any) -> None:
            pass

        async def close_spider(self, spider: Any) -> None:
            journal.note("close", f"closer saw {len(out.read_text().splitlines())} items")

    class Spider(Pages):
        middlewares = [downloader_mw(journal, "d1"), downloader_mw(journal, "d2", async_=True)]
        spider_middlewares = [spider_mw(journal, "s1", async_=True), Closer(),
                              spider_mw(journal, "s2")]
        pipelines = [Pipeline]

    async with serve(Site(SITE)) as base:
        result, _ = await run_crawl(Spider, base=base, outputs=[str(out)])
    assert result.stats["pages"] == 3 and result.errors == 0
    assert journal.of("open") == [("open", "d1"), ("open", "d2"), ("open", "s1"),
                                  ("open", "s2"), ("open", "pipeline")]
    assert journal.of("close") == [("close", "pipeline"), ("close", "s2"),
                                   ("close", "closer saw 3 items"), ("close", "s1"),
                                   ("close", "d2"), ("close", "d1")]
    # every open before the first request, every close after the last output
    first_request = journal.events.index(("request", "d1"))
    assert all(journal.events.index(e) < first_request for e in journal.of("open"))
    last_work = max(i for i, e in enumerate(journal.events) if e[0] in ("request", "output"))
    assert all(journal.events.index(e) > last_work for e in journal.of("close"))


async def test_a_component_in_both_chains_opens_and_closes_once() -> None:
    journal = Journal()

    class Both:
        def process_request(self, request: Any, spider: Any) -> None:
            pass

        def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
            return result

        def open_spider(self, spider: Any) -> None:
            journal.note("open", "both")

        def close_spider(self, spider: Any) -> None:
            journal.note("close", "both")

    both = Both()

    class Spider(Pages):
        middlewares = [both]
        spider_middlewares = [both]

    async with serve(Site(SITE)) as base:
        result, _ = await run_crawl(Spider, base=base)
    assert result.stats["pages"] == 3
    assert journal.events == [("open", "both"), ("close", "both")]


async def test_a_raising_open_spider_stops_the_crawl_before_it_starts(tmp_path: Path) -> None:
    journal = Journal()

    class Refuses:
        name = "refuses"

        def process_spider_input(self, response: Any, spider: Any) -> None:
            pass

        async def open_spider(self, spider: Any) -> None:
            raise RuntimeError("no database")

        def close_spider(self, spider: Any) -> None:
            journal.note("close", "refuses")

    class Spider(Pages):
        middlewares = [downloader_mw(journal, "d1")]
        spider_middlewares = [Refuses(), spider_mw(journal, "s2")]

    site = Site(SITE)
    out = tmp_path / "items.json"
    async with serve(site) as base:
        crawler = make_crawler(Spider, base=base, outputs=[str(out)])
        with pytest.raises(ConfigError) as info:
            await run_crawler(crawler)
    assert str(info.value) == ("spider middleware 'refuses' open_spider raised RuntimeError: "
                               "no database")
    assert not site.hits  # nothing was fetched
    # the one opened before it is closed; the failed one and the one after it are not
    assert journal.events == [("open", "d1"), ("close", "d1")]
    assert not out.exists()  # no empty output left to block the next run


async def test_close_runs_after_a_stopped_crawl_and_after_a_failed_one() -> None:
    journal = Journal()

    class StopsAtA(Pages):
        middlewares = [downloader_mw(journal, "d1")]
        spider_middlewares = [spider_mw(journal, "s1", async_=True)]

        def parse(self, response: acrawl.Response) -> Any:
            if response.url.endswith("/a"):
                self.crawler.stop()  # as Ctrl-C does
            yield from super().parse(response)

    async with serve(Site(SITE)) as base:
        result, _ = await run_crawl(StopsAtA, base=base, settings={"concurrency": 1})
        assert result.reason == "interrupted"
        assert journal.of("open", "close") == [("open", "d1"), ("open", "s1"),
                                               ("close", "s1"), ("close", "d1")]

        # the frontier breaks in the middle of the crawl: the crawl raises, close still runs
        journal.events.clear()

        class Spider(Pages):
            middlewares = [downloader_mw(journal, "d1", async_=True)]
            spider_middlewares = [spider_mw(journal, "s1")]

        crawler = make_crawler(Spider, base=base)
        crawler.queue = BreaksAfter(crawler.queue, pops=2)
        with pytest.raises(RuntimeError, match="the frontier broke"):
            await run_crawler(crawler)
    assert journal.of("open", "close") == [("open", "d1"), ("open", "s1"),
                                           ("close", "s1"), ("close", "d1")]


class BreaksAfter:
    """A request queue whose ``pop`` raises after ``pops`` calls (a frontier gone)."""

    def __init__(self, queue: Any, pops: int) -> None:
        self._queue = queue
        self._left = pops

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)

    async def pop(self, limit: int, claim: Any) -> list[acrawl.Request]:
        self._left -= 1
        if self._left < 0:
            raise RuntimeError("the frontier broke")
        popped: list[acrawl.Request] = await self._queue.pop(limit, claim)
        return popped


async def test_a_raising_close_spider_is_counted_and_the_others_still_close(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    journal = Journal()

    class FailsToClose:
        def process_request(self, request: Any, spider: Any) -> None:
            pass

        def close_spider(self, spider: Any) -> None:
            raise OSError("disk gone")

    class Pipeline:
        def process_item(self, item: Any, spider: Any) -> Any:
            return item

        def close_spider(self, spider: Any) -> None:
            journal.note("close", "pipeline")

    class Spider(Pages):
        middlewares = [downloader_mw(journal, "d1"), FailsToClose()]
        spider_middlewares = [spider_mw(journal, "s1")]
        pipelines = [Pipeline]

    caplog.set_level(logging.ERROR)
    out = tmp_path / "items.json"
    async with serve(Site(SITE)) as base:
        result, _ = await run_crawl(Spider, base=base, outputs=[str(out)])
    assert result.stats["errors/middleware"] == 1
    assert "middleware 'FailsToClose' close_spider raised OSError: disk gone" in caplog.text
    assert journal.of("close") == [("close", "pipeline"), ("close", "s1"), ("close", "d1")]
    assert len(json.loads(out.read_text())) == 3  # the output was closed whole


# -- from the command line ------------------------------------------------------------------------

SPIDER = '''
    import acrawl

    class Database:
        def process_request(self, request, spider):
            return None

        def open_spider(self, spider):
            raise ConnectionRefusedError("cannot reach the database")

    class Signals:
        """A Scrapy middleware as written for Scrapy: connects to crawler.signals."""

        @classmethod
        def from_crawler(cls, crawler):
            mw = cls()
            crawler.signals.connect(mw.spider_opened, signal="spider_opened")
            return mw

        def spider_opened(self, spider):
            pass

        def process_spider_output(self, response, result, spider):
            return result

    class Opens(acrawl.Spider):
        name = "opens"
        start_urls = []

        def __init__(self, mw="db", **kw):
            super().__init__(**kw)
            if mw == "db":
                self.middlewares = [Database]
            else:
                self.spider_middlewares = [Signals]

        def parse(self, response):
            yield {"url": response.url}
'''


def test_acrawl_run_exits_2_with_one_line_when_open_spider_raises(tmp_path: Path) -> None:
    spider = write_module(tmp_path, "opens_spider.py", SPIDER)
    out = tmp_path / "items.json"
    result = acrawl_run(tmp_path, str(spider), "-o", str(out))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.strip() == (
        "acrawl-run: error: middleware 'Database' open_spider raised "
        "ConnectionRefusedError: cannot reach the database")
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_a_scrapy_signals_middleware_is_told_to_use_open_spider(tmp_path: Path) -> None:
    spider = write_module(tmp_path, "opens_spider.py", SPIDER)
    result = acrawl_run(tmp_path, str(spider), "-a", "mw=signals")
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("acrawl-run: error: spider middleware 'Signals' failed to start: "
                               "AttributeError: ")
    assert lines[0].endswith("acrawl has no crawler.signals: define open_spider(spider) and "
                             "close_spider(spider) on the component instead "
                             "(docs/middleware.md)")
