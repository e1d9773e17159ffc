"""``acrawl.run`` and ``acrawl.crawl``: running spiders from Python."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import acrawl
from acrawl.demo.site import LinkSite, ThreadedServer, run_in_thread
from cli_support import clean_env, wait_for

PAGES = 40


@pytest.fixture(scope="module")
def link_site() -> Iterator[ThreadedServer]:
    with run_in_thread(LinkSite(pages=PAGES, offsite_links=0), host="127.0.0.1") as srv:
        yield srv


class Pages(acrawl.Spider):
    name = "pages"
    allowed_hosts = ["127.0.0.1"]
    settings = {"obey_robots": False, "timeout": 10}
    tag = "-"

    def parse(self, response: acrawl.Response) -> Any:
        yield {"url": response.url, "tag": self.tag}
        yield from response.follow_all(css="a")


def _page_urls(srv: ThreadedServer) -> set[str]:
    return {acrawl_canonical(u) for u in LinkSite(pages=PAGES).page_urls(srv.base_url)}


def acrawl_canonical(url: str) -> str:
    from acrawl.urls import canonicalize

    return canonicalize(url)


def test_run_blocks_and_returns_stats_and_items(link_site: ThreadedServer) -> None:
    result = acrawl.run(Pages, start_urls=[link_site.base_url + "/"], tag="t1",
                        return_items=True)
    assert isinstance(result, acrawl.CrawlResult)
    assert result.reason == "finished"
    assert result.stats["pages"] == PAGES and result.errors == 0
    assert result.items is not None and len(result.items) == PAGES
    assert {acrawl_canonical(i["url"]) for i in result.items} == _page_urls(link_site)
    assert {i["tag"] for i in result.items} == {"t1"}  # a spider argument


def test_run_twice_in_a_row_settings_and_outputs(link_site: ThreadedServer,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    first = acrawl.run(Pages, settings={"max_pages": 5}, outputs=[str(out)],
                       start_urls=[link_site.base_url + "/"])
    second = acrawl.run(Pages, settings={"max_pages": 7}, outputs=[str(out)],
                        start_urls=[link_site.base_url + "/"])
    assert (first.reason, first.stats["pages"]) == ("max_pages", 5)
    assert (second.reason, second.stats["pages"]) == ("max_pages", 7)
    assert first.items is None  # not asked for
    assert len(out.read_text().splitlines()) == 12  # JSONL appends


def test_run_refuses_a_running_event_loop() -> None:
    async def inside() -> None:
        acrawl.run(Pages)

    with pytest.raises(RuntimeError, match=r"await acrawl\.crawl\(\.\.\.\)"):
        asyncio.run(inside())


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match=r"an acrawl\.Spider subclass"):
        acrawl.run("pages")  # type: ignore[arg-type]
    with pytest.raises(acrawl.ConfigError, match="concurrency"):
        acrawl.run(Pages, settings={"concurrency": "many"})


def test_state_dir_resumes(link_site: ThreadedServer, tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    start = [link_site.base_url + "/"]
    first = acrawl.run(Pages, settings={"max_pages": 10}, state_dir=state, start_urls=start,
                       return_items=True)
    rest = acrawl.run(Pages, state_dir=state, start_urls=start, return_items=True)
    assert first.reason == "max_pages" and rest.reason == "finished"
    assert rest.stats["pages"] == PAGES  # the stats of the whole crawl
    assert first.items is not None and rest.items is not None
    urls = [acrawl_canonical(i["url"]) for i in first.items + rest.items]
    assert len(urls) == PAGES and set(urls) == _page_urls(link_site)  # each page once


class Counter:
    """A plugin object: counts the items it sees."""

    def __init__(self) -> None:
        self.items = 0

    @acrawl.hookimpl
    def acrawl_item_scraped(self, item: Any) -> None:
        self.items += 1


async def test_crawl_in_a_running_loop_with_a_plugin_object(link_site: ThreadedServer) -> None:
    counter = Counter()
    result = await acrawl.crawl(Pages, plugins=[counter], start_urls=[link_site.base_url + "/"])
    assert result.reason == "finished" and result.items is None
    assert counter.items == PAGES == result.stats["items"]


async def test_several_crawls_at_once(link_site: ThreadedServer, tmp_path: Path) -> None:
    outs = [tmp_path / f"{n}.jsonl" for n in range(3)]
    results = await asyncio.gather(*(
        acrawl.crawl(Pages, settings={"max_pages": 10 + n}, outputs=[str(out)],
                     return_items=True, start_urls=[link_site.base_url + "/"], tag=str(n))
        for n, out in enumerate(outs)))
    for n, (result, out) in enumerate(zip(results, outs, strict=True)):
        assert result.stats["pages"] == 10 + n
        assert result.items is not None and {i["tag"] for i in result.items} == {str(n)}
        written = [json.loads(line) for line in out.read_text().splitlines()]
        assert written == result.items


async def test_cancelling_a_crawl_closes_its_outputs(link_site: ThreadedServer,
                                                     tmp_path: Path) -> None:
    class Slow(Pages):
        async def parse(self, response: acrawl.Response) -> Any:
            await asyncio.sleep(0.05)
            for out in super().parse(response):
                yield out

    out = tmp_path / "items.json"
    task = asyncio.create_task(acrawl.crawl(Slow, outputs=[str(out)], settings={
        "concurrency": 1}, start_urls=[link_site.base_url + "/"]))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    items = json.loads(out.read_text())  # a complete JSON array: the sink was closed
    assert 0 < len(items) < PAGES


def test_a_cache_recorded_by_one_run_is_replayed_offline_by_another(tmp_path: Path) -> None:
    """What the testing kit relies on: ``acrawl.run(..., settings={"cache_dir": DIR,
    "cache_mode": "replay"})`` answers from DIR alone (robots.txt included)."""

    class Robots(Pages):
        settings = {"obey_robots": True, "timeout": 10}

    cache = str(tmp_path / "cache")
    with run_in_thread(LinkSite(pages=PAGES, offsite_links=0), host="127.0.0.1") as srv:
        start = [srv.base_url + "/"]
        recorded = acrawl.run(Robots, start_urls=start, return_items=True,
                              settings={"cache_dir": cache})
        hits = sum(srv.hits.values())
        assert recorded.stats["cache/store"] == hits == PAGES + 1  # + robots.txt
        replayed = acrawl.run(Robots, start_urls=start, return_items=True,
                              settings={"cache_dir": cache, "cache_mode": "replay"})
        assert sum(srv.hits.values()) == hits  # not one request
    offline = acrawl.run(Robots, start_urls=start, return_items=True,
                         settings={"cache_dir": cache, "cache_mode": "replay"})
    for result in (replayed, offline):
        assert result.errors == 0 and result.stats["cache/hit"] == PAGES + 1
        assert result.items is not None and recorded.items is not None
        assert sorted(acrawl_canonical(i["url"]) for i in result.items) == sorted(
            acrawl_canonical(i["url"]) for i in recorded.items)


def test_a_replay_does_not_wait_out_the_download_delay(tmp_path: Path) -> None:
    """Each cached answer gives its host delay back: with ``download_delay = 600`` a replay
    of 40 pages would otherwise take hours (the pytest timeout would stop it)."""
    cache = str(tmp_path / "cache")
    with run_in_thread(LinkSite(pages=PAGES, offsite_links=0), host="127.0.0.1") as srv:
        start = [srv.base_url + "/"]
        acrawl.run(Pages, start_urls=start, settings={"cache_dir": cache})
    replayed = acrawl.run(Pages, start_urls=start, settings={
        "cache_dir": cache, "cache_mode": "replay", "download_delay": 600.0})
    assert replayed.reason == "finished" and replayed.stats["pages"] == PAGES


# -- Ctrl-C: acrawl.run stops as acrawl-run does (the same handlers: runner.stop_on_signals) ----

#: a script that runs ``acrawl.run`` on the site given, writing ``out``; prints the result
_RUN_SCRIPT = """
import json, logging, sys
import acrawl

