"""Spider middlewares in Scrapy's shape (src/acrawl/core/spidermw.py, docs/middleware.md):
``process_start_requests``/``process_start``, ``process_spider_input``,
``process_spider_output`` (and ``_async``), ``process_spider_exception``, their order, and what
each failure costs — each crawl against a local server."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from core_support import Site, acrawl_run, links, make_crawler, run_crawl, serve, write_module

import acrawl
from acrawl.errors import ConfigError


class Pages(acrawl.Spider):
    """One item per page, ``{"path": ...}``; follows the links of ``/``. Records what its
    callbacks and errbacks got."""

    name = "pages"
    base = ""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.parsed: list[str] = []
        self.failures: list[acrawl.Failure] = []

    def start_requests(self) -> Any:
        yield acrawl.Request(self.base + "/", errback=self.on_error)

    def parse(self, response: acrawl.Response) -> Any:
        path = response.url.removeprefix(self.base)
        self.parsed.append(path)
        yield {"path": path}
        if path == "/":
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href, errback=self.on_error)

    def on_error(self, failure: acrawl.Failure) -> Any:
        self.failures.append(failure)
        yield {"failed": failure.request.url.removeprefix(self.base),
               "error": type(failure.value).__name__}


def read_items(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- process_start_requests -----------------------------------------------------------------------


async def test_process_start_requests_filters_and_adds_start_requests() -> None:
    seen: list[str] = []

    class NoB:
        def process_start_requests(self, start_requests: Any, spider: Any) -> Any:
            for request in start_requests:
                seen.append(type(request).__name__)
                if not request.url.endswith("/b"):
                    yield request
            yield acrawl.Request(spider.base + "/extra")

    class Spider(Pages):
        spider_middlewares = [NoB]

        def start_requests(self) -> Any:
            yield acrawl.Request(self.base + "/a")
            yield acrawl.Request(self.base + "/b")
            yield self.base + "/c"  # a URL: the middleware sees it as a Request

    site = Site({"/a": "a", "/b": "b", "/c": "c", "/extra": "x"})
    async with serve(site) as base:
        result, spider = await run_crawl(Spider, base=base)
    assert sorted(site.hits) == ["/a", "/c", "/extra"]
    assert sorted(spider.parsed) == ["/a", "/c", "/extra"]
    assert seen == ["Request", "Request", "Request"]
    assert result.errors == 0


async def test_start_requests_stay_lazy_through_the_middlewares() -> None:
    """A million start requests, max_pages=3: the middlewares pull them one at a time, so the
    crawl ends as soon as its pages are done, having read only a few batches."""
    pulled = {"sync": 0, "async": 0}

    class CountSync:
        def process_start_requests(self, start_requests: Any, spider: Any) -> Any:
            for request in start_requests:
                pulled["sync"] += 1
                yield request

    class CountAsync:
        async def process_start(self, start: Any) -> Any:
            async for request in start:
                pulled["async"] += 1
                yield request

    class Million(Pages):
        spider_middlewares = [CountSync, CountAsync]

        def start_requests(self) -> Any:
            for i in range(1_000_000):
                yield acrawl.Request(f"{self.base}/p?{i}")

    site = Site({"/p": "p"})
    async with serve(site) as base:
        result, _ = await run_crawl(Million, base=base, settings={"max_pages": 3},
                                    time_limit=60)
    assert result.stats["pages"] == 3 and result.reason == "max_pages"
    assert 3 <= pulled["async"] <= pulled["sync"] < 50_000, pulled  # never the whole million


async def test_async_start_requests_are_read_lazily_without_middlewares_too() -> None:
    """An async start_requests that never awaits still lets the crawl run between batches
    (it used to be read to its end before the first download)."""
    pulled = 0

    class Million(Pages):
        async def start_requests(self) -> Any:
            nonlocal pulled
            for i in range(1_000_000):
                pulled += 1
                yield acrawl.Request(f"{self.base}/p?{i}")

    async with serve(Site({"/p": "p"})) as base:
        result, _ = await run_crawl(Million, base=base, settings={"max_pages": 3},
                                    time_limit=60)
    assert result.stats["pages"] == 3
    assert pulled < 50_000, pulled


async def test_async_start_requests_through_process_start_and_a_chain_in_order(
    tmp_path: Path,
) -> None:
    """The first listed gets the spider's start requests, the next gets its output."""

    class Tag:
        def __init__(self, tag: str) -> None:
            self.name = tag

        async def process_start(self, start: Any) -> Any:
            async for request in start:
                request.meta.setdefault("trail", []).append(self.name)
                yield request

    class Spider(Pages):
        spider_middlewares = [Tag("first"), Tag("second")]

        async def start_requests(self) -> Any:
            yield acrawl.Request(self.base + "/a")

        def parse(self, response: acrawl.Response) -> Any:
            yield {"trail": response.meta["trail"]}

    site = Site({"/a": "a"})
    out = tmp_path / "items.jsonl"
    async with serve(site) as base:
        result, _ = await run_crawl(Spider, base=base, outputs=[str(out)])
    assert read_items(out) == [{"trail": ["first", "second"]}]
    assert site.hits["/a"] == 1 and result.errors == 0


