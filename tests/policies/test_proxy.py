"""The ``proxy`` component and the downloader's per-request proxy, against a small forward proxy
written here (an aiohttp app that records what it receives and forwards it, as proxies do,
without ``Proxy-Authorization``) and real local targets: ``meta["proxy"]`` with credentials,
a rotating list that benches a dead proxy, and proxy environment variables (ignored unless
``proxy_from_env``). :class:`ProxyPool`'s benching is unit-tested with a fake clock."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from acrawl.http import Failure, Request, Response
from acrawl.policies.proxy import ProxyPool
from acrawl.spider import Spider


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Proxy:
    """Records ``(target URL, [Proxy-Authorization values])`` of each request, then forwards it
    without its hop-by-hop headers and Proxy-Authorization."""

    HOP = {"proxy-authorization", "proxy-connection", "connection", "keep-alive", "host"}

    def __init__(self) -> None:
        self.seen: list[tuple[str, list[str]]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.raw_path, request.headers.getall("Proxy-Authorization", [])))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in self.HOP}
        async with aiohttp.ClientSession() as session, session.request(
                request.method, request.raw_path, headers=headers, data=await request.read(),
                allow_redirects=False) as up:
            body = await up.read()
            keep = {k: v for k, v in up.headers.items()
                    if k.lower() in ("content-type", "location", "set-cookie")}
            return web.Response(status=up.status, body=body, headers={**keep, "Via": "test"})


@asynccontextmanager
async def running_proxy(serve_app: Any) -> AsyncIterator[Proxy]:
    proxy = Proxy()
    async with serve_app({"/{tail:.*}": proxy.handle}) as base:
        proxy.url = base
        yield proxy


class Target:
    """A target site: records ``(path, headers)``; ``/redirect`` answers 302 to ``/landing``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path, dict(request.headers)))
        if request.path == "/redirect":
            return web.Response(status=302, headers={"Location": "/landing"})
        return web.Response(text="<html>ok</html>", content_type="text/html")


