"""Politeness against real local servers: per-host and global concurrency, download_delay,
robots.txt (Crawl-delay, 4xx, 5xx, once per origin, user_agent), AutoThrottle, cookies per
host, the proxy and its credentials, Retry-After as an HTTP date, and exhausted retries.

Every server here is a small aiohttp app written for the test and served on loopback
addresses only (127.0.0.1, and 127.0.0.2 where a second *host* is needed). The servers record
what they see -- arrival time, the address and port a request came in on, its headers, and how
many requests were in flight at once -- and the assertions are made on those server-side
records, not on what the crawler says it did.

The contract (/work/shared/CONTRACT.md): "Politeness by default: robots.txt obeyed (with
Crawl-delay), Retry-After honoured, per-host concurrency and delay enforced", and
"Proxy-Authorization is derived from the current proxy on every request".
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
import pytest
from aiohttp import web
from multidict import CIMultiDict

import acrawl
from acrawl.crawler import Crawler, CrawlResult
from acrawl.errors import HttpError
from acrawl.policies.throttle import AutoThrottle

ALIAS = "127.0.0.2"  # a second loopback address: a second *host* (Linux binds it as is)
EPS = 0.01  # clock slack on "at least N seconds apart" assertions (same clock, same process)
FAST = {"timeout": 3.0, "retry_times": 0}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- servers that record what they see ------------------------------------------------------------
@attrs.define
class Hit:
    t: float  # time.monotonic() when the handler was entered
    site: str  # "ip:port" the request arrived on
    path: str  # path and query
    headers: CIMultiDict[str]

    @property
    def ip(self) -> str:
        return self.site.rsplit(":", 1)[0]


class Sites:
    """One aiohttp app (``handler`` answers every path) served on several loopback
    addresses/ports; records every request and the peak number in flight, per address and in
    total (``/robots.txt`` is recorded but not counted as in flight)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.hits: list[Hit] = []
        self.active: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.total = 0
        self.total_peak = 0
        self.urls: list[str] = []
        self._runner: web.AppRunner | None = None

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        assert request.transport is not None
        ip, port = request.transport.get_extra_info("sockname")[:2]
        site = f"{ip}:{port}"
        self.hits.append(Hit(time.monotonic(), site, request.path_qs,
                             CIMultiDict(request.headers)))
        if request.path == "/robots.txt":
            return await handler(request)
        self.active[site] += 1
        self.total += 1
        self.peak[site] = max(self.peak[site], self.active[site])
        self.total_peak = max(self.total_peak, self.total)
        try:
            return await handler(request)
        finally:
            self.active[site] -= 1
            self.total -= 1

    async def start(self, *hosts: str) -> list[str]:
        """Serve on each of ``hosts`` (any free port; a host may repeat: another port).
        Skips the test when a loopback alias cannot be bound."""
        app = web.Application(middlewares=[self._record])
        app.router.add_route("*", "/{tail:.*}", self.handler)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        for host in hosts:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((host, 0))
            except OSError:
                sock.close()
                await self.close()
                pytest.skip(f"cannot bind {host} (loopback alias) on this machine")
            site = web.SockSite(self._runner, sock)
            await site.start()
            self.urls.append(f"http://{host}:{sock.getsockname()[1]}")
        return self.urls

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # what the server saw
    def site_of(self, base_url: str) -> str:
        return urlsplit(base_url).netloc

    def pages(self, base_url: str | None = None, prefix: str = "/") -> list[Hit]:
        """Requests other than robots.txt (on ``base_url`` only, if given), in arrival order."""
        site = self.site_of(base_url) if base_url else None
        return [h for h in self.hits if h.path != "/robots.txt" and h.path.startswith(prefix)
                and (site is None or h.site == site)]

    def robots_hits(self, base_url: str | None = None) -> list[Hit]:
        site = self.site_of(base_url) if base_url else None
        return [h for h in self.hits if h.path == "/robots.txt"
                and (site is None or h.site == site)]


@contextlib.asynccontextmanager
async def serve(handler: Handler, *hosts: str) -> AsyncIterator[Sites]:
    sites = Sites(handler)
    try:
        await sites.start(*hosts)
        yield sites
    finally:
        await sites.close()


