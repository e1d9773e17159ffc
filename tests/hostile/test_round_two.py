"""Hostile servers, round two (issue #12): each test runs a real server on 127.0.0.1 that
does one thing a server did to crash, lose, bloat or outpace a crawl, and asserts what the
crawl (or the server) saw.

The memory test runs the crawl in a fresh process (``acrawl-run`` through ``python -c``) and
reads that process's own peak RSS (``VmHWM``); a watchdog kills it long before it could
hurt the machine, so the test also fails safely on a decoder that does not hold the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from raw_server import RawRequest, RawServer, chunked, reply

import acrawl
from acrawl.crawler import Crawler, CrawlResult
from acrawl.download.downloader import AiohttpDownloader, _Decoder
from cli_support import clean_env

MiB = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- helpers -------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def serve(routes: dict[str, Handler], host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve ``{path: handler}`` on ``host`` (any free port); yields the base URL. Other
    paths (``/robots.txt`` unless given) answer 404."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    try:
        yield f"http://{host}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def html(body: str, title: str = "t") -> web.Response:
    return web.Response(text=f"<html><head><title>{title}</title></head><body>{body}</body>"
                             "</html>", content_type="text/html")


class Probe(acrawl.Spider):
    """Requests ``start_urls`` with an errback; records pages (by URL) and failures; with
    ``follow = True`` follows every ``<a href>``."""

    name = "round-two-probe"
    follow = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pages: dict[str, acrawl.Response] = {}
        self.failures: list[acrawl.Failure] = []

    def start_requests(self) -> Any:
        for url in self.start_urls:
            yield acrawl.Request(url, errback=self.on_error)

    def parse(self, response: acrawl.Response) -> Any:
        self.pages[response.url] = response
        yield {"url": response.url, "status": response.status}
        if self.follow:
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href, errback=self.on_error)

    def on_error(self, failure: acrawl.Failure) -> None:
        self.failures.append(failure)


async def crawl(spider_args: dict[str, Any], settings: dict[str, Any] | None = None, *,
                bound: float = 60.0, resolver: AbstractResolver | None = None,
                ) -> tuple[CrawlResult, Probe]:
    """One in-process crawl to its end (failing the test past ``bound`` seconds); with
    ``resolver``, the downloader resolves names through it."""
    crawler = Crawler.create(Probe, spider_args=spider_args,
                             settings={"timeout": 5.0, **(settings or {})}, outputs=[],
                             entry_points=False)
    if resolver is not None:
        crawler.downloader = AiohttpDownloader.from_settings(
            crawler.settings, trusted=crawler.is_trusted_host, resolver=resolver)
    result = await asyncio.wait_for(crawler.crawl(), bound)
    assert isinstance(crawler.spider, Probe)
    return result, crawler.spider


ROBOTS = reply(200, body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")


def member_bomb(members: int = 1000, size: int = MiB) -> bytes:
    """``members`` gzip members of ``size`` zeros each, back to back (~1 KiB per MiB)."""
    return gzip.compress(bytes(size), 9) * members


_CHILD = r"""
import sys
from acrawl.cli import main
try:
    rc = main(sys.argv[2:])
finally:
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    with open(sys.argv[1], "w") as out:
        out.write(str(hwm))