async def test_a_failing_process_start_requests_is_a_middleware_error_not_a_spider_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BreaksAfterOne:
        def process_start_requests(self, start_requests: Any, spider: Any) -> Any:
            for n, request in enumerate(start_requests):
                if n == 1:
                    raise ValueError("middleware bug")
                yield request

    class Spider(Pages):
        spider_middlewares = [BreaksAfterOne]

        def start_requests(self) -> Any:
            yield acrawl.Request(self.base + "/a")
            yield acrawl.Request(self.base + "/b")

    class SpiderBreaks(Pages):
        spider_middlewares = [BreaksAfterOne]

        def start_requests(self) -> Any:
            raise KeyError("spider bug")
            yield

    site = Site({"/a": "a", "/b": "b"})
    caplog.set_level(logging.ERROR)
    async with serve(site) as base:
        result, spider = await run_crawl(Spider, base=base)
        assert spider.parsed == ["/a"]  # the request before the failure went out
        assert result.stats["errors/middleware"] == 1
        assert "errors/callback" not in result.stats.counters
        assert "spider middleware 'BreaksAfterOne' process_start_requests raised ValueError: " \
               "middleware bug" in caplog.text
        # what the spider's own start_requests raises goes through the middleware unchanged
        result, _ = await run_crawl(SpiderBreaks, base=base)
    assert result.stats["errors/callback"] == 1
    assert "errors/middleware" not in result.stats.counters


async def test_a_sync_process_start_requests_given_async_start_requests_says_what_to_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Sync:
        def process_start_requests(self, start_requests: Any, spider: Any) -> Any:
            yield from start_requests

    class Spider(Pages):
        spider_middlewares = [Sync]

        async def start_requests(self) -> Any:
            yield acrawl.Request(self.base + "/a")

    caplog.set_level(logging.ERROR)
    async with serve(Site({"/a": "a"})) as base:
        result, _ = await run_crawl(Spider, base=base)
    assert result.stats["errors/middleware"] == 1
    assert "iterate them with 'async for', or define Scrapy 2.13's async process_start" \
        in caplog.text


# -- process_spider_input -------------------------------------------------------------------------


