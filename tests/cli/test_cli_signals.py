"""Interrupting ``acrawl-run``: exit 130, nothing half-written, no item lost; a second
SIGINT stops promptly."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from e2e_support import Runner, count_lines, read_jsonl, wait_for


def _check_output(tmp_path: Path, err: str) -> list[dict]:
    items = read_jsonl(tmp_path / "s.jsonl")  # every line complete and valid
    assert items, "no item written before the interrupt"
    urls = [it["url"] for it in items]
    assert len(urls) == len(set(urls)), "an item written twice"
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["reason"] == "interrupted", stats
    assert stats["items"] == len(items), "items counted but not written (lost on stop)"
    assert "Traceback" not in err, err[-3000:]
    return items


@pytest.mark.parametrize("sig", [signal.SIGINT,
                                 pytest.param(signal.SIGTERM, marks=pytest.mark.slow)])
def test_interrupt_exits_130_with_complete_output(acrawl: Runner, tmp_path: Path,
                                                  site_process, sig: signal.Signals) -> None:
    site = site_process("links", "--pages", "5000", "--latency", "0.2")
    run = acrawl.start("links", "-a", f"url={site.base_url}/", "-o", "s.jsonl",
                       "--stats", "stats.json")
    assert wait_for(lambda: count_lines(tmp_path / "s.jsonl") >= 1, 15), run.stderr
    time.sleep(0.3)
    run.send_signal(sig)
    code, took = run.finish(20)
    assert code == 130, run.stderr[-3000:]
    items = _check_output(tmp_path, run.stderr)
    assert len(items) < 5000
    # the first signal lets requests in flight finish (0.2 s each), no need for more
    assert took < 10


def test_interrupt_with_json_output_leaves_valid_json(acrawl: Runner, tmp_path: Path,
                                                      site_process) -> None:
    site = site_process("links", "--pages", "5000", "--latency", "0.2")
    run = acrawl.start("links", "-a", f"url={site.base_url}/", "-o", "s.json",
                       "-o", "s.jsonl", "--stats", "stats.json")
    assert wait_for(lambda: count_lines(tmp_path / "s.jsonl") >= 1, 15), run.stderr
    run.send_signal(signal.SIGINT)
    code, _took = run.finish(20)
    assert code == 130, run.stderr[-3000:]
    items = _check_output(tmp_path, run.stderr)
    assert json.loads((tmp_path / "s.json").read_text()) == items


@pytest.mark.slow
def test_second_sigint_stops_promptly(acrawl: Runner, tmp_path: Path, site_process) -> None:
    """Each response takes 5 s: after the first SIGINT the crawl would wait for the requests in
    flight (about 4 s more); the second stops now, still with exit 130 and a clean output."""
    site = site_process("links", "--pages", "5000", "--latency", "5")
    run = acrawl.start("links", "-a", f"url={site.base_url}/", "-o", "s.jsonl",
                       "--stats", "stats.json", "--timeout", "30", "--no-robots",
                       "-s", "item_flush_interval=0.1")
    # the start page is written (t = 5 s); the pages it links to are in flight until 10 s
    assert wait_for(lambda: count_lines(tmp_path / "s.jsonl") >= 1, 20), run.stderr
    time.sleep(0.5)
    run.send_signal(signal.SIGINT)
    time.sleep(0.3)
    assert run.poll() is None, "expected the first SIGINT to wait for requests in flight"
    run.send_signal(signal.SIGINT)
    code, took = run.finish(15)
    assert code == 130, run.stderr[-3000:]
    assert took < 3.0, f"took {took:.1f}s to stop after the second SIGINT"
    _check_output(tmp_path, run.stderr)


@pytest.mark.slow
def test_sigint_before_the_first_response(acrawl: Runner, tmp_path: Path,
                                          site_process) -> None:
    """Interrupted twice before any page arrived: 130, and an empty (not broken) output."""
    site = site_process("links", "--pages", "100", "--latency", "8")
    run = acrawl.start("links", "-a", f"url={site.base_url}/", "-o", "s.json",
                       "--stats", "stats.json")
    time.sleep(1.5)
    run.send_signal(signal.SIGINT)
    time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    code, took = run.finish(15)
    assert code == 130, run.stderr[-3000:]
    assert took < 3.5, f"took {took:.1f}s to stop after the second SIGINT"
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert json.loads((tmp_path / "s.json").read_text()) == []
    assert json.loads((tmp_path / "stats.json").read_text())["reason"] == "interrupted"


BLOCKING_SPIDER = '''
import pathlib
import time

import acrawl


class Stuck:
    """A sync pipeline that blocks the event loop (a database call without a timeout)."""

    def process_item(self, item, spider):
        pathlib.Path("blocking").touch()
        time.sleep(60)
        return item


class Blocks(acrawl.Spider):
    name = "blocks"
    pipelines = [Stuck]

    def __init__(self, url="", **kw):
        super().__init__(**kw)
        self.start_urls = [url]

    def parse(self, response):
        yield {"url": response.url}
'''


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_gets_through_a_blocked_event_loop(acrawl: Runner, tmp_path: Path,
                                                           site_process,
                                                           sig: signal.Signals) -> None:
    """A signal reaches the event loop only when the loop runs: with a pipeline blocking it,
    the second (and third) Ctrl-C waited the 60 s of the pipeline."""
    site = site_process("links", "--pages", "10")
    (tmp_path / "blocks.py").write_text(BLOCKING_SPIDER)
    run = acrawl.start("blocks.py", "-a", f"url={site.base_url}/", "-o", "s.jsonl")
    assert wait_for(lambda: (tmp_path / "blocking").exists(), 20), run.stderr
    run.send_signal(sig)
    time.sleep(0.3)
    assert run.poll() is None
    run.send_signal(sig)
    code, took = run.finish(15)
    assert code == 130, run.stderr[-3000:]
    assert took < 4, f"took {took:.1f}s to stop after the second signal"
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "internal error" not in run.stderr, run.stderr[-3000:]
    assert "the event loop is blocked" in run.stderr