def gaps(hits: list[Hit]) -> list[float]:
    """Start-to-start spacing of consecutive requests, in seconds."""
    times = sorted(h.t for h in hits)
    return [b - a for a, b in itertools.pairwise(times)]


def page(text: str = "ok") -> web.Response:
    return web.Response(text=f"<html><title>{text}</title><body>{text}</body></html>",
                        content_type="text/html")


def no_robots(request: web.Request) -> web.Response | None:
    """``/robots.txt`` -> 404 (allow everything); None for other paths."""
    return web.Response(status=404, text="no robots") if request.path == "/robots.txt" else None


# -- the spider and the crawl -------------------------------------------------------------------
class Probe(acrawl.Spider):
    """Requests ``start_urls`` (with ``headers``), records the pages and the failures."""

    name = "politeness-probe"
    headers: dict[str, str] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pages: list[str] = []
        self.failures: list[tuple[float, acrawl.Failure]] = []

    def start_requests(self) -> Any:
        for url in self.start_urls:
            yield acrawl.Request(url, headers=dict(self.headers), errback=self.on_error)

    def parse(self, response: acrawl.Response) -> Any:
        self.pages.append(response.url)
        yield {"url": response.url, "status": response.status}

    def on_error(self, failure: acrawl.Failure) -> None:
        self.failures.append((time.monotonic(), failure))


async def crawl(spider_args: dict[str, Any], settings: dict[str, Any] | None = None, *,
                spider_cls: type[Probe] = Probe, bound: float = 30.0,
                ) -> tuple[CrawlResult, Probe]:
    """Run one crawl in-process to its end (failing if it takes more than ``bound`` s)."""
    crawler = Crawler.create(spider_cls, spider_args=spider_args,
                             settings={**FAST, **(settings or {})}, outputs=[],
                             entry_points=False)
    result = await asyncio.wait_for(crawler.crawl(), bound)
    spider = crawler.spider
    assert isinstance(spider, Probe)
    return result, spider


def slow_handler(seconds: float) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := no_robots(request)) is not None:
            return r
        await asyncio.sleep(seconds)
        return page(request.path)
    return handler


# -- concurrency ----------------------------------------------------------------------------------
async def test_per_host_concurrency_is_enforced_and_hosts_run_in_parallel() -> None:
    async with serve(slow_handler(0.3), "127.0.0.1", ALIAS) as sites:
        a, b = sites.urls
        urls = [f"{base}/slow/{n}" for base in (a, b) for n in range(8)]
        result, spider = await crawl({"start_urls": urls},
                                     {"per_host_concurrency": 2, "concurrency": 16})
    assert len(spider.pages) == 16 and spider.failures == []
    assert sites.peak[sites.site_of(a)] == 2, dict(sites.peak)
    assert sites.peak[sites.site_of(b)] == 2, dict(sites.peak)
    assert sites.total_peak >= 3, "the two hosts were not served in parallel"
    assert result.reason == "finished"


async def test_global_concurrency_is_enforced_across_hosts() -> None:
    async with serve(slow_handler(0.3), *["127.0.0.1"] * 4) as sites:
        urls = [f"{base}/slow/{n}" for base in sites.urls for n in range(4)]
        _, spider = await crawl({"start_urls": urls},
                                {"concurrency": 3, "per_host_concurrency": 8})
    assert len(spider.pages) == 16 and spider.failures == []
    assert sites.total_peak == 3, (sites.total_peak, dict(sites.peak))
    assert len({h.site for h in sites.pages()}) == 4


# -- download_delay -------------------------------------------------------------------------------
async def test_download_delay_spaces_requests_to_one_host_only() -> None:
    delay = 0.4
    async with serve(slow_handler(0), "127.0.0.1", ALIAS) as sites:
        a, b = sites.urls
        urls = [f"{base}/p/{n}" for n in range(4) for base in (a, b)]
        _, spider = await crawl({"start_urls": urls}, {"download_delay": delay})
    assert len(spider.pages) == 8
    hits_a, hits_b = sites.pages(a), sites.pages(b)
    assert len(hits_a) == len(hits_b) == 4
    for hits in (hits_a, hits_b):
        assert min(gaps(hits)) >= delay - EPS, [round(g, 3) for g in gaps(hits)]
    # the other host is not held back by the first one's delay: its first page starts long
    # before the first host's second page
    assert abs(hits_a[0].t - hits_b[0].t) < delay / 2
    assert hits_b[0].t < hits_a[1].t