raise SystemExit(rc)
"""


def _status_bytes(pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/PID/status`` in bytes (0 once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) * 1024 for line in f
                         if line.startswith(field + ":")), 0)
    except OSError:
        return 0


async def run_in_fresh_process(args: list[str], cwd: Path, *, kill_above: int = 1024 * MiB,
                               bound: float = 120.0) -> tuple[int, int, str]:
    """Run ``acrawl-run ARGS`` in a fresh interpreter; return (exit code, peak RSS in bytes,
    stderr). A watchdog kills the process if its RSS passes ``kill_above`` (and the peak is
    then what the watchdog saw)."""
    hwm_file = cwd / "vmhwm"
    env = clean_env()
    env["ACRAWL_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, str(hwm_file), *args, cwd=cwd, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    err_task = asyncio.ensure_future(proc.stderr.read())
    seen = 0
    deadline = time.monotonic() + bound
    while proc.returncode is None:
        seen = max(seen, _status_bytes(proc.pid, "VmRSS"))
        if seen > kill_above or time.monotonic() > deadline:
            proc.kill()
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 0.02)
    rc = await proc.wait()
    stderr = (await err_task).decode(errors="replace")
    if hwm_file.exists() and hwm_file.read_text():
        seen = max(seen, int(hwm_file.read_text()))
    return rc, seen, stderr


# -- 1. multi-member gzip bomb ------------------------------------------------------------------
def _decode(encoding: str, body: bytes, limit: int, step: int = 64 * 1024) -> bytes:
    """What the downloader's loop does with ``body`` arriving in ``step``-byte pieces."""
    decoder = _Decoder(encoding)
    out: list[bytes] = []
    size = 0
    for i in range(0, len(body), step):
        data = decoder.feed(body[i:i + step], limit - size)
        size += len(data)
        out.append(data)
        if size > limit or decoder.done:
            break
    return b"".join(out)[:limit]


def test_gzip_members_ending_at_the_output_cap_are_decoded_once() -> None:
    """Members of whole multiples of 64 KiB: each ends exactly where an output step of the
    decoder ends, the case whose left-over input was taken twice (as the unconsumed tail and
    as the unused data), which repeated members and, member after member, doubled the input
    kept in memory. (The limit leaves room for the repeats, so they would show.)"""
    members = [bytes([i]) * (64 * 1024 * i) for i in range(1, 5)]
    whole = b"".join(members)
    body = b"".join(gzip.compress(m, 9) for m in members)
    assert _decode("gzip", body, 4 * len(whole)) == whole
    assert _decode("gzip", body, 4 * len(whole), step=len(body)) == whole


def robots_lines(size: int, late_rule_at: int | None = None) -> bytes:
    """A robots.txt of ``size`` bytes: a group disallowing ``/private/``, then comment lines,
    with ``Disallow: /late/`` at offset ``late_rule_at`` (past the 500 KiB a crawler reads)."""
    head = b"User-agent: *\nDisallow: /private/\n"
    filler = b"# " + b"x" * 61 + b"\n"  # 64 bytes
    body = bytearray(head)
    if late_rule_at is not None:
        body += filler * ((late_rule_at - len(body)) // len(filler))
        body += b"Disallow: /late/\n"
    body += filler * ((size - len(body)) // len(filler))
    return bytes(body)


@pytest.mark.parametrize("what", ["page", "robots.txt", "50 MiB robots.txt"])
async def test_multi_member_gzip_bomb_is_cut_with_bounded_memory(
        tmp_path: Path, what: str) -> None:
    """1000 gzip members of 1 MiB of zeros (~1 MiB on the wire, honest headers), served as
    a page or as robots.txt, and a plain 50 MiB robots.txt: a fresh ``acrawl-run links`` with
    the default limit (32 MiB) ends cleanly and its peak RSS stays under 150 MiB. (The bomb
    grew past 1.5 GiB in seconds; robots.txt was read up to ``max_response_size`` and parsed
    whole.)"""
    bomb = member_bomb()
    assert len(bomb) < 2 * MiB
    big_robots = robots_lines(50 * MiB) if what == "50 MiB robots.txt" else b""

    async def bomb_page(request: web.Request) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"Content-Type": "text/html",
                                                "Content-Encoding": "gzip"})

    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.content_length = len(big_robots)
        await resp.prepare(request)
        view = memoryview(big_robots)
        for i in range(0, len(view), 64 * 1024):
            await resp.write(view[i:i + 64 * 1024])
        return resp

    async def index(request: web.Request) -> web.Response:
        return html('<a href="/bomb">bomb</a>' if what == "page" else "no links")

    routes: dict[str, Handler] = {"/": index, "/bomb": bomb_page}
    if what != "page":
        routes["/robots.txt"] = bomb_page if what == "robots.txt" else big
    async with serve(routes) as base:
        rc, peak, stderr = await run_in_fresh_process(
            ["links", "-a", f"url={base}/", "-o", "items.jsonl", "--stats", "stats.json",
             "--no-progress", "--timeout", "30"], tmp_path)
    print(f"\nMEMORY multi-member gzip bomb ({what}): peak RSS {peak / MiB:.1f} MiB")
    assert rc == 0, stderr[-3000:]
    assert peak < 150 * MiB, f"peak RSS {peak / MiB:.0f} MiB"
    stats: dict[str, Any] = json.loads((tmp_path / "stats.json").read_text())
    counters = stats.get("counters", stats)
    assert counters.get("errors/internal", 0) == 0
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    if what == "page":
        assert counters["responses/truncated"] == 1
        assert sorted(i["url"] for i in items) == [f"{base}/", f"{base}/bomb"]
    else:
        assert [i["url"] for i in items] == [f"{base}/"]