class Pages(acrawl.Spider):
    name = "pages"
    allowed_hosts = ["127.0.0.1"]
    settings = {"obey_robots": False, "timeout": 30, "item_flush_interval": 0.1}

    def parse(self, response):
        yield {"url": response.url}
        yield from response.follow_all(css="a")

logging.basicConfig(level=logging.WARNING)
result = acrawl.run(Pages, start_urls=[sys.argv[1]], outputs=[sys.argv[2]])
print(json.dumps({"reason": result.reason, "items": result.stats["items"]}))
"""


def _start_run(site: ThreadedServer, out: Path, tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _RUN_SCRIPT, site.base_url + "/", str(out)], cwd=tmp_path,
        env={**clean_env(), "ACRAWL_DISABLE_PLUGIN_AUTOLOAD": "1"}, text=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _finish(proc: subprocess.Popen[str], timeout: float) -> tuple[dict[str, Any], str, float]:
    started = time.monotonic()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"acrawl.run did not stop within {timeout:g}s after the signal: {stderr}")
    took = time.monotonic() - started
    assert proc.returncode == 0, stderr[-3000:]  # acrawl.run returns; the caller decides
    assert "Traceback" not in stderr, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1]), stderr, took


def test_ctrl_c_stops_run_gracefully_with_every_item_written(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    with run_in_thread(LinkSite(pages=5000, latency=0.2), host="127.0.0.1") as site:
        proc = _start_run(site, out, tmp_path)
        assert wait_for(lambda: _lines(out) >= 1 or proc.poll() is not None, 20)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        result, stderr, took = _finish(proc, 20)
    assert result["reason"] == "interrupted"
    items = [json.loads(line) for line in out.read_text().splitlines()]  # all complete
    assert 0 < len(items) < 5000 and result["items"] == len(items)
    assert len({i["url"] for i in items}) == len(items)
    assert "SIGINT: finishing requests in flight and saving; again to stop now" in stderr
    assert "stopping now" not in stderr
    assert took < 10  # the requests in flight (0.2 s each) finish, no more


@pytest.mark.slow
def test_a_second_signal_stops_run_at_once(tmp_path: Path) -> None:
    """Each response takes 5 s: after the first SIGTERM the crawl would wait for the requests
    in flight (about 4 s more); the second stops it now, the items written still whole."""
    out = tmp_path / "items.jsonl"
    with run_in_thread(LinkSite(pages=5000, latency=5), host="127.0.0.1") as site:
        proc = _start_run(site, out, tmp_path)
        # the start page is written (t = 5 s); the pages it links to are in flight until 10 s
        assert wait_for(lambda: _lines(out) >= 1 or proc.poll() is not None, 20)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert proc.poll() is None, "expected the first SIGTERM to wait for requests in flight"
        proc.send_signal(signal.SIGTERM)
        result, stderr, took = _finish(proc, 15)
    assert took < 3.0, f"took {took:.1f}s to stop after the second SIGTERM"
    assert result["reason"] == "interrupted"
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert items and result["items"] == len(items)
    assert "SIGTERM: finishing requests in flight and saving; again to stop now" in stderr
    assert "stopping now" in stderr