# -- robots.txt -----------------------------------------------------------------------------------
def robots_handler(robots: str | int, pages: Handler | None = None, *,
                   robots_latency: float = 0.0) -> Handler:
    """``robots``: the robots.txt text, or a status code to answer it with."""
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/robots.txt":
            await asyncio.sleep(robots_latency)
            if isinstance(robots, int):
                return web.Response(status=robots, text="robots status")
            return web.Response(text=robots, content_type="text/plain")
        if pages is not None:
            return await pages(request)
        return page(request.path)
    return handler


@pytest.mark.parametrize("per_host", [8, 1])
async def test_robots_crawl_delay_is_honoured(per_host: int) -> None:
    """Crawl-delay 0.5 s: no two page requests to the host start less than 0.5 s apart --
    including the first ones, which are taken before robots.txt has been read."""
    delay = 0.5
    async with serve(robots_handler(f"User-agent: *\nCrawl-delay: {delay}\n"),
                     "127.0.0.1") as sites:
        [a] = sites.urls
        _, spider = await crawl({"start_urls": [f"{a}/p/{n}" for n in range(4)]},
                                {"per_host_concurrency": per_host})
    assert len(spider.pages) == 4
    assert len(sites.robots_hits()) == 1
    spacing = gaps(sites.pages())
    assert min(spacing) >= delay - EPS, f"Crawl-delay {delay} s not kept: " + str(
        [round(g, 3) for g in spacing])


async def test_robots_404_allows_everything() -> None:
    async with serve(robots_handler(404), "127.0.0.1") as sites:
        [a] = sites.urls
        urls = [f"{a}/private/x", f"{a}/admin/", f"{a}/"]
        result, spider = await crawl({"start_urls": urls})
    assert sorted(urlsplit(u).path for u in spider.pages) == ["/", "/admin/", "/private/x"]
    assert len(sites.robots_hits()) == 1
    assert not any(k.startswith("filtered/") for k in result.stats.counters), dict(
        result.stats.counters)


async def test_robots_5xx_three_times_disallows_that_origin_only() -> None:
    """robots.txt answering 500 on all three attempts: nothing of that origin is fetched and
    every request is counted as ``filtered/robots_unavailable``; another origin (another port)
    with a normal robots.txt is crawled meanwhile."""
    ports: dict[str, int] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        port = request.transport.get_extra_info("sockname")[1]
        if request.path == "/robots.txt":
            if port == ports["down"]:
                return web.Response(status=500, text="robots broken")
            return web.Response(status=404)
        return page(request.path)

    async with serve(handler, "127.0.0.1", "127.0.0.1") as sites:
        down, up = sites.urls
        ports["down"], ports["up"] = urlsplit(down).port or 0, urlsplit(up).port or 0
        urls = [f"{base}/p/{n}" for base in (down, up) for n in range(3)]
        result, spider = await crawl({"start_urls": urls}, bound=20)
    assert len(sites.robots_hits(down)) == 3, "robots.txt should be tried three times"
    assert sites.pages(down) == []
    assert result.stats["filtered/robots_unavailable"] == 3
    assert sorted(spider.pages) == [f"{up}/p/{n}" for n in range(3)]
    assert len(sites.robots_hits(up)) == 1


async def test_robots_txt_is_fetched_once_per_origin_under_concurrency() -> None:
    async with serve(robots_handler("User-agent: *\nDisallow: /private/\n",
                                    robots_latency=0.3), "127.0.0.1", "127.0.0.1") as sites:
        urls = [f"{base}/p/{n}" for base in sites.urls for n in range(20)]
        urls += [f"{base}/private/{n}" for base in sites.urls for n in range(5)]
        result, spider = await crawl({"start_urls": urls},
                                     {"concurrency": 32, "per_host_concurrency": 16})
    for base in sites.urls:
        assert len(sites.robots_hits(base)) == 1, base
    assert len(spider.pages) == 40
    assert sites.pages(prefix="/private/") == []
    assert result.stats["filtered/robots"] == 10


