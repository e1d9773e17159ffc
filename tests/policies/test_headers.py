"""The ``headers`` component: what a local server receives — the defaults and the user agent,
a request's own headers winning (any case), ``Referer``, credentials from ``default_headers``
only for the origins the user named, and nothing of it with ``-s disable=headers``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from acrawl.http import Request, Response
from acrawl.policies.headers import HeadersMiddleware
from acrawl.spider import Spider


class Recorder:
    def __init__(self) -> None:
        self.seen: dict[str, dict[str, str]] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen[request.path] = dict(request.headers)
        links = "".join(f'<a href="{h}">x</a>' for h in request.query.getall("to", []))
        return web.Response(text=f"<html>{links}</html>", content_type="text/html")


class Follow(Spider):
    name = "follow"
    settings = {"retry_times": 0}
    own: dict[str, dict[str, str]] = {}  # path -> the request's own headers

    def start_requests(self) -> Any:
        for url in self.start_urls:
            path = url.split("/", 3)[3].split("?")[0]
            yield Request(url, headers=self.own.get("/" + path))

    def parse(self, response: Response) -> Any:
        yield from response.follow_all(css="a")


async def test_defaults_and_the_user_agent_are_sent_and_a_requests_own_headers_win(
        crawl: Any, serve_app: Any) -> None:
    rec = Recorder()
    async with serve_app({"/{t:.*}": rec.handle}) as base:

        class Own(Follow):
            own = {"/mine": {"user-agent": "mine/2", "ACCEPT": "text/plain",
                             "Referer": "http://own.test/"}}

        await crawl(Own, start_urls=[f"{base}/start?to=/child", f"{base}/mine?to=/child2"],
                    settings={"user_agent": "bot/1", "default_headers": {
                        "Accept": "text/html", "X-Team": "crawl"}})
    start, child, mine = rec.seen["/start"], rec.seen["/child"], rec.seen["/mine"]
    assert (start["User-Agent"], start["Accept"], start["X-Team"]) == ("bot/1", "text/html",
                                                                      "crawl")
    assert "Referer" not in start
    assert child["Referer"] == f"{base}/start?to=/child"
    assert (child["User-Agent"], child["X-Team"]) == ("bot/1", "crawl")
    # the request's own, in any case, are sent once and win; the other defaults are added
    assert (mine["User-Agent"], mine["Accept"], mine["Referer"], mine["X-Team"]) == (
        "mine/2", "text/plain", "http://own.test/", "crawl")
    assert rec.seen["/robots.txt"]["User-Agent"] == "bot/1"  # robots.txt too
    assert rec.seen["/robots.txt"]["X-Team"] == "crawl"


async def test_a_user_agent_in_default_headers_wins_over_the_setting(
        crawl: Any, serve_app: Any) -> None:
    rec = Recorder()
    async with serve_app({"/{t:.*}": rec.handle}) as base:
        await crawl(Follow, start_urls=[base + "/p"], settings={
            "obey_robots": False, "user_agent": "setting/1",
            "default_headers": {"User-Agent": "header/1"}})
    assert rec.seen["/p"]["User-Agent"] == "header/1"


async def test_default_credentials_go_only_to_the_named_origins(
        crawl: Any, serve_app: Any) -> None:
    """A start URL's origin gets ``Authorization``/``Cookie`` from ``default_headers``; another
    origin (here another port) a link leads to does not — but still gets the other defaults."""
    named, other = Recorder(), Recorder()
    async with serve_app({"/{t:.*}": other.handle}) as elsewhere, \
            serve_app({"/{t:.*}": named.handle}) as base:
        await crawl(Follow, start_urls=[f"{base}/start?to=/same&to={elsewhere}/away"],
                    allowed_hosts=["127.0.0.1"],
                    settings={"default_headers": {"Authorization": "Bearer t", "Cookie": "c=1",
                                                  "Proxy-Authorization": "Basic eDp5",
                                                  "X-Plain": "yes"}})
    for path in ("/start", "/same", "/robots.txt"):
        assert named.seen[path]["Authorization"] == "Bearer t", path
        assert named.seen[path]["Cookie"] == "c=1", path
    away = other.seen["/away"]
    assert "Authorization" not in away and "Cookie" not in away
    assert away["X-Plain"] == "yes"
    assert all("Proxy-Authorization" not in h for rec in (named, other)
               for h in rec.seen.values())


async def test_disable_headers_sends_only_what_requests_carry(
        crawl: Any, serve_app: Any) -> None:
    rec = Recorder()
    async with serve_app({"/{t:.*}": rec.handle}) as base:

        class Own(Follow):
            own = {"/p": {"X-Own": "1"}}

        await crawl(Own, start_urls=[base + "/p?to=/q"],
                    settings={"obey_robots": False, "disable": "headers"})
    assert rec.seen["/p"]["X-Own"] == "1"
    for path in ("/p", "/q"):
        assert not {"User-Agent", "Accept-Language", "Referer"} & set(rec.seen[path]), path


def test_the_common_case_is_one_update() -> None:
    mw = HeadersMiddleware(user_agent="bot/1", default_headers={"Accept": "*/*"})
    request = Request("http://a.test/", referer="http://a.test/from")
    mw.process_request(request, None)
    assert request.headers == {"Accept": "*/*", "User-Agent": "bot/1",
                               "Referer": "http://a.test/from"}
    again = Request("http://a.test/", headers=request.headers)
    mw.process_request(again, None)  # already there: nothing added twice
    assert again.headers == request.headers
