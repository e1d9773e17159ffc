"""In-process crawls against small local aiohttp apps: the helpers and the fixtures
(``serve_app``, ``crawl``, ``page``, ``links``, ``closed_port``) the tests of the package's
modules use. The fixtures are registered by ``tests/conftest.py``, so every folder has them;
a module may also import a helper (``local_app``, ``run_crawl``, ...) from here explicitly."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from acrawl.crawler import Crawler, CrawlResult
from acrawl.spider import Spider

__all__ = ["Handler", "closed_port", "crawl", "html_page", "links", "links_page", "local_app",
           "page", "run_crawl", "serve_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def local_app(routes: Mapping[str, Handler]) -> AsyncIterator[str]:
    """Serve ``{path: handler}`` (any method) on 127.0.0.1, any free port; yields the base URL.

    Unknown paths (including ``/robots.txt`` unless given) answer 404, as aiohttp does.
    """
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def html_page(body: str, *, title: str = "t") -> web.Response:
    return web.Response(
        text=f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>",
        content_type="text/html",
    )


def links_page(*hrefs: str) -> web.Response:
    return html_page("".join(f'<a href="{h}">{h}</a>' for h in hrefs))


async def run_crawl(
    spider_cls: type[Spider],
    *,
    settings: Mapping[str, Any] | None = None,
    outputs: list[str] | tuple[str, ...] = (),
    time_limit: float = 30.0,
    **spider_args: Any,
) -> tuple[CrawlResult, Spider]:
    """Run ``spider_cls`` to completion (no entry-point plugins); returns (result, spider).

    A crawl that has not ended after ``time_limit`` seconds fails the test (a hang inside the
    event loop would otherwise swallow pytest-timeout's alarm)."""
    crawler = Crawler.create(
        spider_cls,
        spider_args=spider_args,
        settings={"timeout": 10, **(settings or {})},
        outputs=list(outputs),
        entry_points=False,
    )
    try:
        async with asyncio.timeout(time_limit):
            result = await crawler.crawl()
    except TimeoutError:
        pytest.fail(f"the crawl did not end within {time_limit:g}s", pytrace=False)
    return result, crawler.spider


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve_app() -> Callable[[Mapping[str, Handler]], Any]:
    """``async with serve_app({"/": handler}) as base_url: ...``"""
    return local_app


@pytest.fixture
def crawl() -> Callable[..., Awaitable[tuple[CrawlResult, Spider]]]:
    """``result, spider = await crawl(SpiderClass, settings={...}, start_urls=[...])``"""
    return run_crawl


@pytest.fixture
def page() -> Callable[..., web.Response]:
    """``page("<a href=x>x</a>")``: an HTML response for an aiohttp handler."""
    return html_page


@pytest.fixture
def links() -> Callable[..., web.Response]:
    """``links("/a", "/b")``: an HTML page linking to each href."""
    return links_page