async def test_obey_robots_false_never_fetches_robots_txt() -> None:
    async with serve(robots_handler("User-agent: *\nDisallow: /\n"), "127.0.0.1") as sites:
        [a] = sites.urls
        _, spider = await crawl({"start_urls": [f"{a}/p/{n}" for n in range(3)]},
                                {"obey_robots": False})
    assert sites.robots_hits() == []
    assert len(spider.pages) == 3


async def test_user_agent_is_sent_and_its_robots_rules_apply() -> None:
    """The ``user_agent`` setting goes out on page requests and on the robots.txt request, and
    the robots.txt group naming that agent is the one applied. The control crawl (default
    user agent) shows the rule is specific to the agent."""
    robots = ("User-agent: PoliteBot\nDisallow: /private/\n\n"
              "User-agent: *\nDisallow:\n")
    ua = "PoliteBot/2.0 (+http://bot.example.invalid/info)"
    async with serve(robots_handler(robots), "127.0.0.1") as sites:
        [a] = sites.urls
        urls = [f"{a}/public/1", f"{a}/private/1"]
        result, spider = await crawl({"start_urls": urls}, {"user_agent": ua})
        assert [urlsplit(u).path for u in spider.pages] == ["/public/1"]
        assert result.stats["filtered/robots"] == 1
        assert sites.pages(prefix="/private/") == []
        [robots_hit] = sites.robots_hits()
        assert robots_hit.headers.get("User-Agent") == ua
        assert [h.headers.get("User-Agent") for h in sites.pages()] == [ua]

        sites.hits.clear()
        _, control = await crawl({"start_urls": urls})  # the default user agent
    assert sorted(urlsplit(u).path for u in control.pages) == ["/private/1", "/public/1"]
    assert all("PoliteBot" not in (h.headers.get("User-Agent") or "") for h in sites.hits)


# -- AutoThrottle ---------------------------------------------------------------------------------
def test_autothrottle_converges_to_latency_over_target() -> None:
    t = AutoThrottle(target_concurrency=2.0, min_delay=0.0, max_delay=60.0)
    seq = [t.observe("a.test", latency=0.4, status=200) for _ in range(20)]
    assert seq[0] == pytest.approx(0.1)  # halfway from 0 to 0.4 / 2
    assert all(x <= y for x, y in itertools.pairwise(seq)), seq  # monotonic
    assert seq[-1] == pytest.approx(0.2, abs=1e-4)
    # from above too: a slow phase, then the server gets fast again
    for _ in range(20):
        t.observe("a.test", latency=4.0, status=200)
    assert t.delays["a.test"] == pytest.approx(2.0, abs=1e-3)
    for _ in range(25):
        t.observe("a.test", latency=0.4, status=200)
    assert t.delays["a.test"] == pytest.approx(0.2, abs=1e-3)


@pytest.mark.parametrize("status", [429, 503, None])
def test_autothrottle_doubles_on_overload_and_failure(status: int | None) -> None:
    t = AutoThrottle(target_concurrency=1.0, min_delay=0.0, max_delay=60.0)
    for _ in range(30):
        t.observe("a.test", latency=1.5, status=200)
    assert t.delays["a.test"] == pytest.approx(1.5, abs=1e-3)
    assert t.observe("a.test", latency=0.01, status=status) == pytest.approx(3.0, abs=1e-3)
    assert t.observe("a.test", latency=0.01, status=status) == pytest.approx(6.0, abs=1e-3)
    # from a small delay the first back-off jumps to at least 1 s
    assert t.observe("b.test", latency=0.01, status=status) == 1.0
    assert t.observe("b.test", latency=0.01, status=status) == 2.0


