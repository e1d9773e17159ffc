"""acrawl.ops: guardrails, the stats line, JSON logs, per-host figures, metrics; in-process,
against local aiohttp servers."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import acrawl
from acrawl.cli.main import main
from acrawl.crawler import Crawler
from acrawl.ops.guardrails import Guardrails, rss_bytes
from acrawl.ops.logformat import JsonFormatter
from acrawl.ops.logstats import LogStats, human_bytes
from acrawl.ops.view import Snapshot
from acrawl.stats import Stats

MiB = 1 << 20


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- guardrails -----------------------------------------------------------------------------------


def test_no_limit_is_no_guardrail() -> None:
    guard = Guardrails(stats=Stats())
    assert not guard.active
    assert guard.check() is None


def test_close_timeout_counts_from_the_start_of_the_crawl() -> None:
    clock = Clock()
    guard = Guardrails(stats=Stats(), timeout=10, clock=clock)
    clock.now += 50  # (time before the crawl started does not count)
    guard.start()
    clock.now += 9.9
    assert guard.check() is None
    clock.now += 0.1
    assert guard.check() == ("close_timeout", "10.0s of crawling, limit 10s")


def test_item_and_error_counts_are_this_runs() -> None:
    stats = Stats()
    stats.inc("items", 500)  # counted by an earlier run of a resumed crawl
    stats.inc("errors/callback", 7)
    guard = Guardrails(stats=stats, item_count=10, error_count=3)
    guard.start()
    assert guard.check() is None
    stats.inc("items", 9)
    stats.inc("errors/sink", 2)
    stats.inc("failed/DownloadTimeout", 50)  # a failed download is not an error
    assert guard.check() is None
    stats.inc("errors/callback")
    assert guard.check() == ("close_error_count", "3 errors, limit 3")
    stats.inc("items")
    assert guard.check() == ("close_item_count", "10 items, limit 10")


def test_memory_warns_once_then_stops(caplog: pytest.LogCaptureFixture) -> None:
    rss = [100 * MiB]
    clock = Clock()
    stats = Stats()
    guard = Guardrails(stats=stats, memory_limit=200 * MiB, memory_warning=150 * MiB,
                       rss=lambda: rss[0], clock=clock)
    assert guard.check() is None
    rss[0] = 160 * MiB
    with caplog.at_level(logging.WARNING, "acrawl.ops.guardrails"):
        for _ in range(3):
            clock.now += 1
            assert guard.check() is None
    assert [r.getMessage() for r in caplog.records] == [
        "memory: RSS 160 MiB passed memory_warning_mb=150 (the crawl stops at 200)"]
    assert stats.values["memory_warning_rss_mb"] == 160
    rss[0] = 230 * MiB
    clock.now += 1
    assert guard.check() == ("memory_limit", "RSS 230 MiB, limit 200 MiB")


def test_the_warning_defaults_to_80_percent_of_the_limit() -> None:
    settings = acrawl.Settings.build(overrides={"memory_limit_mb": "500"})
    guard = Guardrails.from_settings(settings, Stats())
    assert guard.memory_limit == 500 * MiB
    assert guard.memory_warning == 400 * MiB


def test_rss_is_this_process_memory_now() -> None:
    before = rss_bytes()
    block = b"x" * (64 * MiB)  # written: resident
    assert rss_bytes() >= before + 32 * MiB
    del block


async def test_watch_stops_the_crawl_with_the_reason() -> None:
    stats = Stats()
    guard = Guardrails(stats=stats, item_count=3)
    stopped: list[str] = []
    task = asyncio.create_task(guard.watch(stopped.append))
    await asyncio.sleep(0.01)
    assert not task.done()
    stats.inc("items", 3)
    await asyncio.wait_for(task, 2)
    assert stopped == ["close_item_count"]
    assert guard.tripped == ("close_item_count", "3 items, limit 3")
    assert stats.values["finish_detail"] == "3 items, limit 3"


async def test_a_snapshot_never_swallows_a_cancel() -> None:
    """The view's bounded wait for the frontier: a cancel landing just as the frontier
    answers still cancels (asyncio.wait_for on 3.11 returned the answer instead, and the live
    view's task, cancelled at the end of the crawl, went on for ever)."""
    from acrawl.ops.hoststats import HostStats
    from acrawl.ops.view import CrawlView

    answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def pending() -> int:
        return await answer

    view = CrawlView(stats=Stats(), hosts=HostStats(), pending=pending, in_flight=lambda: 0,
                     host_delay=lambda host: 0.0)
    task = asyncio.create_task(view.snapshot())
    await asyncio.sleep(0)  # the snapshot waits for the frontier
    answer.set_result(7)  # the frontier answers ...
    task.cancel()  # ... and the snapshot is cancelled in the same turn of the loop
    with pytest.raises(asyncio.CancelledError):
        await task


# -- logs -----------------------------------------------------------------------------------------


def _snap(at: float, pages: int, items: int, nbytes: int, **kw: Any) -> Snapshot:
    base: dict[str, Any] = dict(elapsed=at, pages_this_run=pages, queue=5, in_flight=2,
                                errors=1, counters={}, hosts=())
    base.update(kw)
    return Snapshot(at=at, pages=pages, items=items, bytes=nbytes, **base)


def test_the_stats_line_gives_rates_over_the_interval() -> None:
    earlier = _snap(10.0, 100, 90, 1000)
    now = _snap(20.0, 300, 290, 1000 + 20 * 1024)
    message, fields = LogStats.line(now, earlier)
    assert message == ("300 pages (20.0/s), 290 items (20.0/s), 21.0 KiB (2.0 KiB/s); "
                       "queue 5, in flight 2, errors 1; 20s")
    assert fields == {"pages": 300, "pages_per_second": 20.0, "items": 290,
                      "items_per_second": 20.0, "bytes": 21480, "bytes_per_second": 2048,
                      "queue": 5, "in_flight": 2, "errors": 1, "elapsed_seconds": 20.0}


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1536, 5 * MiB, 3 << 30)] == [
        "0 B", "1023 B", "1.5 KiB", "5.0 MiB", "3.0 GiB"]