# -- 2. a redirect Location with raw non-ASCII bytes ---------------------------------------------
async def test_redirect_location_with_raw_non_ascii_bytes_is_followed_percent_encoded() -> None:
    """A ``Location`` of ``/caf`` + byte E9 (latin-1, not UTF-8) and one of ``/na`` + bytes
    C3 AF (UTF-8) are followed as a browser does, percent-encoding the bytes as they are,
    with robots.txt rules to check the target against (where the raw form crashed)."""
    def respond(request: RawRequest) -> bytes:
        if request.path == "/robots.txt":
            return ROBOTS
        if request.path == "/latin1":
            return reply(302, raw_headers=b"Location: /caf\xe9?q=\xe9\r\n")
        if request.path == "/utf8":
            return reply(302, raw_headers=b"Location: /na\xc3\xafve\r\n")
        return reply(200, body=b"<title>" + request.target.encode("latin-1") + b"</title>")

    async with RawServer(respond) as server:
        result, spider = await crawl({"start_urls": [server.url("/latin1"),
                                                     server.url("/utf8")]})
    assert result.stats["errors/internal"] == 0
    assert spider.failures == []
    assert "/caf%E9?q=%E9" in [r.target for r in server.requests]
    assert "/na%C3%AFve" in [r.target for r in server.requests]
    assert set(spider.pages) == {server.url("/caf%E9?q=%E9"), server.url("/na%C3%AFve")}
    assert result.stats["redirects"] == 2


async def test_unusable_raw_location_is_that_requests_failure() -> None:
    """A Location no URL can be made of (a broken IPv6 host with a raw byte in it) fails
    its request in the errback; the crawl goes on and has no internal error."""
    def respond(request: RawRequest) -> bytes:
        if request.path == "/robots.txt":
            return ROBOTS
        if request.path == "/broken":
            return reply(302, raw_headers=b"Location: http://[\xe9::1/x\r\n")
        return reply(200, body=b"<title>fine</title>")

    async with RawServer(respond) as server:
        result, spider = await crawl({"start_urls": [server.url("/broken"),
                                                     server.url("/fine")]})
    assert result.stats["errors/internal"] == 0
    assert set(spider.pages) == {server.url("/fine")}
    assert [type(f.exception).__name__ for f in spider.failures] == ["DownloadError"]
    assert spider.failures[0].request.url == server.url("/broken")


# -- 3. stale keep-alive connections ------------------------------------------------------------
def closes_reused_connections(pages: int, slow: float, last: float) -> Any:
    """A server that keeps connections alive but closes one, unanswered, when it is reused
    (a load balancer with a short idle timeout). ``/`` links ``/p/0`` .. ``/p/N-1``, answered
    after ``slow`` seconds (``last`` for the last one, so the others' connections wait idle in
    the pool); only the last links ``/only``, which alone links ``/leaf``."""
    async def respond(request: RawRequest) -> bytes | None:
        if request.index > 0:
            return None
        path = request.path
        if path == "/robots.txt":
            return ROBOTS
        if path == "/":
            return reply(200, body=b"".join(b'<a href="/p/%d">p</a>' % i for i in range(pages)))
        if path.startswith("/p/"):
            n = int(path[3:])
            await asyncio.sleep(last if n == pages - 1 else slow)
            return reply(200, body=b'<a href="/only">only</a>' if n == pages - 1 else b"p")
        if path == "/only":
            return reply(200, body=b'<a href="/leaf">leaf</a>')
        return reply(200, body=b"leaf")
    return respond