def test_autothrottle_is_capped_and_never_below_min_delay() -> None:
    t = AutoThrottle(target_concurrency=2.0, min_delay=0.5, max_delay=5.0)
    seq = [t.observe("a.test", latency=0.0, status=503) for _ in range(10)]
    assert max(seq) == 5.0 and seq[-1] == 5.0
    # recovery is gradual (halving towards latency/target) and stops at min_delay
    seq = [t.observe("a.test", latency=0.0, status=200) for _ in range(20)]
    assert seq[:4] == pytest.approx([2.5, 1.25, 0.625, 0.5])
    assert all(d >= 0.5 for d in seq) and seq[-1] == 0.5
    # a fast error does not pull the delay down
    t2 = AutoThrottle(target_concurrency=1.0, min_delay=0.0, max_delay=60.0)
    t2.observe("a.test", latency=0.0, status=503)  # 1.0
    assert t2.observe("a.test", latency=0.0, status=404) == 1.0
    # hosts are independent
    assert "b.test" not in t2.delays
    assert t2.observe("b.test", latency=0.2, status=200) == pytest.approx(0.1)


def flaky_handler(fails: int) -> tuple[Handler, list[float]]:
    """Pages answer 503 for the first ``fails`` page requests, then 200; returns the handler
    and the list of times (monotonic) at which each 503 was sent."""
    sent: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := no_robots(request)) is not None:
            return r
        if len(sent) < fails:
            sent.append(time.monotonic())
            return web.Response(status=503, text="overloaded")
        return page(request.path)

    return handler, sent


async def test_autothrottle_backs_off_after_503_and_the_crawl_ends() -> None:
    handler, _sent = flaky_handler(1)
    async with serve(handler, "127.0.0.1") as sites:
        [a] = sites.urls
        result, spider = await crawl(
            {"start_urls": [f"{a}/p/{n}" for n in range(5)]},
            {"autothrottle": True, "per_host_concurrency": 1, "retry_times": 2}, bound=30)
    assert result.reason == "finished"
    assert len(spider.pages) == 5 and spider.failures == []
    assert result.stats["retries/http_503"] == 1
    spacing = gaps(sites.pages())
    assert len(spacing) == 5  # 5 pages + 1 retry
    # before the 503 the host was hit without delay; after it the spacing grew to >= 1 s
    assert max(spacing) >= 1.0 - EPS, [round(g, 3) for g in spacing]


async def test_autothrottle_delay_applies_to_the_very_next_request() -> None:
    """After a 503 AutoThrottle sets the host's delay to >= 1 s; the next request to that host
    must start at least that long after the previous one -- not one request later."""
    handler, _sent = flaky_handler(1)
    async with serve(handler, "127.0.0.1") as sites:
        [a] = sites.urls
        await crawl({"start_urls": [f"{a}/p/{n}" for n in range(3)]},
                    {"autothrottle": True, "per_host_concurrency": 1, "retry_times": 1})
    spacing = gaps(sites.pages())
    assert spacing[0] >= 1.0 - EPS, (
        f"the request after the 503 started {spacing[0]:.3f} s after it")


# -- cookies --------------------------------------------------------------------------------------
async def cookie_handler(request: web.Request) -> web.StreamResponse:
    if (r := no_robots(request)) is not None:
        return r
    if request.path == "/set":
        resp = page("set")
        resp.set_cookie(request.query["name"], request.query["value"], path="/")
        return resp
    return page(request.path)


class CookieChain(Probe):
    """A/set (cookie fromA) -> B/set (cookie fromB) -> A/check and B/check."""

    name = "cookie-chain"

    def start_requests(self) -> Any:
        a, _b = self.start_urls
        yield acrawl.Request(f"{a}/set?name=fromA&value=1", callback=self.set_b)

    def set_b(self, response: acrawl.Response) -> Any:
        _a, b = self.start_urls
        yield acrawl.Request(f"{b}/set?name=fromB&value=2", callback=self.check)

    def check(self, response: acrawl.Response) -> Any:
        for base in self.start_urls:
            yield acrawl.Request(f"{base}/check")


async def test_cookies_are_kept_per_host() -> None:
    async with serve(cookie_handler, "127.0.0.1", ALIAS) as sites:
        a, b = sites.urls
        _, spider = await crawl({"start_urls": [a, b]}, spider_cls=CookieChain)
    [check_a] = sites.pages(a, "/check")
    [check_b] = sites.pages(b, "/check")
    assert check_a.headers.get("Cookie") == "fromA=1"
    assert check_b.headers.get("Cookie") == "fromB=2"
    [set_b] = sites.pages(b, "/set")
    assert "Cookie" not in set_b.headers  # host A's cookie did not go to host B
    assert len(spider.pages) == 2


