"""acrawl.testing.crawl / crawl_async: a real in-process crawl and its CrawlRecord."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acrawl.errors import CallbackError, ConfigError
from acrawl.http import Request, Response
from acrawl.spider import Spider
from acrawl.testing import crawl, crawl_async, stall

SITE = {
    "/": '<a href="/a">a</a> <a href="/a#again">a</a> <a href="http://elsewhere.test/">x</a>'
         ' <a href="/private/p">p</a> <a href="/boom">boom</a>',
    "/a": "<title>A</title>",
    "/private/p": "<title>P</title>",
    "/boom": "<title>Boom</title>",
}


class Shop(Spider):
    name = "shop"
    allowed_hosts = ["127.0.0.1"]

    def parse(self, response: Response) -> Any:
        if response.url.endswith("/boom"):
            raise ValueError("no boom here")
        yield {"url": response.url, "title": response.css("title::text").get()}
        yield from response.follow_all(css="a")


def test_the_record_of_a_crawl(acrawl_site: Any, tmp_path: Path) -> None:
    site = acrawl_site(SITE, robots="User-agent: *\nDisallow: /private/")
    out = tmp_path / "items.jsonl"
    record = crawl(Shop, start_urls=[site.url("/")], settings={"timeout": 5},
                   outputs=[str(out)])
    assert record.reason == "finished"
    assert record.items == [{"url": site.url("/"), "title": None},
                            {"url": site.url("/a"), "title": "A"}]
    assert [json.loads(line) for line in out.read_text().splitlines()] == record.items
    assert [r.url for r in record.requests] == [site.url(p) for p in
                                                ("/", "/a", "/private/p", "/boom")]
    assert record.dropped_for("dropped/duplicate") == [site.url("/a#again")]
    assert record.dropped_for("filtered/allowed_hosts") == ["http://elsewhere.test/"]
    assert record.dropped_for("filtered/robots") == [site.url("/private/p")]
    assert len(record.dropped_for("filtered")) == 2
    assert record.urls == [site.url("/"), site.url("/a"), site.url("/boom")]
    [error] = record.errors
    assert isinstance(error, CallbackError) and isinstance(error.wrapped, ValueError)
    assert record.stats["pages"] == 3 and record.stats["errors/callback"] == 1
    assert site.hits("/private/p") == 0


async def test_settings_and_arguments_are_validated_as_for_a_crawl() -> None:
    with pytest.raises(ConfigError, match="concurrency"):
        await crawl_async(Shop, settings={"concurrency": 0}, start_urls=["http://127.0.0.1:9/"])
    with pytest.raises(ConfigError, match="start_urls"):
        await crawl_async(Shop, start_urls=[3])


async def test_a_crawl_that_does_not_end_fails_after_its_time_limit(acrawl_site: Any) -> None:
    site = acrawl_site({"/": stall()})
    with pytest.raises(AssertionError, match="did not end within 1s"):
        await crawl_async(Shop, start_urls=[site.url("/")], settings={"timeout": 60},
                          time_limit=1)


async def test_a_download_handler_replaces_what_fetches() -> None:
    """The seam a recorded replay plugs into: no network, the same crawl."""

    class Canned:
        def __init__(self) -> None:
            self.fetched: list[str] = []

        async def fetch(self, request: Request) -> Response:
            self.fetched.append(request.url)
            body = b'<title>canned</title><a href="/next">n</a>' if request.url.endswith(
                "/") else b"<title>next</title>"
            return Response(url=request.url, status=200, body=body, request=request,
                            headers={"Content-Type": "text/html"})

        async def close(self) -> None:
            return None

    class Anywhere(Shop):
        allowed_hosts = []

    handler = Canned()
    record = await crawl_async(Anywhere, start_urls=["http://shop.test/"], download_handler=handler,
                               settings={"obey_robots": False})
    assert handler.fetched == ["http://shop.test/", "http://shop.test/next"]
    assert [i["title"] for i in record.items] == ["canned", "next"]


def test_project_settings_apply_unless_project_is_false(acrawl_site: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    site = acrawl_site({"/": '<a href="/a">a</a>', "/a": "a"})
    (tmp_path / "pyproject.toml").write_text("[tool.acrawl.settings]\nmax_pages = 1\n")
    monkeypatch.chdir(tmp_path)
    assert len(crawl(Shop, start_urls=[site.url("/")]).items) == 1
    assert len(crawl(Shop, start_urls=[site.url("/")], project=False).items) == 2
