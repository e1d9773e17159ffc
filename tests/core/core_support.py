"""Helpers for the tests of ``acrawl.core`` (spider middlewares, component lifecycle): a local
aiohttp app that counts its hits, a one-call crawl runner, and ``acrawl-run`` as a user runs
it (the pattern of tests/unit/conftest.py and tests/e2e, kept here so this folder stands
alone). Imported by name (``from core_support import ...``), as tests/e2e does with
``e2e_support``."""

from __future__ import annotations

import asyncio
import subprocess
import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from acrawl.crawler import Crawler, CrawlResult
from acrawl.spider import Spider
from cli_support import ACRAWL, clean_env


class Site:
    """A local app: ``pages`` maps a path to its HTML body (anything else is a 404);
    ``hits`` counts each path (with its query) as served."""

    def __init__(self, pages: Mapping[str, str] | None = None) -> None:
        self.pages = dict(pages or {})
        self.hits: Counter[str] = Counter()

    async def handle(self, request: web.Request) -> web.Response:
        self.hits[request.path_qs] += 1
        body = self.pages.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        return web.Response(text=f"<html><body>{body}</body></html>", content_type="text/html")


@asynccontextmanager
async def serve(site: Site) -> AsyncIterator[str]:
    """``site`` on 127.0.0.1, a free port; yields the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", site.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def links(*hrefs: str) -> str:
    return "".join(f'<a href="{h}">{h}</a>' for h in hrefs)


def make_crawler(spider_cls: type[Spider], *, settings: Mapping[str, Any] | None = None,
                 outputs: list[str] | tuple[str, ...] = (), **spider_args: Any) -> Crawler:
    return Crawler.create(spider_cls, spider_args=spider_args,
                          settings={"timeout": 10, "obey_robots": False, **(settings or {})},
                          outputs=list(outputs), entry_points=False)


async def run_crawler(crawler: Crawler, time_limit: float = 30.0) -> CrawlResult:
    """``crawler.crawl()``; a crawl that has not ended after ``time_limit`` seconds fails the
    test (a hang in the event loop would otherwise swallow pytest-timeout's alarm)."""
    try:
        async with asyncio.timeout(time_limit):
            return await crawler.crawl()
    except TimeoutError:
        pytest.fail(f"the crawl did not end within {time_limit:g}s", pytrace=False)


async def run_crawl(spider_cls: type[Spider], *, settings: Mapping[str, Any] | None = None,
                    outputs: list[str] | tuple[str, ...] = (), time_limit: float = 30.0,
                    **spider_args: Any) -> tuple[CrawlResult, Any]:
    """Run ``spider_cls`` to its end (robots.txt off, no entry-point plugins); returns
    (result, spider)."""
    crawler = make_crawler(spider_cls, settings=settings, outputs=outputs, **spider_args)
    result = await run_crawler(crawler, time_limit)
    return result, crawler.spider


def write_module(directory: Path, name: str, source: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(source))
    return path


def acrawl_run(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``acrawl-run ARGS`` (this venv's console script) in ``cwd``, plugins not autoloaded,
    no proxy."""
    env = clean_env()
    env["ACRAWL_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run([*ACRAWL, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
