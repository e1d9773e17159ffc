"""acrawl.testing.site: the fake site users declare in their tests, its faults and its log."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from acrawl.errors import ConnectError, DownloadTimeout
from acrawl.http import Response
from acrawl.spider import Spider
from acrawl.testing import (
    FakeSite,
    Page,
    crawl,
    crawl_async,
    flaky,
    gzip_bomb,
    redirect_chain,
    reset,
    stall,
    trickle,
)

FAST = {"timeout": 1.0, "retry_times": 0, "obey_robots": False}


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class Pages(Spider):
    name = "pages"

    def parse(self, response: Response) -> Any:
        yield {"url": response.url, "status": response.status, "size": len(response.body)}


def test_pages_of_every_kind_and_the_log() -> None:
    with FakeSite({
        "/": "<h1>Home</h1>",
        "/raw": b"\x00\x01",
        "/api": {"a": [1, 2]},
        "/gone": Page("<h1>Gone</h1>", status=410, headers={"X-Why": "old"}),
        "/text": Page("plain", content_type="text/plain"),
    }, robots="User-agent: *\nDisallow: /private/") as site:
        assert site.base_url.startswith("http://127.0.0.1:")
        status, headers, body = _get(site.url("/"))
        assert (status, headers["Content-Type"], body) == (200, "text/html; charset=utf-8",
                                                            b"<h1>Home</h1>")
        assert _get(site.url("/raw"))[2] == b"\x00\x01"
        status, headers, body = _get(site.url("/api"))
        assert headers["Content-Type"] == "application/json" and json.loads(body) == {
            "a": [1, 2]}
        status, headers, _ = _get(site.url("gone"))
        assert (status, headers["X-Why"]) == (410, "old")
        assert _get(site.url("/text"))[1]["Content-Type"] == "text/plain"
        assert _get(site.url("/robots.txt"))[2] == b"User-agent: *\nDisallow: /private/"
        assert _get(site.url("/nowhere?x=1"))[0] == 404
        assert site.paths == ["/", "/raw", "/api", "/gone", "/text", "/robots.txt",
                              "/nowhere?x=1"]
        assert site.hits("/nowhere") == site.hits("/nowhere?x=1") == 1
        assert site.hits() == 7
        assert site.log[0].method == "GET" and "User-Agent" in site.log[0].headers
    with pytest.raises(OSError):
        _get(site.url("/"))  # closed


def test_only_loopback_addresses() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FakeSite({}, host="0.0.0.0")


def test_a_page_may_be_changed_while_the_site_runs() -> None:
    with FakeSite({"/": "one"}) as site:
        assert _get(site.url("/"))[2] == b"one"
        site.pages["/"] = "two"
        assert _get(site.url("/"))[2] == b"two"


def test_delay_and_crawl_from_a_plain_test(acrawl_site: Any) -> None:
    site = acrawl_site({"/": Page("<a href='/b'>b</a>", delay=0.3), "/b": "<p>b</p>"})

    class Follow(Pages):
        def parse(self, response: Response) -> Any:
            yield from super().parse(response)
            yield from response.follow_all(css="a")

    record = crawl(Follow, start_urls=[site.url("/")], settings=FAST)
    assert [i["url"] for i in record.items] == [site.url("/"), site.url("/b")]
    assert record.reason == "finished" and record.stats["pages"] == 2
    first, second = (h for h in site.log)
    assert second.time - first.time >= 0.25  # / answered after its delay, then /b was asked


async def test_stall_before_and_after_the_headers_costs_one_timeout(acrawl_site: Any) -> None:
    site = acrawl_site({"/a": stall(), "/b": stall(headers=False)})
    record = await crawl_async(Pages, start_urls=[site.url("/a"), site.url("/b")],
                               settings={**FAST, "timeout": 0.5}, time_limit=20)
    assert record.items == []
    assert sorted(type(e).__name__ for e in record.errors) == ["DownloadTimeout"] * 2
    assert record.stats["failed/DownloadTimeout"] == 2


async def test_trickle_is_cut_by_the_timeout(acrawl_site: Any) -> None:
    site = acrawl_site({"/": trickle(b"x" * 100, bytes_per_second=10)})
    record = await crawl_async(Pages, start_urls=[site.url("/")],
                               settings={**FAST, "timeout": 0.5})
    [exc] = record.errors
    assert isinstance(exc, DownloadTimeout)


async def test_reset_is_a_connection_error(acrawl_site: Any) -> None:
    site = acrawl_site({"/": reset()})
    record = await crawl_async(Pages, start_urls=[site.url("/")], settings=FAST)
    [exc] = record.errors
    assert isinstance(exc, ConnectError)
    assert record.items == []


async def test_gzip_bomb_is_cut_at_max_response_size(acrawl_site: Any) -> None:
    site = acrawl_site({"/": gzip_bomb(64 << 20)})
    record = await crawl_async(Pages, start_urls=[site.url("/")],
                               settings={**FAST, "timeout": 10, "max_response_size": 1 << 20})
    [response] = record.responses
    assert response.truncated and len(response.body) == 1 << 20
    assert response.body == bytes(1 << 20)
    assert record.stats["responses/truncated"] == 1


def test_the_gzip_bomb_unpacks_to_its_size() -> None:
    import gzip

    from acrawl.testing.site import _bomb

    for size in (0, 5, 1 << 20, (3 << 20) + 7):
        assert gzip.decompress(_bomb(size)) == bytes(size)
    assert len(_bomb(1 << 30)) < 1_100_000


async def test_redirect_chain_and_flaky(acrawl_site: Any) -> None:
    site = acrawl_site({"/start": redirect_chain(3, to="/end"), "/end": "<h1>end</h1>",
                        "/busy": flaky("<p>ok</p>", failures=1, status=500)})
    record = await crawl_async(Pages, start_urls=[site.url("/start"), site.url("/busy")],
                               settings=FAST)
    assert site.paths.count("/start") == 1
    assert [p for p in site.paths if p.startswith("/start")] == [
        "/start", "/start?hop=1", "/start?hop=2"]
    assert record.urls == [site.url("/end")]
    assert record.responses[0].request.redirects == 3
    # retry_times 0: the first 500 is final, and not a page
    assert record.stats["http_ignored/500"] == 1 and "retries" not in record.stats
    assert site.hits("/busy") == 1


def test_crawl_inside_an_event_loop_says_to_await_crawl_async() -> None:
    import asyncio

    async def inside() -> None:
        with pytest.raises(RuntimeError, match="crawl_async"):
            crawl(Pages, start_urls=["http://127.0.0.1:9/"])

    asyncio.run(inside())