class Pages(Spider):
    name = "pages"
    settings = {"obey_robots": False}
    requests: list[dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.got: list[str] = []
        self.failed: list[Failure] = []

    def start_requests(self) -> Any:
        for kw in self.requests:
            kw = dict(kw)
            yield Request(self.start_urls[0] + kw.pop("path"), errback=self.eb, **kw)

    def parse(self, response: Response) -> None:
        self.got.append(response.url.split("/", 3)[3])

    def eb(self, failure: Failure) -> None:
        self.failed.append(failure)


async def test_meta_proxy_credentials_go_to_the_proxy_and_never_to_a_target(
        crawl: Any, serve_app: Any) -> None:
    target = Target()
    spy = basic("spy", "spy")
    async with running_proxy(serve_app) as proxy, serve_app({"/{t:.*}": target.handle}) as base:
        with_creds = proxy.url.replace("http://", "http://us%20er:p%40ss@")

        class Through(Pages):
            requests = [
                {"path": "/a", "meta": {"proxy": with_creds},
                 "headers": {"Proxy-Authorization": spy}},
                {"path": "/redirect", "meta": {"proxy": with_creds}},
                {"path": "/direct", "meta": {"proxy": None},
                 "headers": {"Proxy-Authorization": spy}},
                {"path": "/plain", "meta": {"proxy": proxy.url}},
            ]

        result, spider = await crawl(Through, start_urls=[base])
    assert sorted(spider.got) == ["a", "direct", "landing", "plain"]  # type: ignore[attr-defined]
    by_path = {url.split("/", 3)[3]: auth for url, auth in proxy.seen}
    creds = basic("us er", "p@ss")  # percent-decoded from the URL
    assert by_path == {"a": [creds], "redirect": [creds], "landing": [creds], "plain": []}
    # no target ever received a Proxy-Authorization: not the spider's, not the proxy's
    assert sorted(path for path, _ in target.seen) == [
        "/a", "/direct", "/landing", "/plain", "/redirect"]
    assert all("Proxy-Authorization" not in h for _, h in target.seen), target.seen
    assert result.stats["errors/middleware"] == 0


async def test_a_bad_meta_proxy_fails_that_request_with_a_clear_error(
        crawl: Any, serve_app: Any) -> None:
    target = Target()
    async with serve_app({"/{t:.*}": target.handle}) as base:

        class Bad(Pages):
            requests = [{"path": "/x", "meta": {"proxy": "socks5://127.0.0.1:1080"}},
                        {"path": "/y"}]

        _, spider = await crawl(Bad, start_urls=[base])
    assert spider.got == ["y"]  # type: ignore[attr-defined]
    [failure] = spider.failed  # type: ignore[attr-defined]
    assert "meta['proxy'] must be an http:// proxy URL" in str(failure.exception)


async def test_a_proxy_list_rotates_and_benches_a_dead_proxy(
        crawl: Any, serve_app: Any, closed_port: int) -> None:
    """``proxy = [dead, live]``: the first request tries the dead one (a closed port), which is
    benched; its retry and every later request go through the live one."""
    target = Target()
    async with running_proxy(serve_app) as live, serve_app({"/{t:.*}": target.handle}) as base:
        dead = f"http://u:dead@127.0.0.1:{closed_port}"

        class Five(Pages):
            requests = [{"path": f"/p/{n}"} for n in range(5)]

        result, spider = await crawl(
            Five, start_urls=[base],
            settings={"proxy": [dead, live.url.replace("http://", "http://u:live@")],
                      "concurrency": 1, "retry_times": 2})
    assert sorted(spider.got) == [f"p/{n}" for n in range(5)]  # type: ignore[attr-defined]
    assert spider.failed == []  # type: ignore[attr-defined]
    assert sorted(url.split("/", 3)[3] for url, _ in live.seen) == [f"p/{n}" for n in range(5)]
    assert {a for _, auth in live.seen for a in auth} == {basic("u", "live")}
    assert result.stats["proxy/benched"] == 1
    assert result.stats["retries"] == 1  # only the one request that met the dead proxy


@pytest.mark.parametrize("opt_in", [False, True])
async def test_proxy_environment_variables_only_when_opted_in(
        crawl: Any, serve_app: Any, monkeypatch: pytest.MonkeyPatch, opt_in: bool) -> None:
    target = Target()
    async with running_proxy(serve_app) as proxy, serve_app({"/{t:.*}": target.handle}) as base:
        for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)

        class Two(Pages):
            requests = [{"path": "/one"}, {"path": "/two"}]

        _, spider = await crawl(Two, start_urls=[base], settings={"proxy_from_env": opt_in})
        assert sorted(spider.got) == ["one", "two"]  # type: ignore[attr-defined]
        assert len(proxy.seen) == (2 if opt_in else 0)
        if opt_in:  # NO_PROXY names the target: direct again
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            _, spider = await crawl(Two, start_urls=[base], settings={"proxy_from_env": True})
            assert sorted(spider.got) == ["one", "two"]  # type: ignore[attr-defined]
            assert len(proxy.seen) == 2
    assert len(target.seen) == (4 if opt_in else 2)


# -- ProxyPool ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pool_round_robin_and_exponential_bench() -> None:
    clock = Clock()
    pool = ProxyPool(["http://a:1", "http://b:1", "http://c:1"], bench=10, clock=clock)
    assert [pool.choose() for _ in range(4)] == ["http://a:1", "http://b:1", "http://c:1",
                                                "http://a:1"]
    assert pool.failed("http://b:1") == 10
    assert {pool.choose() for _ in range(6)} == {"http://a:1", "http://c:1"}
    clock.now += 10.5  # back on the bench's end; fails again: twice as long
    assert "http://b:1" in {pool.choose() for _ in range(3)}
    assert pool.failed("http://b:1") == 20
    assert pool.failed("http://b:1") == 40
    assert pool.benched() == ["http://b:1"]
    pool.succeeded("http://b:1")  # healthy again: back in turn, and the next failure is 10 s
    assert pool.benched() == [] and pool.failed("http://b:1") == 10
    for _ in range(20):
        pool.failed("http://a:1")
    assert pool.failed("http://a:1") == 600  # capped


def test_pool_with_every_proxy_benched_uses_the_one_back_soonest() -> None:
    clock = Clock()
    pool = ProxyPool(["http://a:1", "http://b:1"], bench=10, clock=clock)
    pool.failed("http://a:1")
    pool.failed("http://a:1")  # 20 s
    pool.failed("http://b:1")  # 10 s
    assert [pool.choose() for _ in range(3)] == ["http://b:1"] * 3