class RejectB:
    """Scrapy's HttpErrorMiddleware pattern: refuse some responses before their callback."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def process_spider_input(self, response: acrawl.Response, spider: Any) -> None:
        self.seen.append(response.url)
        if response.url.endswith("/b"):
            raise LookupError(f"rejected {response.url}")


async def test_process_spider_input_raising_sends_the_failure_to_the_errback(
    tmp_path: Path,
) -> None:
    reject = RejectB()
    outputs: list[tuple[Any, list[Any]]] = []

    class Watch:
        def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
            result = list(result)
            outputs.append((response, result))
            return result

    class Spider(Pages):
        spider_middlewares = [Watch, reject]

    site = Site({"/": links("/a", "/b"), "/a": "a", "/b": "b"})
    out = tmp_path / "items.jsonl"
    async with serve(site) as base:
        result, spider = await run_crawl(Spider, base=base, outputs=[str(out)])
    assert sorted(spider.parsed) == ["/", "/a"]  # /b's callback was not called
    assert site.hits["/b"] == 1
    assert len(spider.failures) == 1
    failure = spider.failures[0]
    assert isinstance(failure.value, LookupError) and str(failure.value) == f"rejected {base}/b"
    assert failure.request.url == base + "/b"
    assert {"failed": "/b", "error": "LookupError"} in read_items(out)
    # the errback's output went through process_spider_output, with the rejected response
    (errback_output,) = [(r, o) for r, o in outputs if o and "failed" in o[0]]
    assert errback_output[0] is not None and errback_output[0].url == base + "/b"
    assert result.errors == 0  # the errback handled it


async def test_process_spider_input_without_an_errback(
    caplog: pytest.LogCaptureFixture, tmp_path: Path,
) -> None:
    class Spider(Pages):
        spider_middlewares = [RejectB]

        def start_requests(self) -> Any:
            yield acrawl.Request(self.base + "/")  # no errback

        def parse(self, response: acrawl.Response) -> Any:
            path = response.url.removeprefix(self.base)
            self.parsed.append(path)
            yield {"path": path}
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)  # no errback

    class Handle:
        def process_spider_exception(self, response: Any, exception: Any, spider: Any) -> Any:
            if isinstance(exception, LookupError):
                return [{"handled": response.url.rsplit("/", 1)[1]}]
            return None

    class Handled(Spider):
        spider_middlewares = [RejectB, Handle]

    class Ignore:
        def process_spider_input(self, response: Any, spider: Any) -> None:
            if response.url.endswith("/b"):
                raise acrawl.IgnoreRequest("not wanted", reason="no_b")

    class Ignored(Spider):
        spider_middlewares = [Ignore]

    site = Site({"/": links("/a", "/b"), "/a": "a", "/b": "b"})
    caplog.set_level(logging.ERROR)
    out = tmp_path / "items.jsonl"
    async with serve(site) as base:
        # nobody handles it: a middleware error, logged with what raised
        result, spider = await run_crawl(Spider, base=base)
        assert sorted(spider.parsed) == ["/", "/a"]
        assert result.stats["errors/middleware"] == 1
        assert "spider middleware 'RejectB' process_spider_input raised LookupError" in caplog.text
        # process_spider_exception gets it, and its output is the page's
        result, spider = await run_crawl(Handled, base=base, outputs=[str(out)])
        assert sorted(spider.parsed) == ["/", "/a"]
        assert {"handled": "b"} in read_items(out)
        assert result.errors == 0
        # an IgnoreRequest drops the response: counted, not an error
        result, spider = await run_crawl(Ignored, base=base)
    assert sorted(spider.parsed) == ["/", "/a"]
    assert result.stats["filtered/no_b"] == 1
    assert result.errors == 0


async def test_an_errback_that_raises_goes_to_process_spider_exception_only_with_a_response(
    tmp_path: Path,
) -> None:
    """Scrapy: the errback called for a rejected response, or for an unhandled status (its
    HttpErrorMiddleware rejects it in process_spider_input), is inside the spider
    middlewares (what it raises reaches process_spider_exception); one called for a download
    failure is not."""
    recover = Recover()

    class Spider(Pages):
        spider_middlewares = [RejectB, recover]

        def on_error(self, failure: acrawl.Failure) -> Any:
            raise RuntimeError(f"errback bug on {failure.request.url}")

    site = Site({"/": links("/a", "/b", "/missing"), "/a": "a", "/b": "b",
                 "/from-handler": "h"})
    out = tmp_path / "items.jsonl"
    async with serve(site) as base:
        result, spider = await run_crawl(Spider, base=base, outputs=[str(out)])
    assert sorted((url, str(exc)) for url, exc in recover.got) == [
        (base + "/b", f"errback bug on {base}/b"),
        (base + "/missing", f"errback bug on {base}/missing")]
    assert {"recovered": "RuntimeError"} in read_items(out)
    assert site.hits["/from-handler"] == 1
    assert result.stats["errors/callback"] == 0  # /missing's errback (a 404): offered too
    assert sorted(spider.parsed) == ["/", "/a", "/from-handler"]


async def test_process_spider_input_runs_last_listed_first_and_an_async_one_too() -> None:
    calls: list[str] = []

    class Note:
        def __init__(self, name: str) -> None:
            self.name = name

        async def process_spider_input(self, response: Any, spider: Any) -> None:
            calls.append(self.name)

    class Spider(Pages):
        spider_middlewares = [Note("inner"), Note("outer")]

    async with serve(Site({"/": "home"})) as base:
        _, spider = await run_crawl(Spider, base=base)
    assert spider.parsed == ["/"]
    assert calls == ["outer", "inner"]  # towards the spider (Scrapy's increasing order)


async def test_process_spider_input_returning_a_value_is_a_middleware_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Returns:
        def process_spider_input(self, response: Any, spider: Any) -> Any:
            return response

    class Spider(Pages):
        spider_middlewares = [Returns]

    caplog.set_level(logging.ERROR)
    async with serve(Site({"/": "home"})) as base:
        result, spider = await run_crawl(Spider, base=base)
    assert spider.parsed == [] and spider.failures == []
    assert result.stats["errors/middleware"] == 1
    assert "process_spider_input returned Response; expected None (or raise)" in caplog.text


# -- process_spider_exception ---------------------------------------------------------------------


class Broken(Pages):
    """``/`` yields an item and a request, then raises."""

    def parse(self, response: acrawl.Response) -> Any:
        path = response.url.removeprefix(self.base)
        self.parsed.append(path)
        yield {"path": path}
        if path == "/":
            yield response.follow("/a")
            raise RuntimeError("callback bug")


class Recover:
    def __init__(self) -> None:
        self.got: list[tuple[str, BaseException]] = []

    def process_spider_exception(self, response: acrawl.Response, exception: BaseException,
                                 spider: Any) -> Any:
        self.got.append((response.url, exception))
        yield {"recovered": type(exception).__name__}
        yield response.follow("/from-handler")


class Stamp:
    """Marks every item that passes its process_spider_output."""

    def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
        for out in result:
            if isinstance(out, dict):
                out = {**out, "stamped": True}
            yield out


async def test_process_spider_exception_output_replaces_the_error(tmp_path: Path) -> None:
    recover = Recover()

    class Spider(Broken):
        spider_middlewares = [recover]

    site = Site({"/": "home", "/a": "a", "/from-handler": "h"})
    out = tmp_path / "items.jsonl"
    async with serve(site) as base:
        result, _ = await run_crawl(Spider, base=base, outputs=[str(out)])
    items = read_items(out)
    assert {"recovered": "RuntimeError"} in items
    assert {"path": "/"} in items  # what the callback yielded before it raised is kept
    assert site.hits["/a"] == 1 and site.hits["/from-handler"] == 1
    assert [(url, type(exc)) for url, exc in recover.got] == [(base + "/", RuntimeError)]
    assert "errors/callback" not in result.stats.counters  # handled: no error
    assert result.errors == 0


async def test_recovered_output_goes_through_the_middlewares_after_the_handler(
    tmp_path: Path,
) -> None:
    """Scrapy: the process_spider_output chain "starting from the next spider middleware"."""
    out = tmp_path / "items.jsonl"

    class After(Broken):
        spider_middlewares = [Recover, Stamp]  # Stamp is further out: it sees recovered output

    class Before(Broken):
        spider_middlewares = [Stamp, Recover]  # Stamp is nearer the spider: it does not

    site = Site({"/": "home", "/a": "a", "/from-handler": "h"})
    async with serve(site) as base:
        await run_crawl(After, base=base, outputs=[str(out)])
        after = read_items(out)
        out.unlink()
        await run_crawl(Before, base=base, outputs=[str(out)])
        before = read_items(out)
    assert {"recovered": "RuntimeError", "stamped": True} in after
    assert {"recovered": "RuntimeError"} in before
    assert {"path": "/", "stamped": True} in before  # the callback's own output is stamped
    assert {"path": "/", "stamped": True} in after


async def test_process_spider_exception_returning_none_leaves_the_error_as_it_was(
    caplog: pytest.LogCaptureFixture,
) -> None:
    asked: list[str] = []

    class Pass:
        def __init__(self, name: str) -> None:
            self.name = name

        async def process_spider_exception(self, response: Any, exception: Any,
                                           spider: Any) -> None:
            asked.append(self.name)

    class Spider(Broken):
        spider_middlewares = [Pass("inner"), Pass("outer")]

    caplog.set_level(logging.ERROR)
    async with serve(Site({"/": "home", "/a": "a"})) as base:
        result, spider = await run_crawl(Spider, base=base)
    assert asked == ["inner", "outer"]  # outwards, as process_spider_output
    assert result.stats["errors/callback"] == 1
    assert "spider error in" in caplog.text and "callback bug" in caplog.text
    assert sorted(spider.parsed) == ["/", "/a"]


async def test_the_first_handler_that_returns_output_ends_the_chain(tmp_path: Path) -> None:
    later = Recover()

    class Empty:
        def process_spider_exception(self, response: Any, exception: Any, spider: Any) -> Any:
            return []  # handled: nothing instead

    class Spider(Broken):
        spider_middlewares = [Empty, later]

    async with serve(Site({"/": "home", "/a": "a"})) as base:
        result, _ = await run_crawl(Spider, base=base)
    assert later.got == []
    assert result.errors == 0


async def test_a_failing_exception_handler_is_counted_and_the_error_stays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Fails:
        def process_spider_exception(self, response: Any, exception: Any, spider: Any) -> Any:
            raise TypeError("handler bug")

    class ReturnsAnItem:
        def process_spider_exception(self, response: Any, exception: Any, spider: Any) -> Any:
            return {"one": "item"}  # not an iterable of them

    class Spider(Broken):
        spider_middlewares = [Fails]

    class Spider2(Broken):
        spider_middlewares = [ReturnsAnItem]

    caplog.set_level(logging.ERROR)
    async with serve(Site({"/": "home", "/a": "a"})) as base:
        result, _ = await run_crawl(Spider, base=base)
        assert result.stats["errors/middleware"] == 1
        assert result.stats["errors/callback"] == 1
        assert "spider middleware 'Fails' process_spider_exception raised TypeError: " \
               "handler bug" in caplog.text
        result, _ = await run_crawl(Spider2, base=base)
    assert result.stats["errors/middleware"] == 1
    assert result.stats["errors/callback"] == 1
    assert "process_spider_exception returned dict; expected None or an iterable" in caplog.text


async def test_a_failing_process_spider_output_is_offered_to_the_handlers_after_it(
    tmp_path: Path,
) -> None:
    class Explodes:
        def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
            for out in result:
                if isinstance(out, dict):
                    raise ValueError("output bug")
                yield out

    recover = Recover()

    class Spider(Pages):
        spider_middlewares = [Explodes, recover, Stamp]

    out = tmp_path / "items.jsonl"
    async with serve(Site({"/": "home", "/from-handler": "h"})) as base:
        result, _ = await run_crawl(Spider, base=base, outputs=[str(out)])
    assert [type(exc) for _, exc in recover.got] == [ValueError, ValueError]
    assert read_items(out) == [{"recovered": "ValueError", "stamped": True}] * 2
    assert result.errors == 0


# -- process_spider_output ------------------------------------------------------------------------


class ForgetsToYield:
    def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
        for out in result:  # a loop without yield: returns None
            spider.seen_by_middleware = out


class ReturnsAnItem:
    def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
        return {"path": "one item, not an iterable of them"}


@pytest.mark.parametrize(("middleware", "returned"), [(ForgetsToYield, "NoneType"),
                                                      (ReturnsAnItem, "dict")])
async def test_process_spider_output_returning_no_iterable_is_a_named_error(
    middleware: type, returned: str, caplog: pytest.LogCaptureFixture,
) -> None:
    """Returning None (a loop without ``yield``) lost the page's output without a word."""
    class Spider(Pages):
        spider_middlewares = [middleware]

    async with serve(Site({"/": "home"})) as base:
        result, _ = await run_crawl(Spider, base=base)
    assert result.stats["errors/middleware"] == 1
    assert (f"spider middleware {middleware.__name__!r} process_spider_output returned "
            f"{returned}; expected an iterable") in caplog.text


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_what_process_spider_output_yielded_before_it_raised_is_kept(
    tmp_path: Path, asynchronous: bool, caplog: pytest.LogCaptureFixture,
) -> None:
    """Scrapy passes on what the middleware yielded before the error; it was all lost. It goes
    on through the middlewares after it, and the error is counted."""
    class Midway:
        def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
            for n, out in enumerate(result):
                if n == 1:
                    raise RuntimeError("midway")
                yield out

    class AsyncMidway:
        async def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
            n = 0
            async for out in result:
                if n == 1:
                    raise RuntimeError("midway")
                n += 1
                yield out

    class Spider(Pages):
        spider_middlewares = [AsyncMidway if asynchronous else Midway, Stamp]

        def parse(self, response: acrawl.Response) -> Any:
            yield {"n": 1}
            yield {"n": 2}

    out = tmp_path / "items.jsonl"
    async with serve(Site({"/": "home"})) as base:
        result, _ = await run_crawl(Spider, base=base, outputs=[str(out)])
    assert read_items(out) == [{"n": 1, "stamped": True}]
    assert result.stats["errors/middleware"] == 1
    assert "raised RuntimeError: midway" in caplog.text
    assert "what it yielded before it raised is kept (1)" in caplog.text



