"""acrawl against the hostile site: each test checks one promise of "Safety a user can count on"
(docs: /work/shared/CONTRACT.md) or of the retry/redirect/size settings.

Crawls run in-process (``Crawler.create(...).crawl()``) with small timeouts so the module
stays fast; the server counts hits, arrival times, headers and TCP connections.
"""

from __future__ import annotations

import asyncio
import hashlib
import resource
import socket
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from hostile_site import (
    BAD_SCHEME_LINKS,
    CHAIN_LENGTH,
    CYRILLIC_TEXT,
    KEEPALIVE_PAGES,
    LATIN1_TEXT,
    SMALL_PAGE,
    HostileServer,
    big_text,
    brotli_bomb,
)

import acrawl
from acrawl.crawler import Crawler, CrawlResult
from acrawl.download.downloader import AiohttpDownloader
from acrawl.errors import BlockedAddress, ConnectError, DownloadTimeout, TooManyRedirects
from acrawl.settings import Settings

MiB = 1024 * 1024
LIMIT = 4 * MiB  # max_response_size for the size tests
FAST = {"timeout": 1.5, "retry_times": 1, "max_response_size": LIMIT}
SLACK = 0.5  # scheduling slack on timing assertions, seconds
MEMORY_REPORT: dict[str, dict[str, float]] = {}  # printed at the end of the size tests


# -- the probe spider -----------------------------------------------------------------------------
class Probe(acrawl.Spider):
    """Fetches ``start_urls`` (with ``headers``), itemizes every page it gets and records every
    failure; with ``follow = True`` it follows every ``<a href>`` (Scrapy style, with errback)."""

    name = "probe"
    follow = False
    headers: dict[str, str] = {}
    method = "GET"
    body: bytes | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.items: list[dict[str, Any]] = []
        self.failures: list[tuple[float, acrawl.Failure]] = []

    def start_requests(self) -> Any:
        for url in self.start_urls:
            yield acrawl.Request(url, headers=dict(self.headers), errback=self.on_error,
                                 method=self.method, body=self.body)

    def parse(self, response: acrawl.Response) -> Any:
        text = response.text  # must never raise
        item = {
            "url": response.url,
            "path": urlsplit(response.url).path,
            "host": urlsplit(response.url).netloc,
            "status": response.status,
            "title": response.css("title::text").get(),
            "text": text if len(text) < 20_000 else text[:2_000],
            "body_len": len(response.body),
            "body_sha": hashlib.sha256(response.body).hexdigest(),
            "truncated": response.truncated,
        }
        self.items.append(item)
        yield item
        if self.follow:
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href, errback=self.on_error)

    def on_error(self, failure: acrawl.Failure) -> None:
        self.failures.append((time.monotonic(), failure))

    # helpers for the assertions
    def item_for(self, path: str) -> dict[str, Any]:
        found = [i for i in self.items if i["path"] == path]
        assert len(found) == 1, f"{path}: {len(found)} items ({[i['url'] for i in self.items]})"
        return found[0]

    def failure_types(self) -> dict[str, str]:
        """``{first URL of the chain: exception class name}``."""
        out = {}
        for _, f in self.failures:
            first = (f.request.meta.get("redirect_urls") or [f.request.url])[0]
            out[first] = type(f.exception).__name__
        return out


@attrs.define
class Run:
    result: CrawlResult
    spider: Probe
    elapsed: float

    @property
    def stats(self) -> Any:
        return self.result.stats.counters


async def crawl(
    spider_args: dict[str, Any],
    settings: dict[str, Any] | None = None,
    *,
    spider_cls: type[Probe] = Probe,
    downloader: Callable[[Crawler], AiohttpDownloader] | AiohttpDownloader | None = None,
    bound: float = 60.0,
) -> Run:
    """Run one crawl to its end (failing the test if it takes more than ``bound`` seconds).

    ``downloader`` is passed to ``Crawler.create``; a callable gets the crawler and returns
    the downloader to install (so it can use ``crawler.is_trusted_host``)."""
    crawler = Crawler.create(
        spider_cls, spider_args=spider_args, settings={**FAST, **(settings or {})},
        outputs=[], entry_points=False,
        downloader=downloader if isinstance(downloader, AiohttpDownloader) else None,
    )
    if callable(downloader) and not isinstance(downloader, AiohttpDownloader):
        crawler.downloader = downloader(crawler)
    start = time.monotonic()
    result = await asyncio.wait_for(crawler.crawl(), bound)
    spider = crawler.spider
    assert isinstance(spider, Probe)
    return Run(result, spider, time.monotonic() - start)