async def test_a_request_failing_on_a_reused_connection_is_sent_again_on_a_fresh_one() -> None:
    """Eight pages in parallel leave eight idle connections the server will close when they
    are reused; ``/only`` is asked for after that. Each of its attempts used to meet two stale
    connections (aiohttp's own second try included) and, retries spent, it and ``/leaf`` were
    lost. Now a failure on a reused connection is sent again on a fresh one at once, and no
    retry is used."""
    async with RawServer(closes_reused_connections(8, slow=0.2, last=0.8)) as server:
        result, spider = await crawl({"start_urls": [server.url("/")], "follow": True},
                                     {"per_host_concurrency": 8, "retry_times": 2})
    stats = result.stats
    assert spider.failures == [], [str(f.exception) for f in spider.failures]
    assert set(spider.pages) == {server.url(p) for p in
                                 ["/", *(f"/p/{i}" for i in range(8)), "/only", "/leaf"]}
    assert stats["retries"] == 0, dict(stats.counters)
    # every page was answered on a fresh connection (the server answers no other)
    answered = [r for r in server.requests if r.index == 0 and r.path != "/robots.txt"]
    assert sorted(r.path for r in answered) == sorted(
        ["/", *(f"/p/{i}" for i in range(8)), "/only", "/leaf"])
    # and it was reused connections that failed: there were some
    assert any(r.index > 0 for r in server.requests)


async def test_failures_on_fresh_connections_still_use_the_retry_budget() -> None:
    """The control: a server that drops every connection unanswered fails each attempt on a
    fresh connection -- the server's error -- so the request is retried ``retry_times`` times,
    then reaches its errback."""
    async with RawServer(lambda request: ROBOTS if request.path == "/robots.txt" else None,
                         ) as server:
        result, spider = await crawl({"start_urls": [server.url("/gone")]},
                                     {"retry_times": 2, "obey_robots": False})
    assert result.stats["retries"] == 2
    assert [type(f.exception).__name__ for f in spider.failures] == ["ConnectError"]
    assert spider.pages == {}
    assert len([r for r in server.requests if r.path == "/gone"]) >= 3


# -- 4. a 50 MiB robots.txt -----------------------------------------------------------------------
async def test_robots_txt_is_read_up_to_500_kib_and_the_loop_never_waits_for_it() -> None:
    """A 50 MiB robots.txt (honest Content-Length) with a rule before and one after the
    first 500 KiB: only the first 500 KiB are read and parsed (the early rule applies, the
    late one does not), the server gets to send a small part of the file, and the event loop
    keeps turning meanwhile (it was blocked ~8 s by a parse of the whole body)."""
    body = robots_lines(50 * MiB, late_rule_at=600 * 1024)
    sent = [0]

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path != "/robots.txt":
            return html(request.path)
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.content_length = len(body)
        await resp.prepare(request)
        view = memoryview(body)
        for i in range(0, len(view), 64 * 1024):
            await resp.write(view[i:i + 64 * 1024])
            sent[0] = i + 64 * 1024
        return resp

    ticks = [time.monotonic()]

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0.01)
            ticks.append(time.monotonic())

    async with serve({"/{tail:.*}": handler}) as base:
        tick = asyncio.create_task(ticker())
        try:
            result, spider = await crawl({"start_urls": [
                f"{base}/private/x", f"{base}/late/x", f"{base}/ok"]})
        finally:
            tick.cancel()
            ticks.append(time.monotonic())
    assert set(spider.pages) == {f"{base}/late/x", f"{base}/ok"}
    assert result.stats["filtered/robots"] == 1
    assert sent[0] < 16 * MiB, f"the server sent {sent[0] / MiB:.0f} MiB of robots.txt"
    longest = max(b - a for a, b in itertools.pairwise(ticks))  # between two loop turns
    print(f"\nLOOP: longest wait for a 10 ms timer during the crawl {longest:.3f}s")
    assert longest < 2.0