async def test_cookies_false_sends_none() -> None:
    async with serve(cookie_handler, "127.0.0.1", ALIAS) as sites:
        a, b = sites.urls
        await crawl({"start_urls": [a, b]}, {"cookies": False}, spider_cls=CookieChain)
    assert len(sites.pages(prefix="/check")) == 2
    assert all("Cookie" not in h.headers for h in sites.hits)


# -- the proxy ------------------------------------------------------------------------------------
class ForwardProxy:
    """A minimal HTTP forward proxy: one request per connection, absolute-form request line.

    Records every request's target URL and *all* Proxy-Authorization values it carried,
    consumes them (as a proxy does), adds ``Via``, forwards the rest to the target and relays
    the answer. CONNECT (https) is refused."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, list[str]]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> ForwardProxy:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _version = line.split(" ", 2)
            headers = [tuple(s.strip() for s in h.split(":", 1)) for h in lines if ":" in h]
            auth = [v for k, v in headers if k.lower() == "proxy-authorization"]
            self.requests.append((target, auth))
            parts = urlsplit(target)
            if method == "CONNECT" or parts.scheme != "http" or not parts.hostname:
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                return
            length = int(next((v for k, v in headers if k.lower() == "content-length"), 0))
            body = await reader.readexactly(length) if length else b""
            hop = {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}
            forward = [f"{k}: {v}" for k, v in headers if k.lower() not in hop]
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            up_reader, up_writer = await asyncio.open_connection(parts.hostname,
                                                                 parts.port or 80)
            up_writer.write(("\r\n".join([f"{method} {path} HTTP/1.1", *forward,
                                          "Via: 1.1 test-proxy", "Connection: close"])
                             + "\r\n\r\n").encode("latin-1") + body)
            await up_writer.drain()
            answer = await up_reader.read()
            up_writer.close()
            # relay, telling the client this connection ends here
            status_and_headers, _, rest = answer.partition(b"\r\n\r\n")
            kept = [h for h in status_and_headers.split(b"\r\n")
                    if not h.lower().startswith(b"connection:")]
            writer.write(b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n" + rest)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


async def redirect_handler(request: web.Request) -> web.StreamResponse:
    """``/redirect?to=URL`` (302), ``/link?to=URL`` (a page linking to URL), else a page."""
    if (r := no_robots(request)) is not None:
        return r
    if request.path == "/redirect":
        raise web.HTTPFound(request.query["to"])
    if request.path == "/link":
        href = request.query["to"].replace('"', "%22")
        return web.Response(text=f'<html><body><a href="{href}">x</a></body></html>',
                            content_type="text/html")
    return page(request.path)


class Follower(Probe):
    """Probe that also follows every ``<a href>`` (with its errback)."""

    name = "politeness-follower"

    def parse(self, response: acrawl.Response) -> Any:
        yield from super().parse(response)
        yield from response.follow_all(css="a", errback=self.on_error)


async def test_proxy_gets_its_credentials_on_every_request_and_targets_never_do() -> None:
    """``proxy=http://user:pass@...``: every request (a redirect to another host too) reaches
    the proxy with exactly one ``Proxy-Authorization``, derived from the proxy URL -- never the
    one the spider put in its request headers -- and no target ever sees one."""
    proxy = await ForwardProxy().start()
    try:
        async with serve(redirect_handler, "127.0.0.1", ALIAS) as sites:
            a, b = sites.urls
            start = [f"{a}/page", f"{a}/redirect?to=" + quote(f"{b}/landing", safe="")]
            spy = "Basic c3B5OnNweQ=="  # spy:spy
            result, spider = await crawl(
                {"start_urls": start, "allowed_hosts": ["127.0.0.1", ALIAS],
                 "headers": {"Proxy-Authorization": spy, "Authorization": "Bearer t"}},
                {"proxy": f"http://user:pass@127.0.0.1:{proxy.port}", "obey_robots": True})
    finally:
        await proxy.close()
    assert sorted(urlsplit(u).path for u in spider.pages) == ["/landing", "/page"]
    proxied = {urlsplit(t).path for t, _ in proxy.requests}
    assert proxied == {"/robots.txt", "/page", "/redirect", "/landing"}, proxy.requests
    for target, auth in proxy.requests:
        assert auth == ["Basic dXNlcjpwYXNz"], (target, auth)
    assert sites.hits and all(h.headers.get("Via") == "1.1 test-proxy" for h in sites.hits)
    assert all("Proxy-Authorization" not in h.headers for h in sites.hits)
    [landing] = sites.pages(b, "/landing")
    assert "Authorization" not in landing.headers  # the cross-origin hop dropped it
    assert result.stats["errors/callback"] == 0


async def test_proxy_authorization_never_reaches_a_target_without_a_proxy() -> None:
    """With no proxy configured, a Proxy-Authorization header -- from the spider's request
    headers or from the ``default_headers`` setting -- is not sent anywhere."""
    async with serve(redirect_handler, "127.0.0.1") as sites:
        [a] = sites.urls
        await crawl({"start_urls": [f"{a}/page"],
                     "headers": {"Proxy-Authorization": "Basic c3B5OnNweQ=="}},
                    {"default_headers": {"Accept": "*/*",
                                         "Proxy-Authorization": "Basic ZGVmYXVsdDpoZHI="}})
    assert len(sites.hits) == 2  # robots.txt + the page
    leaked = [(h.path, h.headers.get("Proxy-Authorization")) for h in sites.hits
              if "Proxy-Authorization" in h.headers]
    assert leaked == [], leaked


# -- Retry-After and exhausted retries ------------------------------------------------------------
def retry_after_handler(value: Callable[[], str], status: int = 503) -> Handler:
    """``/ra`` answers ``status`` with ``Retry-After: value()`` once, then 200."""
    answered: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := no_robots(request)) is not None:
            return r
        if not answered:
            answered.append(time.monotonic())
            return web.Response(status=status, text="later",
                                headers={"Retry-After": value()})
        return page(request.path)

    return handler


async def test_retry_after_http_date_is_capped_by_max_retry_after() -> None:
    in_an_hour = lambda: formatdate(time.time() + 3600, usegmt=True)  # noqa: E731
    async with serve(retry_after_handler(in_an_hour), "127.0.0.1") as sites:
        [a] = sites.urls
        result, spider = await crawl({"start_urls": [f"{a}/ra"]},
                                     {"retry_times": 1, "max_retry_after": 1})
    first, second = (h.t for h in sites.pages())
    assert 1.0 - EPS <= second - first <= 1.6, second - first
    assert len(spider.pages) == 1
    assert result.stats["retries/http_503"] == 1


async def test_retry_after_http_date_is_honoured() -> None:
    """A date ~2-3 s ahead (the header has whole seconds) under the default cap (60 s)."""
    at: list[float] = []

    def soon() -> str:
        at.append(math.ceil(time.time()) + 2)
        return formatdate(at[-1], usegmt=True)

    async with serve(retry_after_handler(soon, status=429), "127.0.0.1") as sites:
        [a] = sites.urls
        _, spider = await crawl({"start_urls": [f"{a}/ra"]}, {"retry_times": 1})
    first, second = (h.t for h in sites.pages())
    assert second - first >= 2.0 - 0.05, second - first  # the date has 1 s resolution
    assert second - first <= 3.6, second - first
    assert len(spider.pages) == 1


@pytest.mark.parametrize("status", [503, 429])
async def test_retry_after_pauses_the_whole_host_and_no_other(status: int) -> None:
    """A 503/429 with ``Retry-After: 1`` from one page: no request to that host starts for
    1 s -- neither the retry nor the host's other pages -- while another host is crawled."""
    ra = retry_after_handler(lambda: "1", status=status)

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/ra":
            return await ra(request)
        if (r := no_robots(request)) is not None:
            return r
        return page(request.path)

    async with serve(handler, "127.0.0.1", ALIAS) as sites:
        a, b = sites.urls
        urls = [f"{a}/ra", f"{a}/p/0", f"{a}/p/1", f"{b}/q/0", f"{b}/q/1"]
        result, spider = await crawl({"start_urls": urls},
                                     {"retry_times": 1, "per_host_concurrency": 1})
    assert len(spider.pages) == 5 and spider.failures == []
    [answered, *after] = sites.pages(a)
    assert answered.path == "/ra" and len(after) == 3
    waits = [h.t - answered.t for h in after]
    assert min(waits) >= 1.0 - EPS, [round(w, 3) for w in waits]
    assert max(h.t for h in sites.pages(b)) - answered.t < 0.5  # the other host went on
    assert result.stats[f"retries/http_{status}"] == 1


