"""Per-request controls Scrapy users set in ``meta`` — ``download_timeout`` (the downloader's
timeout for one request) and ``download_slot`` (the politeness slot instead of the host) —
and what an errback receives (the failure only; ``cb_kwargs`` through ``failure.request``),
against local servers that record what they see."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from aiohttp import web

from acrawl.errors import DownloadError, DownloadTimeout
from acrawl.http import Failure, Request, Response
from acrawl.spider import Spider


class Slow:
    """``/slow/<seconds>/<name>`` answers after that long; tracks requests in flight."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self.done: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(float(request.match_info["seconds"]))
        finally:
            self.active -= 1
        self.done.append(request.match_info["name"])
        return web.Response(text="<html>ok</html>", content_type="text/html")


class Listed(Spider):
    name = "listed"
    settings = {"obey_robots": False, "retry_times": 0}
    requests: list[tuple[str, dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.got: list[str] = []
        self.failures: list[Failure] = []

    def start_requests(self) -> Any:
        for url, kw in self.requests:
            yield Request(url, errback=self.eb, **kw)

    def parse(self, response: Response) -> None:
        self.got.append(response.url)

    def eb(self, failure: Failure) -> None:
        self.failures.append(failure)


async def test_download_timeout_in_meta_bounds_that_request_only(
        crawl: Any, serve_app: Any) -> None:
    slow = Slow()
    async with serve_app({"/slow/{seconds}/{name}": slow.handle}) as base:

        class Timed(Listed):
            requests = [(f"{base}/slow/3/short", {"meta": {"download_timeout": 0.3}}),
                        (f"{base}/slow/0.5/default", {}),
                        (f"{base}/slow/0/bad", {"meta": {"download_timeout": "soon"}})]

        result, spider = await crawl(Timed, start_urls=[base], settings={"timeout": 10})
    assert spider.got == [f"{base}/slow/0.5/default"]  # type: ignore[attr-defined]
    kinds = {f.request.url.rsplit("/", 1)[1]: f.exception
             for f in spider.failures}  # type: ignore[attr-defined]
    assert isinstance(kinds["short"], DownloadTimeout)
    assert "0.3s" in str(kinds["short"])
    assert type(kinds["bad"]) is DownloadError
    assert "meta['download_timeout'] must be a number of seconds > 0" in str(kinds["bad"])
    assert result.stats["failed/DownloadTimeout"] == 1


def _bind(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
    except OSError:
        sock.close()
        pytest.skip(f"cannot bind {host} (loopback alias) on this machine")
    return sock


@pytest.mark.parametrize("slot", [None, "shared"])
async def test_download_slot_puts_two_hosts_in_one_politeness_slot(
        crawl: Any, serve_app: Any, slot: str | None) -> None:
    """``per_host_concurrency = 1``: two hosts run in parallel; with one ``download_slot`` for
    both, one request at a time is in flight over the two."""
    slow = Slow()
    app = web.Application()
    app.router.add_get("/slow/{seconds}/{name}", slow.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    bases = []
    for host in ("127.0.0.1", "127.0.0.2"):
        sock = _bind(host)
        await web.SockSite(runner, sock).start()
        bases.append(f"http://{host}:{sock.getsockname()[1]}")
    try:
        meta = {"download_slot": slot} if slot else {}

        class Slotted(Listed):
            requests = [(f"{b}/slow/0.2/{n}", {"meta": dict(meta)})
                        for n in range(3) for b in bases]

        _, spider = await crawl(Slotted, start_urls=bases,
                                settings={"per_host_concurrency": 1, "concurrency": 8})
    finally:
        await runner.cleanup()
    assert len(spider.got) == 6 and spider.failures == []  # type: ignore[attr-defined]
    assert slow.peak == (1 if slot else 2), slow.peak


def test_download_slot_is_the_request_host_key() -> None:
    assert Request("http://A.test:8080/x").host == "a.test:8080"
    assert Request("http://a.test/x", meta={"download_slot": "pool-1"}).host == "pool-1"


async def test_an_errback_gets_the_failure_only_and_cb_kwargs_through_its_request(
        crawl: Any, closed_port: int) -> None:
    """As in Scrapy: ``errback(failure)``, and ``failure.request.cb_kwargs`` for the rest."""

    class Err(Listed):
        requests = [(f"http://127.0.0.1:{closed_port}/x", {"cb_kwargs": {"page": 7}})]

    result, spider = await crawl(Err, start_urls=[f"http://127.0.0.1:{closed_port}/"])
    [failure] = spider.failures  # type: ignore[attr-defined]
    assert failure.request.cb_kwargs == {"page": 7}
    assert result.stats["errors/callback"] == 0