class StubResolver(AbstractResolver):
    """Resolves the names it knows to fixed addresses; everything else is unknown."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(socket.EAI_NONAME, f"stub resolver: unknown host {host}")
        return [ResolveResult(hostname=host, host=self.table[host], port=port,
                              family=socket.AF_INET, proto=0, flags=socket.AI_NUMERICHOST)]

    async def close(self) -> None:
        return None


def _alias(hostile: HostileServer) -> str:
    if hostile.alias_url is None:
        pytest.skip("cannot bind 127.0.0.2 (loopback alias) on this machine")
    return hostile.alias_url


def _maxrss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


# -- the whole site -------------------------------------------------------------------------------
GOOD_PATHS = {  # 127.0.0.1 pages that reach the callback, once each (max_depth=3)
    "/", "/flaky", "/slowdown", "/bomb.gz", "/bomb.deflate", "/bomb.br", "/huge", "/big.gz",
    "/big.br",
    "/latin1", "/badbytes", "/meta-charset", "/malformed",
    "/calendar/0", "/calendar/1", "/calendar/2",
}


async def test_whole_site_crawl_ends_and_itemizes_each_good_page_once(
        hostile: HostileServer) -> None:
    run = await crawl(
        {"start_urls": [hostile.url("/")], "follow": True,
         "allowed_hosts": ["127.0.0.1", "localhost"]},
        {"max_depth": 3, "retry_times": 2},
        bound=60,
    )
    state, stats, spider = hostile.state, run.stats, run.spider
    port = hostile.port

    urls = [i["url"] for i in spider.items]
    assert len(urls) == len(set(urls)), "a page was itemized twice"
    got = {(i["host"], i["path"]) for i in spider.items}
    want = {(f"127.0.0.1:{port}", p) for p in GOOD_PATHS} | {(f"localhost:{port}",
                                                              "/echo-headers")}
    assert got == want
    assert all(i["status"] == 200 for i in spider.items)

    # robots.txt: never fetched, counted as filtered
    assert state.hits["/private/secret"] == 0
    assert stats["filtered/robots"] == 1
    # non-http links: dropped and counted
    assert stats["dropped/scheme"] == len(BAD_SCHEME_LINKS)
    # the calendar trap is cut by max_depth
    assert stats["dropped/max_depth"] >= 1
    assert {p for p in state.hits if p.startswith("/calendar/")} == {
        "/calendar/0", "/calendar/1", "/calendar/2"}
    # the bad endpoints end in the errback with the right error
    base = hostile.url("")
    assert spider.failure_types() == {
        base + "/stall": "DownloadTimeout",
        base + "/stall-headers": "DownloadTimeout",
        base + "/trickle": "DownloadTimeout",
        base + "/reset": "ConnectError",
        base + "/huge-headers": "ConnectError",
        base + "/loop-a": "TooManyRedirects",
        base + "/chain/0": "TooManyRedirects",
        base + "/private/secret": "IgnoreRequest",  # robots.txt disallows it
    }
    assert stats["responses/truncated"] >= 3  # at least /bomb.gz, /bomb.deflate and /huge
    assert stats["errors/callback"] == 0
    assert run.result.reason == "finished"
    # good pages were fetched once (retried ones as often as the server demanded)
    for path in GOOD_PATHS - {"/flaky", "/slowdown"}:
        assert state.host_hits[f"127.0.0.1:{port}{path}"] == 1, path


# -- no hang --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/stall", "/stall-headers", "/trickle"])
async def test_stalling_server_costs_at_most_timeout_per_attempt(
        hostile: HostileServer, path: str) -> None:
    timeout = 1.0
    run = await crawl({"start_urls": [hostile.url(path)]},
                      {"timeout": timeout, "retry_times": 1}, bound=20)
    arrivals = hostile.state.times[path]
    assert len(arrivals) == 2  # first attempt + one retry
    assert len(run.spider.failures) == 1
    failed_at, failure = run.spider.failures[0]
    assert isinstance(failure.exception, DownloadTimeout)
    assert failure.request.retries == 1
    # attempt 1 ended within timeout; the retry waited at most the max backoff (0.5 * 1.5 s)
    assert arrivals[1] - arrivals[0] <= timeout + 0.75 + SLACK
    # attempt 2: from the server seeing it to the errback
    assert timeout - 0.1 <= failed_at - arrivals[1] <= timeout + SLACK
    assert run.stats["failed/DownloadTimeout"] == 1
    assert run.stats["retries/DownloadTimeout"] == 1


async def test_reset_mid_body_is_a_connect_error_after_retries(hostile: HostileServer) -> None:
    run = await crawl({"start_urls": [hostile.url("/reset")]}, {"retry_times": 1}, bound=20)
    assert hostile.state.hits["/reset"] == 2
    assert [type(f.exception) for _, f in run.spider.failures] == [ConnectError]
    assert run.stats["failed/ConnectError"] == 1
    assert run.stats["retries/ConnectError"] == 1
    assert run.spider.items == []


async def test_huge_headers_fail_fast(hostile: HostileServer) -> None:
    """2000 Set-Cookie headers of 1 KB and a 100 KB header: refused by the parser, no hang."""
    run = await crawl({"start_urls": [hostile.url("/huge-headers")]}, {"retry_times": 0},
                      bound=10)
    assert [type(f.exception) for _, f in run.spider.failures] == [ConnectError]
    assert run.elapsed < 1.5


async def test_flaky_503_succeeds_after_retries(hostile: HostileServer) -> None:
    run = await crawl({"start_urls": [hostile.url("/flaky")]}, {"retry_times": 2}, bound=20)
    assert hostile.state.hits["/flaky"] == 3
    assert run.spider.item_for("/flaky")["status"] == 200
    assert run.spider.failures == []
    assert run.stats["retries"] == 2
    assert run.stats["retries/http_503"] == 2


async def test_retry_after_is_honoured(hostile: HostileServer) -> None:
    run = await crawl({"start_urls": [hostile.url("/slowdown")]}, {"retry_times": 1}, bound=20)
    first, second = hostile.state.times["/slowdown"]
    assert second - first >= 0.95, "Retry-After: 1 not honoured"
    assert second - first <= 1 + 2 * SLACK
    assert run.spider.item_for("/slowdown")["status"] == 200
    assert run.stats["retries/http_429"] == 1


# -- redirects ------------------------------------------------------------------------------------
async def test_redirect_loop_ends_in_errback(hostile: HostileServer) -> None:
    run = await crawl({"start_urls": [hostile.url("/loop-a")]}, {"max_redirects": 10})
    assert [type(f.exception) for _, f in run.spider.failures] == [TooManyRedirects]
    assert hostile.state.hits["/loop-a"] == 1
    assert hostile.state.hits["/loop-b"] == 1
    assert run.spider.items == []


async def test_redirect_chain_longer_than_max_redirects_fails(hostile: HostileServer) -> None:
    run = await crawl({"start_urls": [hostile.url("/chain/0")]}, {"max_redirects": 10})
    assert [type(f.exception) for _, f in run.spider.failures] == [TooManyRedirects]
    hits = hostile.state.hits
    assert all(hits[f"/chain/{n}"] == 1 for n in range(11)), hits  # 10 hops followed
    assert all(hits[f"/chain/{n}"] == 0 for n in range(11, CHAIN_LENGTH + 1)), hits
    assert run.stats["failed/TooManyRedirects"] == 1
    assert run.spider.items == []


async def test_redirect_chain_of_exactly_max_redirects_succeeds(hostile: HostileServer) -> None:
    start = CHAIN_LENGTH - 10
    run = await crawl({"start_urls": [hostile.url(f"/chain/{start}")]}, {"max_redirects": 10})
    assert run.spider.failures == []
    assert run.spider.item_for(f"/chain/{CHAIN_LENGTH}")["status"] == 200


SECRETS = {"Authorization": "Bearer hostile-token", "Cookie": "session=hostile-cookie"}


async def test_offhost_redirect_drops_credentials(hostile: HostileServer) -> None:
    run = await crawl({"start_urls": [hostile.url("/offhost-redirect")], "headers": SECRETS,
                       "allowed_hosts": ["127.0.0.1", "localhost"]})
    assert run.spider.failures == []
    [echo] = hostile.state.echo
    host, headers = echo["host"], echo["headers"]
    assert host == f"localhost:{hostile.port}"
    assert "authorization" not in headers
    assert "cookie" not in headers  # neither the request's header nor the 127.0.0.1 jar cookie
    assert run.spider.item_for("/echo-headers")["host"] == host


async def test_port_changing_redirect_drops_credentials(hostile: HostileServer) -> None:
    target = hostile.second_url + "/echo-headers"
    run = await crawl({"start_urls": [hostile.url("/redirect?to=" + quote(target, safe=""))],
                       "headers": SECRETS})
    assert run.spider.failures == []
    [echo] = hostile.state.echo
    assert echo["host"] == f"127.0.0.1:{hostile.second_port}"
    assert "authorization" not in echo["headers"]
    assert "hostile-cookie" not in echo["headers"].get("cookie", "")


async def test_samehost_redirect_keeps_credentials(hostile: HostileServer) -> None:
    """The control for the tests above: same origin, the headers go along -- except
    Proxy-Authorization, which is never taken from request headers."""
    await crawl({"start_urls": [hostile.url("/samehost-redirect")],
                 "headers": {**SECRETS, "Proxy-Authorization": "Basic aG9zdGlsZTpwcm94eQ=="}})
    [echo] = hostile.state.echo
    headers = echo["headers"]
    assert headers.get("authorization") == SECRETS["Authorization"]
    assert "session=hostile-cookie" in headers.get("cookie", "")
    assert "proxy-authorization" not in headers


async def test_unparsable_redirect_location_fails_the_request(hostile: HostileServer) -> None:
    """``Location: //[`` cannot be joined (urljoin raises ValueError): the request must fail
    like any bad response -- errback or a counted drop -- not crash the engine's task
    (``errors/internal``), which skips the errback and never acknowledges the request."""
    start = hostile.url("/redirect?to=" + quote("//[", safe=""))
    run = await crawl({"start_urls": [start]}, {"obey_robots": False})
    assert run.stats["errors/internal"] == 0, dict(run.stats)
    dropped = sum(n for k, n in run.stats.items() if k.startswith(("dropped/", "filtered/")))
    assert len(run.spider.failures) + dropped == 1, dict(run.stats)


@pytest.mark.parametrize("status, method, body", [
    (301, "GET", b""), (302, "GET", b""), (303, "GET", b""),
    (307, "POST", b"a=1&b=2"), (308, "POST", b"a=1&b=2"),
])
async def test_redirect_after_post(
        hostile: HostileServer, status: int, method: str, body: bytes) -> None:
    """301/302/303 after a POST become a GET without the body (and its headers);
    307/308 repeat the POST."""
    start = hostile.url(f"/redirect?status={status}&to=/echo-headers")
    run = await crawl({"start_urls": [start], "method": "POST", "body": b"a=1&b=2",
                       "headers": {"Content-Type": "application/x-www-form-urlencoded"}})
    assert run.spider.failures == []
    [echo] = hostile.state.echo
    assert echo["method"] == method
    assert echo["body"] == body
    assert ("content-type" in echo["headers"]) == bool(body)


@pytest.mark.parametrize("target, stat", [
    ("/private/secret", "filtered/robots"),
    ("file:///etc/passwd", "dropped/scheme"),
    ("ftp://127.0.0.1/etc/passwd", "dropped/scheme"),
    ("http://elsewhere.invalid/x", "filtered/")  # the allowed_hosts filter,
])
async def test_redirect_target_passes_filters_again(
        hostile: HostileServer, target: str, stat: str) -> None:
    run = await crawl({"start_urls": [hostile.url("/redirect?to=" + quote(target, safe=""))],
                       "allowed_hosts": ["127.0.0.1"]})
    assert hostile.state.hits["/private/secret"] == 0
    counted = sum(n for key, n in run.stats.items() if key.startswith(stat))
    assert counted == 1, dict(run.stats)
    assert run.spider.items == []


# -- sizes and bombs ------------------------------------------------------------------------------
async def _measured(hostile: HostileServer, path: str, label: str) -> Run:
    """Crawl ``path`` with max_response_size=LIMIT under tracemalloc; record the figures."""
    rss_before = _maxrss()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        run = await crawl({"start_urls": [hostile.url(path)]}, {"max_response_size": LIMIT},
                          bound=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_after = _maxrss()
    MEMORY_REPORT[label] = {
        "tracemalloc_peak_mib": round(peak / MiB, 1),
        "maxrss_before_mib": round(rss_before / MiB, 1),
        "maxrss_after_mib": round(rss_after / MiB, 1),
        "elapsed_s": round(run.elapsed, 2),
    }
    print(f"\nMEMORY {label}: {MEMORY_REPORT[label]}")
    assert peak < 3 * LIMIT + 30 * MiB, f"{label}: tracemalloc peak {peak / MiB:.1f} MiB"
    return run


@pytest.mark.parametrize("path", ["/bomb.gz", "/bomb.deflate", "/bomb.br"])
async def test_decompression_bomb_is_cut_with_bounded_memory(
        hostile: HostileServer, path: str) -> None:
    if path.endswith(".br") and brotli_bomb() is None:
        pytest.skip("brotli not installed")
    run = await _measured(hostile, path, path)
    item = run.spider.item_for(path)
    assert item["truncated"] is True
    assert item["body_len"] == LIMIT
    assert run.stats["responses/truncated"] == 1


async def test_huge_body_is_cut_at_max_response_size(hostile: HostileServer) -> None:
    run = await _measured(hostile, "/huge", "/huge")
    item = run.spider.item_for("/huge")
    assert item["truncated"] is True
    assert item["body_len"] == LIMIT
    assert run.stats["responses/truncated"] == 1
    assert run.elapsed < 10  # did not read 200 MB


@pytest.mark.parametrize("path", ["/trailing.gz", "/trailing.deflate"])
async def test_junk_after_the_compressed_stream_is_not_read(
        hostile: HostileServer, path: str) -> None:
    """A small compressed page followed by up to 1 GiB of zeros: the body is the page, the
    junk is neither decompressed nor buffered, and the download does not run to the timeout."""
    run = await _measured(hostile, path, path)
    item = run.spider.item_for(path)
    assert item["truncated"] is False
    assert item["body_sha"] == hashlib.sha256(SMALL_PAGE).hexdigest()
    assert run.spider.failures == []
    assert run.elapsed < 5, f"{path}: took {run.elapsed:.1f}s"


async def test_a_multi_member_gzip_body_is_decoded_whole(hostile: HostileServer) -> None:
    run = await crawl({"start_urls": [hostile.url("/multi.gz")]})
    item = run.spider.item_for("/multi.gz")
    assert item["body_sha"] == hashlib.sha256(SMALL_PAGE).hexdigest()
    assert item["truncated"] is False


@pytest.mark.parametrize("path", ["/big.gz", "/big.br"])
async def test_compressed_page_below_limit_is_complete(hostile: HostileServer, path: str) -> None:
    """A legitimate 1.7 MB page served gzip/brotli-compressed arrives whole, not truncated."""
    if path.endswith(".br") and brotli_bomb() is None:
        pytest.skip("brotli not installed")
    run = await crawl({"start_urls": [hostile.url(path)]}, {"max_response_size": LIMIT})
    item = run.spider.item_for(path)
    expected = big_text()
    assert item["truncated"] is False
    assert item["body_len"] == len(expected), (
        f"{path}: got {item['body_len']} of {len(expected)} bytes, not flagged truncated")
    assert item["body_sha"] == hashlib.sha256(expected).hexdigest()


# -- decoding -------------------------------------------------------------------------------------
async def test_bad_encodings_and_malformed_html_give_items(hostile: HostileServer) -> None:
    paths = ["/latin1", "/badbytes", "/meta-charset", "/malformed"]
    run = await crawl({"start_urls": [hostile.url(p) for p in paths]})
    spider = run.spider
    assert run.stats["errors/callback"] == 0
    assert spider.failures == []

    latin1 = spider.item_for("/latin1")
    assert LATIN1_TEXT in latin1["text"] and "é" in latin1["title"]

    bad = spider.item_for("/badbytes")
    assert "ok" in bad["text"] and "café" in bad["text"]
    assert "\ufffd" in bad["text"]  # invalid bytes replaced, not fatal

    cyr = spider.item_for("/meta-charset")
    assert CYRILLIC_TEXT in cyr["text"]
    assert cyr["title"] == CYRILLIC_TEXT

    broken = spider.item_for("/malformed")
    assert broken["status"] == 200 and broken["title"] == "broken"


# -- non-http links -------------------------------------------------------------------------------
class FollowLinks(Probe):
    """The generic crawl: the engine follows ``response.links()`` itself."""

    name = "follow-links"
    follow_links = True

    def parse(self, response: acrawl.Response) -> Any:
        item = {"url": response.url, "path": urlsplit(response.url).path}
        self.items.append(item)
        yield item


def _bad_links_page(hostile: HostileServer) -> str:
    return hostile.url("/link?" + "&".join("to=" + quote(u, safe="") for u in BAD_SCHEME_LINKS))


async def test_non_http_links_are_dropped_and_counted(hostile: HostileServer) -> None:
    run = await crawl({"start_urls": [_bad_links_page(hostile)], "follow": True})
    assert run.stats["dropped/scheme"] == len(BAD_SCHEME_LINKS)
    assert len(run.spider.items) == 1


async def test_non_http_links_are_counted_with_follow_links(hostile: HostileServer) -> None:
    """Contract: such links are "dropped and counted" -- also in the generic crawl."""
    run = await crawl({"start_urls": [_bad_links_page(hostile)]}, spider_cls=FollowLinks)
    assert len(run.spider.items) == 1
    assert run.stats["dropped/scheme"] == len(BAD_SCHEME_LINKS), dict(run.stats)


async def test_unparsable_href_with_follow_links_loses_nothing(
        hostile: HostileServer, tmp_path: Any) -> None:
    """One malformed href (``//[``) on a page must not cost that page its items or its other
    links in the generic crawl (follow_links)."""
    start = hostile.url("/link?to=" + quote("//[", safe="") + "&to=/latin1")
    out = tmp_path / "items.jsonl"
    crawler = Crawler.create(FollowLinks, spider_args={"start_urls": [start]},
                             settings={**FAST, "obey_robots": False}, outputs=[str(out)],
                             entry_points=False)
    result = await asyncio.wait_for(crawler.crawl(), 30)
    assert result.stats["errors/internal"] == 0, dict(result.stats.counters)
    written = out.read_text().splitlines() if out.exists() else []
    assert len(written) == 2, written  # /link and /latin1
    assert hostile.state.hits["/latin1"] == 1


# -- private addresses ----------------------------------------------------------------------------
async def test_link_to_unnamed_private_address_is_blocked(hostile: HostileServer) -> None:
    alias = _alias(hostile)
    target = alias + "/guard-target"
    run = await crawl({"start_urls": [hostile.url("/link?to=" + quote(target, safe=""))],
                       "follow": True, "allowed_hosts": []}, {"obey_robots": False})
    assert hostile.state.hosts[urlsplit(alias).netloc] == 0
    assert run.spider.failure_types() == {target: "BlockedAddress"}
    assert run.stats["failed/BlockedAddress"] == 1
    assert [i["path"] for i in run.spider.items] == ["/link"]


async def test_redirect_to_unnamed_private_address_is_blocked(hostile: HostileServer) -> None:
    alias = _alias(hostile)
    start = hostile.url("/redirect?to=" + quote(alias + "/guard-target", safe=""))
    run = await crawl({"start_urls": [start], "allowed_hosts": []}, {"obey_robots": False})
    assert hostile.state.hosts[urlsplit(alias).netloc] == 0
    assert run.spider.failure_types() == {start: "BlockedAddress"}
    assert run.spider.items == []


async def test_private_address_never_reached_with_robots_on(hostile: HostileServer) -> None:
    """With robots.txt obeyed, not even the alias' robots.txt is fetched."""
    alias = _alias(hostile)
    target = alias + "/guard-target"
    run = await crawl({"start_urls": [hostile.url("/link?to=" + quote(target, safe=""))],
                       "follow": True, "allowed_hosts": []}, bound=30)
    assert hostile.state.hosts[urlsplit(alias).netloc] == 0
    assert [i["path"] for i in run.spider.items] == ["/link"]


async def test_private_address_with_robots_on_is_reported_as_blocked(
        hostile: HostileServer) -> None:
    """A blocked host is blocked, not "robots.txt unavailable": the request should reach its
    errback with BlockedAddress, promptly (BlockedAddress is not a transient error)."""
    alias = _alias(hostile)
    target = alias + "/guard-target"
    run = await crawl({"start_urls": [hostile.url("/link?to=" + quote(target, safe=""))],
                       "follow": True, "allowed_hosts": []}, bound=30)
    assert run.spider.failure_types() == {target: "BlockedAddress"}, dict(run.stats)
    assert run.elapsed < 2.5, f"took {run.elapsed:.1f}s (robots.txt retried a blocked host)"


async def test_private_address_named_in_start_urls_is_crawled(hostile: HostileServer) -> None:
    alias = _alias(hostile)
    run = await crawl({"start_urls": [alias + "/guard-target"], "allowed_hosts": []})
    assert run.spider.failures == []
    assert run.spider.item_for("/guard-target")["host"] == urlsplit(alias).netloc
    assert hostile.state.hosts[urlsplit(alias).netloc] >= 1


ALIAS_SPELLINGS = ["2130706434", "127.2", "0177.0.0.2", "0x7f.0.0.2", "0x7f000002",
                   "127.0.0.2.", "127.000.000.002", "[::ffff:127.0.0.2]", "[::ffff:7f00:2]",
                   # Unicode full stops and digits, which the HTTP client folds to 127.0.0.2
                   "127\u30020\u30020\u30022", "127\uff0e0\uff0e0\uff0e2",
                   "127\uff610\uff610\uff612", "\uff11\uff12\uff17.0.0.2"]


async def test_other_spellings_of_a_private_address_are_not_reached(
        hostile: HostileServer) -> None:
    alias = _alias(hostile)
    port = urlsplit(alias).port
    targets = [f"http://{h}:{port}/guard-target" for h in ALIAS_SPELLINGS]
    start = hostile.url("/link?" + "&".join("to=" + quote(t, safe="") for t in targets))
    run = await crawl({"start_urls": [start], "follow": True, "allowed_hosts": []},
                      {"obey_robots": False, "retry_times": 0})
    seen_by_alias = sum(n for host, n in hostile.state.hosts.items()
                        if not host.startswith("127.0.0.1:"))
    assert seen_by_alias == 0, dict(hostile.state.hosts)
    assert [i["path"] for i in run.spider.items] == ["/link"]
    kinds = set(run.spider.failure_types().values())
    assert kinds <= {"BlockedAddress", "ConnectError"}, kinds


def _stub_downloader(trusted: Callable[[str], bool]) -> AiohttpDownloader:
    settings = Settings.build(overrides={**FAST, "obey_robots": False})
    return AiohttpDownloader.from_settings(
        settings, trusted=trusted, resolver=StubResolver({"evil.test": "127.0.0.1"}))


async def test_name_resolving_to_loopback_is_blocked(hostile: HostileServer) -> None:
    evil = f"http://evil.test:{hostile.port}/guard-target"
    run = await crawl(
        {"start_urls": [hostile.url("/link?to=" + quote(evil, safe=""))], "follow": True,
         "allowed_hosts": []},
        {"obey_robots": False},
        downloader=_stub_downloader(lambda host: host == "127.0.0.1"),
    )
    assert hostile.state.hosts[f"evil.test:{hostile.port}"] == 0
    assert run.spider.failure_types() == {evil: "BlockedAddress"}
    assert isinstance(run.spider.failures[0][1].exception, BlockedAddress)


async def test_name_resolving_to_loopback_is_fetched_when_trusted(
        hostile: HostileServer) -> None:
    evil = f"http://evil.test:{hostile.port}/guard-target"
    run = await crawl(
        {"start_urls": [hostile.url("/link?to=" + quote(evil, safe=""))], "follow": True,
         "allowed_hosts": []},
        {"obey_robots": False},
        downloader=_stub_downloader(lambda host: host in ("127.0.0.1", "evil.test")),
    )
    assert run.spider.failures == []
    assert hostile.state.hosts[f"evil.test:{hostile.port}"] == 1
    assert run.spider.item_for("/guard-target")["host"] == f"evil.test:{hostile.port}"


@pytest.mark.parametrize("named_in", ["start_urls", "allowed_hosts"])
async def test_name_named_by_the_spider_is_trusted(hostile: HostileServer, named_in: str) -> None:
    """With the crawler's own trust rule: start_urls / allowed_hosts hosts may be private."""
    evil = f"http://evil.test:{hostile.port}/guard-target"
    if named_in == "start_urls":
        args: dict[str, Any] = {"start_urls": [evil], "allowed_hosts": []}
    else:
        args = {"start_urls": [hostile.url("/link?to=" + quote(evil, safe=""))],
                "follow": True, "allowed_hosts": ["127.0.0.1", "evil.test"]}
    run = await crawl(args, downloader=lambda c: AiohttpDownloader.from_settings(
        c.settings, trusted=c.is_trusted_host, resolver=StubResolver({"evil.test": "127.0.0.1"})))
    assert run.spider.failures == []
    assert run.spider.item_for("/guard-target")["host"] == f"evil.test:{hostile.port}"


# -- keep-alive -----------------------------------------------------------------------------------
async def test_connections_are_reused(hostile: HostileServer) -> None:
    run = await crawl({"start_urls": [hostile.url("/pages/")], "follow": True},
                      {"per_host_concurrency": 2})
    assert len(run.spider.items) == KEEPALIVE_PAGES + 1
    state = hostile.state
    assert state.requests == KEEPALIVE_PAGES + 2  # + robots.txt
    print(f"\nKEEPALIVE: {state.connection_count} TCP connections for {state.requests} requests")
    assert state.connection_count <= 4, (
        f"{state.connection_count} TCP connections for {state.requests} requests")


_RSS_SCRIPT = """
import asyncio, json, resource, sys
sys.path.insert(0, sys.argv[3])
import acrawl, hostile_site
from acrawl.crawler import Crawler

def maxrss():
    # VmHWM is per address space; ru_maxrss survives exec (it starts at the parent's peak)
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

class Measure(acrawl.Spider):
    name = "measure"
    def parse(self, response):
        item = {"len": len(response.body)}
        if sys.argv[4] == "parse":
            item.update(text=len(response.text), title=response.css("title::text").get())
        yield item

async def main(path, limit):
    hostile_site.gzip_bomb(), hostile_site.brotli_bomb()
    async with await hostile_site.start_hostile() as server:
        before = maxrss()
        crawler = Crawler.create(Measure, spider_args={"start_urls": [server.url(path)]},
                                 settings={"max_response_size": limit, "timeout": 20},
                                 entry_points=False)
        result = await crawler.crawl()
        after = maxrss()
    print(json.dumps({"before": before, "after": after,
                      "truncated": result.stats["responses/truncated"],
                      "pages": result.stats["pages"]}))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@pytest.mark.slow
@pytest.mark.parametrize("path, callback", [
    ("/bomb.gz", "body"), ("/bomb.br", "body"), ("/huge", "body"), ("/huge", "parse"),
])
def test_peak_rss_growth_in_a_fresh_process(path: str, callback: str) -> None:
    """Peak RSS is a high-water mark, so it is measured in a fresh process (VmHWM), with the
    default max_response_size (32 MiB). The crawler itself (a callback touching only ``body``) may
    grow the peak by at most ~3x the limit; with ``parse`` (``.text`` and ``.css()``) the
    figure is only reported: lxml's tree of a 32 MB page is the callback's cost."""
    import json
    import os
    import subprocess
    from pathlib import Path

    if path.endswith(".br") and brotli_bomb() is None:
        pytest.skip("brotli not installed")
    limit = 32 * MiB
    env = {**os.environ, "ACRAWL_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, path, str(limit), str(Path(__file__).parent),
         callback],
        capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    growth = got["after"] - got["before"]
    label = f"rss {path} ({callback}, limit 32 MiB)"
    MEMORY_REPORT[label] = {"maxrss_before_mib": round(got["before"] / MiB, 1),
                            "maxrss_after_mib": round(got["after"] / MiB, 1),
                            "growth_mib": round(growth / MiB, 1)}
    print(f"\nMEMORY {label}: {MEMORY_REPORT[label]}")
    assert got["pages"] == 1 and got["truncated"] == 1
    if callback == "body":
        assert growth < 3 * limit + 30 * MiB


# -- the payloads themselves ----------------------------------------------------------------------
@pytest.mark.slow
def test_gzip_bomb_really_is_one_gib() -> None:
    import zlib

    from hostile_site import BOMB_SIZE, gzip_bomb

    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    buf, total = gzip_bomb(), 0
    while not d.eof:
        out = d.decompress(buf, 16 * MiB)
        assert out.count(0) == len(out)
        total += len(out)
        buf = d.unconsumed_tail
    assert total == BOMB_SIZE and len(gzip_bomb()) < 2 * MiB


async def test_default_credentials_go_only_to_the_origins_the_user_named(
        hostile: HostileServer) -> None:
    """Authorization and Cookie from the ``default_headers`` setting reach the start URL's
    origin (robots.txt and a same-origin redirect included), not the origin a redirect moves
    to; the other default headers go everywhere."""
    target = hostile.second_url + "/echo-headers"
    await crawl({"start_urls": [hostile.url("/samehost-redirect"),
                                hostile.url("/redirect?to=" + quote(target, safe=""))]},
                {"default_headers": {**SECRETS, "X-Plain": "yes"}})
    by_host = {echo["host"]: echo["headers"] for echo in hostile.state.echo}
    named = by_host[f"127.0.0.1:{hostile.port}"]
    other = by_host[f"127.0.0.1:{hostile.second_port}"]
    assert named.get("authorization") == SECRETS["Authorization"]
    assert "session=hostile-cookie" in named.get("cookie", "")
    assert "authorization" not in other
    assert "hostile-cookie" not in other.get("cookie", "")
    assert named.get("x-plain") == other.get("x-plain") == "yes"