async def test_exhausted_retries_on_503_reach_the_errback_with_http_error() -> None:
    async def always_503(request: web.Request) -> web.StreamResponse:
        if (r := no_robots(request)) is not None:
            return r
        return web.Response(status=503, text="down")

    async with serve(always_503, "127.0.0.1") as sites:
        [a] = sites.urls
        result, spider = await crawl({"start_urls": [f"{a}/down"]}, {"retry_times": 2},
                                     bound=20)
    assert len(sites.pages()) == 3  # the first attempt and two retries
    assert spider.pages == []
    [(_, failure)] = spider.failures
    assert isinstance(failure.exception, HttpError)
    assert failure.exception.status == 503
    assert failure.request.url == f"{a}/down"
    assert failure.request.retries == 2
    stats = result.stats
    assert stats["retries/http_503"] == 2
    assert stats["http/503"] == 3
    assert stats["http_ignored/503"] == 1


async def test_proxy_named_by_a_private_hostname_can_be_used() -> None:
    """The proxy is named by the user (the ``proxy`` setting), so the private-address guard
    must not refuse it: ``localhost`` or a corporate proxy name on 10.x is the usual case."""
    proxy = await ForwardProxy().start()
    try:
        async with serve(redirect_handler, "127.0.0.1") as sites:
            [a] = sites.urls
            _, spider = await crawl({"start_urls": [f"{a}/page"]},
                                    {"proxy": f"http://user:pass@localhost:{proxy.port}"})
    finally:
        await proxy.close()
    assert [(type(f.exception).__name__, str(f.exception)) for _, f in spider.failures] == []
    assert [urlsplit(u).path for u in spider.pages] == ["/page"]
    assert [auth for _, auth in proxy.requests] == [["Basic dXNlcjpwYXNz"]] * 2