async def test_robots_txt_is_parsed_and_checked_off_the_event_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 400 KiB robots.txt of 16,000 rules (about half a second to parse): parsed in a
    worker thread, not on the event loop's, and its rules applied (pages checked against it
    off the loop too)."""
    import threading

    import acrawl.policies.robots

    rules = "".join(f"Disallow: /d/{i}/*.php$\n" for i in range(16_000)) + "Disallow: /no\n"
    robots = ("User-agent: *\n" + rules).encode()
    assert 300 * 1024 < len(robots) < 500 * 1024
    threads: list[str] = []
    real_parse = acrawl.policies.robots.Protego.parse
    real_can_fetch = acrawl.policies.robots.Protego.can_fetch

    def parse(text: str) -> Any:
        threads.append("parse:" + threading.current_thread().name)
        return real_parse(text)

    def can_fetch(self: Any, url: str, user_agent: str) -> bool:
        threads.append("check:" + threading.current_thread().name)
        return bool(real_can_fetch(self, url, user_agent))

    monkeypatch.setattr(acrawl.policies.robots.Protego, "parse", parse)
    monkeypatch.setattr(acrawl.policies.robots.Protego, "can_fetch", can_fetch)

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/robots.txt":
            return web.Response(body=robots, content_type="text/plain")
        return html(request.path)

    loop_thread = threading.current_thread().name
    async with serve({"/{tail:.*}": handler}) as base:
        result, spider = await crawl({"start_urls": [f"{base}/no/x", f"{base}/d/7/a.php",
                                                     f"{base}/d/7/a.phpx", f"{base}/yes"]})
    assert set(spider.pages) == {f"{base}/d/7/a.phpx", f"{base}/yes"}
    assert result.stats["filtered/robots"] == 2
    assert len([t for t in threads if t.startswith("parse:")]) == 1
    assert len([t for t in threads if t.startswith("check:")]) == 4
    assert all(not t.endswith(":" + loop_thread) for t in threads), threads


# -- 5. robots.txt per origin, not per credential spelling ----------------------------------------
async def test_robots_txt_is_fetched_once_per_origin_and_without_credentials() -> None:
    """Links to ``http://u1:p1@host/``, ``HTTP://u4:p4@host/``, ``http://host/`` ... are one origin:
    robots.txt is fetched once, without an Authorization header (it was fetched once per
    credential spelling, sending each its credentials)."""
    robots_hits: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/robots.txt":
            robots_hits.append(dict(request.headers))
            return web.Response(text="User-agent: *\nDisallow: /private/\n")
        return html(request.path)

    async with serve({"/{tail:.*}": handler}) as base:
        hostport = base.removeprefix("http://")
        urls = [f"http://u1:p1@{hostport}/a", f"http://u2:p2@{hostport}/b",
                f"http://u3@{hostport}/c", f"http://{hostport}/d",
                f"HTTP://u4:p4@{hostport}/e",
                f"http://u5:p5@{hostport}/private/f"]
        result, spider = await crawl({"start_urls": urls}, {"per_host_concurrency": 8})
    assert len(robots_hits) == 1, robots_hits
    assert "Authorization" not in robots_hits[0]
    assert sorted(urlsplit(u).path for u in spider.pages) == ["/a", "/b", "/c", "/d", "/e"]
    assert result.stats["filtered/robots"] == 1


@pytest.mark.parametrize(("url", "origin"), [
    ("http://u:p@Example.TEST:80/x?y", "http://example.test"),
    ("https://u@example.test:443/", "https://example.test"),
    ("HTTP://example.test:8080/a", "http://example.test:8080"),
    ("http://u:p@[::1]:81/", "http://[::1]:81"),
])
def test_robots_origin_is_scheme_host_and_port_only(url: str, origin: str) -> None:
    from acrawl.policies.robots import robots_origin

    assert robots_origin(url) == origin


# -- 6. Retry-After values that look numeric and are not ------------------------------------------
async def test_unusable_retry_after_falls_back_to_the_default_backoff() -> None:
    """503 with ``Retry-After: ²`` (``str.isdigit()`` says yes, ``float()`` says no), Arabic-
    Indic digits, ``1.5`` and a word, then 200: each page is retried once after the default
    backoff (0.25-0.75 s for a first retry) and reaches its callback; no internal error."""
    values = {"/sup": "\u00b2", "/arabic": "\u0661\u0662", "/decimal": "1.5", "/word": "soon"}
    hits: dict[str, list[float]] = {path: [] for path in values}

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path not in values:
            return web.Response(status=404)
        hits[request.path].append(time.monotonic())
        if len(hits[request.path]) == 1:
            return web.Response(status=503, headers={"Retry-After": values[request.path]})
        return html(request.path)

    async with serve({"/{tail:.*}": handler}) as base:
        result, spider = await crawl({"start_urls": [base + path for path in values]},
                                     {"retry_times": 2, "max_retry_after": 30})
    assert result.stats["errors/internal"] == 0
    assert spider.failures == []
    assert set(spider.pages) == {base + path for path in values}
    assert result.stats["retries/http_503"] == len(values)
    for path, (first, second) in hits.items():  # a backoff, not an immediate retry
        assert second - first >= 0.2, (path, second - first)


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("9" * 5000, 1e15),
    ("\u00b2", None), ("\u0661\u0662", None), ("1.5", None), ("-1", None), ("", None),
    (None, None), ("soon", None), ("\udce9", None), ("Wed, 99 Oct 2026 07:28:00 GMT", None),
    ("Wed, 31 Dec 1969 23:00:00 GMT", 0.0),
    ("Thu, 01 Jan 1970 00:02:00 GMT", 60.0), ("Thu, 01 Jan 1970 00:02:00 -0000", 60.0),
])
def test_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    from datetime import UTC, datetime

    from acrawl.headers import retry_after_seconds

    now = datetime(1970, 1, 1, 0, 1, tzinfo=UTC)
    assert retry_after_seconds(value, now) == seconds


# -- 7. download_delay between a host's first two requests ----------------------------------------
class SlowResolver(AbstractResolver):
    """Resolves every name to 127.0.0.1 after ``seconds``: opening a new connection takes
    that long, as DNS, TCP and TLS do on the internet (and under a crawl's load)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        await asyncio.sleep(self.seconds)
        return [ResolveResult(hostname=host, host="127.0.0.1", port=port,
                              family=socket.AF_INET, proto=0, flags=socket.AI_NUMERICHOST)]

    async def close(self) -> None:
        return None


@contextlib.asynccontextmanager
async def page_server(*hosts: str) -> AsyncIterator[tuple[int, Callable[[], Awaitable[Any]]]]:
    """``raw_server.py`` in a process of its own, serving small pages on ``hosts`` (one port):
    yields the port and a coroutine function returning ``{Host: [arrival times]}``. Its times
    are taken as it reads each request, not when a busy crawler's event loop -- which an
    in-process server shares -- gets round to it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("raw_server.py")), "--hosts", *hosts,
        "--lifetime", "120", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        port = int(line.split()[1])

        async def times() -> Any:
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://{hosts[0]}:{port}/__times") as resp:
                return await resp.json()

        yield port, times
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def test_download_delay_holds_from_a_hosts_first_request_to_its_second() -> None:
    """Five hosts (names resolved to 127.0.0.1 in 0.3 s), three pages each,
    ``per_host_concurrency = 1``, ``download_delay = 0.5``: every gap the server sees between
    two requests of one host is at least 0.5 s. The first request's delay used to count from
    before its connection was opened, so it reached the server 0.3 s late and the second, on
    the kept-alive connection, 0.3 s early (a gap of 0.2 s)."""
    delay = 0.5
    hosts = [f"h{i}.test" for i in range(5)]
    async with page_server("127.0.0.1") as (port, times):
        urls = [f"http://{h}:{port}/p/{n}" for n in range(3) for h in hosts]
        _, spider = await crawl({"start_urls": urls},
                                {"per_host_concurrency": 1, "download_delay": delay,
                                 "obey_robots": False}, resolver=SlowResolver(0.3))
        seen: dict[str, list[float]] = await times()
    assert len(spider.pages) == 15 and spider.failures == []
    assert sorted(seen) == hosts
    gaps = {h: [round(b - a, 3) for a, b in itertools.pairwise(t)] for h, t in seen.items()}
    print(f"\nGAPS per host (s): {gaps}")
    assert all(len(t) == 3 for t in seen.values())
    assert min(min(g) for g in gaps.values()) >= delay - 0.01, gaps


async def test_download_delay_holds_over_many_hosts_at_once() -> None:
    """The crawl of the report, bounded: 100 hosts (loopback addresses 127.0.1.1 ..), three
    pages each, ``per_host_concurrency = 1``, ``download_delay = 0.5``, all started at once, so
    that opening 100 connections competes with everything else: no host sees two requests
    less than the delay apart.

    Before the fix the shortest first-to-second gap here was 0.35-0.46 s. The 20 ms allowed
    below 0.5 s is the server's own noise: all hosts run in lockstep, so it reads each round
    as a burst of 100 requests, and even second-to-third gaps (kept-alive connections both,
    untouched by the fix) measure down to 0.495 s."""
    delay, count = 0.5, 100
    hosts = [f"127.0.1.{i}" for i in range(1, count + 1)]  # (Linux routes all of 127/8)
    async with page_server(*hosts) as (port, times):
        urls = [f"http://{h}:{port}/p/{n}" for n in range(3) for h in hosts]
        _, spider = await crawl({"start_urls": urls},
                                {"per_host_concurrency": 1, "download_delay": delay,
                                 "concurrency": 256, "obey_robots": False}, bound=120)
        seen: dict[str, list[float]] = await times()
    assert len(spider.pages) == 3 * count and spider.failures == []
    assert sorted(seen) == sorted(hosts)
    gaps = sorted(b - a for t in seen.values() for a, b in itertools.pairwise(t))
    print(f"\nGAPS over {count} hosts: shortest {[round(g, 3) for g in gaps[:5]]}")
    assert len(gaps) == 2 * count
    assert gaps[0] >= delay - 0.02, gaps[:10]


# -- 100,000 nested <div>s ------------------------------------------------------------------------
class LinkFollower(Probe):
    """Follows ``response.links()`` (the engine's ``follow_links``), not ``css("a")``."""

    name = "round-two-follower"
    follow_links = True


async def test_links_inside_and_after_100000_nested_divs_are_found() -> None:
    """A page of 100,000 nested ``<div>``s (1.1 MB) with a link before, inside and after the
    nesting, and links in a comment and a script that are none: the HTML parser's tree stops
    at 2,047 levels, so only the first link was followed. Now all three real ones are, and
    only those."""
    depth = 100_000
    page = ('<html><head><title>deep</title></head><body><a href="/before">before</a>'
            + "<div>" * depth
            + '<a href="/inside?a=1&amp;b=2">inside</a><!-- <a href="/comment">c</a> -->'
            + '<script>document.write("<a href=/script>s</a>")</script>'
            + "</div>" * depth
            + '<p><a href="/after">after</a></p></body></html>').encode()
    hits: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        hits.append(request.path_qs)
        if request.path == "/":
            return web.Response(body=page, content_type="text/html")
        return html(request.path)

    async with serve({"/{tail:.*}": handler}) as base:
        crawler = Crawler.create(LinkFollower, spider_args={"start_urls": [base + "/"]},
                                 settings={"timeout": 10.0, "obey_robots": False,
                                           "max_depth": 1},
                                 outputs=[], entry_points=False)
        result = await asyncio.wait_for(crawler.crawl(), 60)
    assert sorted(hits) == ["/", "/after", "/before", "/inside?a=1&b=2"]
    assert result.stats["errors/internal"] == 0 and result.stats["errors/plugin"] == 0
    assert result.stats["pages"] == 4


def test_a_cut_tree_is_recognised_and_an_ordinary_one_is_not() -> None:
    from acrawl.http import Request, Response
    from acrawl.policies.linkextract import _cut, acrawl_extract_links

    def response(body: str) -> Response:
        return Response(url="http://a.test/", status=200, request=Request("http://a.test/"),
                        headers={"Content-Type": "text/html; charset=windows-1252"},
                        body=body.encode("cp1252"))

    flat = response("<p>" + '<a href="/x" rel="nofollow">x</a>' * 3 + "</p>" * 5000)
    deep = response("<div>" * 3000 + '<a href="/caf\xe9">x</a>' + "</div>" * 3000
                    + '<area href="/y" rel=NOFOLLOW>')
    assert not _cut(flat.selector.root) and _cut(deep.selector.root)
    assert [(link.url, link.nofollow) for link in acrawl_extract_links(deep) or []] == [
        ("/caf\xe9", False), ("/y", True)]
    assert [link.url for link in acrawl_extract_links(flat) or []] == ["/x"] * 3


# -- framing: compressed bodies split where the decoder must not lose its place -------------------
@pytest.mark.parametrize("offset", [0, 1])
async def test_gzip_members_split_by_the_network_at_their_boundaries_arrive_whole(
        offset: int) -> None:
    """A chunked gzip body of three members, sent in pieces that end exactly at a member's end
    (``offset`` 0) or one byte into the next member's header (1), with pauses so each piece
    is read alone: the body is all three members. The decoder took a read ending there for
    the end of the body and dropped the rest, unflagged."""
    members = [b"<html><title>one</title>" + b"1" * 5000, b"2" * 7000 + b"<p>two</p>",
               b"3" * 3000 + b"</html>"]
    parts = [gzip.compress(m, mtime=0) for m in members]
    wire = b"".join(parts)
    ends = [len(parts[0]) + offset, len(parts[0]) + len(parts[1]) + offset]
    pieces = [wire[: ends[0]], wire[ends[0]: ends[1]], wire[ends[1]:]]
    headers = {"Content-Type": "text/html", "Content-Encoding": "gzip"}

    def respond(request: RawRequest) -> bytes | list[bytes]:
        if request.path == "/robots.txt":
            return reply(404)
        return chunked(200, headers, pieces)

    async with RawServer(respond) as server:
        _, spider = await crawl({"start_urls": [server.url("/multi")]})
    assert spider.failures == []
    (response,) = spider.pages.values()
    assert response.body == b"".join(members)
    assert response.truncated is False


async def test_a_body_shorter_than_its_content_length_is_a_connect_error() -> None:
    """The server promises 10,000 bytes, sends 100 and closes: the attempt fails with a
    ``ConnectError`` (retried, then the errback), never a short page taken for whole."""
    def respond(request: RawRequest) -> bytes:
        if request.path == "/robots.txt":
            return reply(404)
        return reply(200, {"Content-Length": "10000", "Connection": "close"}, b"x" * 100)

    async with RawServer(respond) as server:
        result, spider = await crawl({"start_urls": [server.url("/short")]}, {"retry_times": 1})
    assert spider.pages == {}
    assert [type(f.exception).__name__ for f in spider.failures] == ["ConnectError"]
    assert result.stats["retries"] == 1


async def test_hostile_set_cookie_headers_do_not_break_the_crawl() -> None:
    """Set-Cookie lines of raw non-UTF-8 bytes, absurd attributes, a 4 KB name and no name,
    next to one good cookie: the page is a page, and the good cookie comes back on the next
    request (the others do no harm). (A NUL in a header is refused by the HTTP parser: the
    response is invalid, a ConnectError, as browsers refuse it.)"""
    bad = (b"Set-Cookie: caf\xe9=cr\xe8me; Path=/\r\n"
           b"Set-Cookie: e=f; Max-Age=99999999999999999999999; Expires=Wed, 99 Foo 2026\r\n"
           b"Set-Cookie: g=h; Domain=..; Path=\xff\r\n"
           b"Set-Cookie: " + b"n" * 4096 + b"=v\r\n"
           b"Set-Cookie: ;;;===;\r\n"
           b"Set-Cookie: good=yes; Path=/\r\n")

    def respond(request: RawRequest) -> bytes:
        if request.path == "/robots.txt":
            return reply(404)
        if request.path == "/first":
            return reply(200, body=b'<a href="/second">next</a>', raw_headers=bad)
        return reply(200, body=b"second")

    async with RawServer(respond) as server:
        result, spider = await crawl({"start_urls": [server.url("/first")], "follow": True})
    assert spider.failures == [] and result.stats["errors/internal"] == 0
    assert set(spider.pages) == {server.url("/first"), server.url("/second")}
    (second,) = [r for r in server.requests if r.path == "/second"]
    assert "good=yes" in second.headers.get("cookie", "")