async def test_an_async_generator_process_spider_output_gets_an_async_iterable() -> None:
    class AsyncOnly:
        async def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
            async for out in result:
                if not isinstance(out, acrawl.Request) or out.url.endswith("/a"):
                    yield out

    class Spider(Pages):
        spider_middlewares = [AsyncOnly]

    site = Site({"/": links("/a", "/b"), "/a": "a", "/b": "b"})
    async with serve(site) as base:
        result, spider = await run_crawl(Spider, base=base)
    assert sorted(spider.parsed) == ["/", "/a"]
    assert result.errors == 0


async def test_process_spider_output_async_is_used_when_both_are_defined() -> None:
    used: list[str] = []

    class Universal:
        def process_spider_output(self, response: Any, result: Any, spider: Any) -> Any:
            used.append("sync")
            yield from result

        async def process_spider_output_async(self, response: Any, result: Any,
                                              spider: Any) -> Any:
            used.append("async")
            async for out in result:
                yield out

    class Spider(Pages):
        spider_middlewares = [Universal]

    async with serve(Site({"/": links("/a"), "/a": "a"})) as base:
        result, spider = await run_crawl(Spider, base=base)
    assert sorted(spider.parsed) == ["/", "/a"] and result.errors == 0
    assert used == ["async", "async"]


