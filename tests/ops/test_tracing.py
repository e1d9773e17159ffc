"""``-s otel_tracing=true``: one OpenTelemetry span per download, exported through the SDK's
in-memory exporter, against a local aiohttp server."""

from __future__ import annotations

import sys
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk.trace", reason="opentelemetry-sdk is not installed")

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

import acrawl
from acrawl.crawler import Crawler

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def _provider() -> None:
    """The process's tracer provider (it can be set once): spans go to :data:`EXPORTER`."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)


class Site(acrawl.Spider):
    name = "traced"
    allowed_hosts = ["127.0.0.1"]
    settings = {"obey_robots": False, "retry_times": 0, "otel_tracing": True}

    def __init__(self, url: str, dead: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.start_urls = [url]
        self.dead = dead

    def parse(self, response: acrawl.Response) -> Any:
        yield {"url": response.url}
        if response.request.depth == 0:
            yield from response.follow_all(["/a", "/missing"])
            yield acrawl.Request(self.dead + "/gone")


async def test_one_span_per_download(serve_app: Any, page: Any, links: Any,
                                     closed_port: int) -> None:
    EXPORTER.clear()

    async def home(request: Any) -> Any:
        return links("/a")

    async def a(request: Any) -> Any:
        return page("a")

    async with serve_app({"/": home, "/a": a}) as base:
        crawler = Crawler.create(Site, entry_points=False, spider_args={
            "url": base + "/", "dead": f"http://127.0.0.1:{closed_port}"})
        result = await crawler.crawl()
    spans = {s.attributes["url.full"]: s for s in EXPORTER.get_finished_spans()}
    assert len(spans) == result.stats["requests/downloaded"] == 4
    ok = spans[base + "/a"]
    assert ok.name == "GET" and ok.kind == SpanKind.CLIENT
    assert ok.attributes["http.response.status_code"] == 200
    assert ok.attributes["acrawl.request.depth"] == 1
    assert ok.attributes["server.address"] == "127.0.0.1"
    assert ok.attributes["acrawl.response.body_size"] > 0
    assert ok.status.status_code == StatusCode.UNSET
    missing = spans[base + "/missing"]
    assert missing.attributes["http.response.status_code"] == 404
    assert missing.status.status_code == StatusCode.ERROR
    dead = spans[f"http://127.0.0.1:{closed_port}/gone"]
    assert dead.attributes["error.type"] == "ConnectError"
    assert dead.status.status_code == StatusCode.ERROR
    assert [e.name for e in dead.events] == ["exception"]


def test_tracing_without_opentelemetry_is_a_config_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(acrawl.ConfigError, match=r"pip install 'acrawl\[otel\]'"):
        Crawler.create(Site, entry_points=False,
                       spider_args={"url": "http://127.0.0.1:1/", "dead": "http://127.0.0.1:2"})