def test_json_formatter_one_object_per_record() -> None:
    fmt = JsonFormatter()
    record = logging.LogRecord("acrawl.stats", logging.INFO, __file__, 1, "%d pages", (3,), None)
    record.stats = {"pages": 3, "message": "not this"}  # an extra cannot replace a field
    out = json.loads(fmt.format(record))
    assert out["level"] == "INFO" and out["logger"] == "acrawl.stats"
    assert out["message"] == "3 pages" and out["pages"] == 3
    assert out["time"].endswith("Z") and "T" in out["time"]
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        import sys

        record = logging.LogRecord("acrawl", logging.ERROR, __file__, 1, "boom", (),
                                   sys.exc_info())
    line = fmt.format(record)
    assert "\n" not in line
    assert "ValueError: bad" in json.loads(line)["exception"]


# -- a real crawl: per-host figures, bytes, metrics -----------------------------------------------


async def _slow_site(serve_app: Any, links: Any, pages: int = 200, delay: float = 0.02) -> Any:
    async def page(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(delay)
        n = int(request.match_info.get("n", "0"))
        return links(*(f"/p/{m}" for m in range(n + 1, min(n + 4, pages))))

    return serve_app({"/": page, "/p/{n}": page})


class Pages(acrawl.Spider):
    name = "pages"
    allowed_hosts = ["127.0.0.1"]
    settings = {"obey_robots": False}

    def __init__(self, url: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.start_urls = [url]

    def parse(self, response: acrawl.Response) -> Any:
        yield {"url": response.url}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href)


async def test_per_host_figures_and_bytes_reach_the_stats(serve_app: Any, links: Any,
                                                          crawl: Any) -> None:
    async with await _slow_site(serve_app, links, pages=30, delay=0) as base:
        result, _ = await crawl(Pages, url=base + "/")
    stats = result.stats
    host = base.split("://")[1]
    hosts = stats.values["hosts"]
    assert list(hosts) == [host]
    assert hosts[host]["pages"] == stats["pages"] == 30
    assert hosts[host]["requests"] == stats["requests/downloaded"]
    assert hosts[host]["bytes"] == stats["responses/bytes"] > 30 * 100
    assert hosts[host]["errors"] == 0 and hosts[host]["in_flight"] == 0
    assert stats.values["finish_reason"] == "finished"


async def test_metrics_counters_grow_between_two_scrapes(serve_app: Any, links: Any) -> None:
    async with await _slow_site(serve_app, links) as base:
        crawler = Crawler.create(Pages, spider_args={"url": base + "/"}, entry_points=False,
                                 settings={"metrics_port": 0, "concurrency": 2})
        task = asyncio.create_task(crawler.crawl())
        try:
            metrics = crawler.monitor.metrics
            assert metrics is not None
            async with aiohttp.ClientSession() as session:
                async def scrape() -> dict[str, float]:
                    async with session.get(metrics.url) as resp:
                        assert resp.status == 200
                        assert resp.headers["Content-Type"].startswith("text/plain")
                        return _parse(await resp.text())

                for _ in range(200):  # until the crawl has begun and served a few pages
                    await asyncio.sleep(0.02)
                    if metrics.port and crawler.view is not None:
                        first = await scrape()
                        if first.get("acrawl_pages_total", 0) >= 3:
                            break
                await asyncio.sleep(0.5)
                second = await scrape()
        finally:
            crawler.stop()
            await task
    for name in ("acrawl_pages_total", "acrawl_items_total", "acrawl_response_bytes_total",
                 "acrawl_downloads_total", 'acrawl_responses_total{status="200"}'):
        assert second[name] > first[name] > 0, name
    assert second["acrawl_in_flight"] >= 0 and "acrawl_queue_depth" in second
    host = base.split("://")[1]
    assert f'acrawl_host_delay_seconds{{host="{host}"}}' in second
    assert second['acrawl_info{spider="pages",version="' + acrawl.__version__ + '"}'] == 1
    assert second["acrawl_resident_memory_bytes"] > MiB


def _parse(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


async def test_a_metrics_port_in_use_is_a_config_error(serve_app: Any, links: Any) -> None:
    async with await _slow_site(serve_app, links) as base:
        port = int(base.rsplit(":", 1)[1])
        crawler = Crawler.create(Pages, spider_args={"url": base + "/"}, entry_points=False,
                                 settings={"metrics_port": port}, outputs=[])
        with pytest.raises(acrawl.ConfigError, match=f"--metrics-port {port}: cannot listen"):
            await crawler.crawl()


def test_metrics_without_prometheus_client_is_a_one_line_usage_error(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.setitem(__import__("sys").modules, "prometheus_client", None)
    monkeypatch.chdir(tmp_path)
    code = main(["links", "-a", "url=http://127.0.0.1:1/", "--metrics-port", "9999",
                 "-o", "out.jsonl"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines() == ["acrawl-run: error: --metrics-port needs prometheus-client: "
                                "pip install 'acrawl[metrics]'"]
    assert not (tmp_path / "out.jsonl").exists()