def test_process_spider_output_async_alone_is_a_config_error() -> None:
    class OnlyAsync:
        async def process_spider_output_async(self, response: Any, result: Any,
                                              spider: Any) -> Any:
            async for out in result:
                yield out

    class Spider(Pages):
        spider_middlewares = [OnlyAsync]

    with pytest.raises(ConfigError, match="'OnlyAsync' has process_spider_output_async but no "
                                          "process_spider_output: rename it"):
        make_crawler(Spider, base="http://127.0.0.1:9")


# -- what makes a spider middleware ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["process_start_requests", "process_spider_input",
                                    "process_spider_exception", "process_start"])
def test_any_one_method_makes_a_spider_middleware(method: str) -> None:
    component = type("Only", (), {method: lambda self, *args: None})

    class Spider(Pages):
        spider_middlewares = [component]

    crawler = make_crawler(Spider, base="http://127.0.0.1:9")
    _, spider_mws, _ = crawler.components()
    assert [slot.name for slot in spider_mws] == ["Only"]


def test_an_object_without_spider_middleware_methods_is_refused() -> None:
    class Nothing:
        def open_spider(self, spider: Any) -> None: ...

    class Spider(Pages):
        spider_middlewares = [Nothing]

    with pytest.raises(ConfigError, match="'Nothing' has none of the methods "
                                          "process_spider_output, process_spider_input"):
        make_crawler(Spider, base="http://127.0.0.1:9")


LISTED = '''
    import acrawl

    class Screen:
        def process_spider_input(self, response, spider):
            return None

    class Rescue:
        def process_spider_exception(self, response, exception, spider):
            return None

    class StartOnly:
        def process_start_requests(self, start_requests, spider):
            yield from start_requests

    class Listed(acrawl.Spider):
        name = "listed"
        start_urls = ["http://127.0.0.1:9/"]
        spider_middlewares = [Screen, Rescue, StartOnly]
'''


def test_list_components_lists_spider_middlewares_of_every_shape(tmp_path: Path) -> None:
    spider = write_module(tmp_path, "listed_spider.py", LISTED)
    result = acrawl_run(tmp_path, str(spider), "--list-components", "-s", "max_depth=2")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()
            if line.startswith("spider middleware")]
    assert [(r[2], r[3], r[4]) for r in rows] == [
        ("1", "Screen", "spider"), ("2", "Rescue", "spider"), ("3", "StartOnly", "spider"),
        ("4", "max_depth", "built-in")]