async def test_proxy_does_not_bypass_the_private_address_guard() -> None:
    """Through a proxy the target's name is resolved by the proxy, not by acrawl; a link to a
    name the spider did not name that resolves to a private address (here ``localhost``) must
    still not be reached -- without a proxy it is refused with BlockedAddress."""
    proxy = await ForwardProxy().start()
    try:
        async with serve(redirect_handler, "127.0.0.1") as sites:
            [a] = sites.urls
            port = urlsplit(a).port
            inside = f"http://localhost:{port}/secret"
            _, spider = await crawl(
                {"start_urls": [f"{a}/link?to=" + quote(inside, safe="")],
                 "allowed_hosts": []},
                {"proxy": f"http://127.0.0.1:{proxy.port}"}, spider_cls=Follower)
    finally:
        await proxy.close()
    reached = [h.path for h in sites.hits if h.headers.get("Host", "").startswith("localhost")]
    assert reached == [], f"the proxy was steered to localhost: {reached}"
    assert [urlsplit(u).path for u in spider.pages] == ["/link"]
    assert {type(f.exception).__name__ for _, f in spider.failures} == {"BlockedAddress"}


async def test_allowed_hosts_entry_with_a_port_trusts_that_host() -> None:
    """``allowed_hosts = ["127.0.0.2:PORT"]`` names that host (the filter lets it through with
    that port), so the private-address guard must trust it as it trusts ``"127.0.0.2"``."""
    async with serve(redirect_handler, "127.0.0.1", ALIAS) as sites:
        a, b = sites.urls
        target = f"{b}/inside"
        _, spider = await crawl(
            {"start_urls": [f"{a}/link?to=" + quote(target, safe="")],
             "allowed_hosts": ["127.0.0.1", urlsplit(b).netloc]},
            spider_cls=Follower)
    assert [(type(f.exception).__name__, f.request.url) for _, f in spider.failures] == []
    assert [h.path for h in sites.pages(b)] == ["/inside"]
