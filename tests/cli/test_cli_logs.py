"""Logs for machines: the periodic stats line when stderr is not a terminal, and
``--log-format json`` (one JSON object per line), against a real local site."""

from __future__ import annotations

import itertools
import json
import statistics
from datetime import datetime
from typing import Any

import pytest
from e2e_support import Runner, assert_ok, describe

from acrawl.demo.site import LinkSite

#: slow enough that a crawl lasts as long as its --close-timeout
SLOW = {"pages": 5000, "latency": 0.05}


def _stats_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " INFO acrawl.stats: " in line]


def _records(stderr: str) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(stderr.splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"stderr line {n} is not JSON: {line!r}") from None
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= set(record), line
        out.append(record)
    return out


def _when(record: dict[str, Any]) -> float:
    return datetime.fromisoformat(record["time"].replace("Z", "+00:00")).timestamp()


def test_without_a_terminal_a_stats_line_comes_at_the_interval(acrawl: Runner,
                                                               serve: Any) -> None:
    srv = serve(LinkSite(**SLOW))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "--concurrency", "4",
                        "--close-timeout", "3", "-s", "log_stats_interval=0.5")
    assert_ok(result)
    lines = _stats_lines(result.stderr)
    assert 4 <= len(lines) <= 7, describe(result)
    for line in lines:
        assert " pages (" in line and " items (" in line and "/s); queue " in line, line
        assert ", in flight " in line and ", errors 0; " in line, line


def test_log_format_json_every_line_parses(acrawl: Runner, serve: Any) -> None:
    srv = serve(LinkSite(**SLOW))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "--concurrency", "4",
                        "--close-timeout", "3", "-s", "log_stats_interval=0.5",
                        "--log-format", "json", "-o", "out.jsonl")
    assert_ok(result)
    records = _records(result.stderr)
    beats = [r for r in records if r["logger"] == "acrawl.stats"]
    assert len(beats) >= 4, describe(result)
    for r in beats:
        assert r["level"] == "INFO"
        assert {"pages", "pages_per_second", "items", "items_per_second", "bytes",
                "bytes_per_second", "queue", "in_flight", "errors",
                "elapsed_seconds"} <= set(r), r
    pages = [r["pages"] for r in beats]
    assert pages == sorted(pages) and pages[-1] > pages[0]
    gaps = [_when(b) - _when(a) for a, b in itertools.pairwise(beats)]
    assert 0.4 <= statistics.median(gaps) <= 0.6, gaps
    # the guardrail's warning and the summary are records too; the summary carries the stats
    assert any(r["level"] == "WARNING" and "close_timeout" in r["message"] for r in records)
    summary = records[-1]
    assert summary["logger"] == "acrawl.cli" and summary["message"].startswith("crawl finished")
    assert summary["reason"] == "close_timeout"
    assert summary["pages"] >= pages[-1]
    assert summary["items"] == len((acrawl.cwd / "out.jsonl").read_text().splitlines())


def test_json_usage_errors_are_json_too(acrawl: Runner) -> None:
    result = acrawl.run("links", "-a", "url=http://127.0.0.1:1/", "--log-format", "json",
                        "-s", "concurency=3")
    assert result.returncode == 2, describe(result)
    [record] = _records(result.stderr)
    assert record["level"] == "ERROR"
    assert record["message"].startswith("acrawl-run: error: unknown setting 'concurency'")


def test_the_stats_line_can_be_turned_off(acrawl: Runner, serve: Any) -> None:
    srv = serve(LinkSite(**SLOW))
    off = acrawl.run("links", "-a", f"url={srv.base_url}/", "--close-timeout", "1.5",
                     "-s", "log_stats_interval=0")
    assert_ok(off)
    assert _stats_lines(off.stderr) == [], describe(off)
    # --progress shows the same figures (as plain lines where there is no terminal)
    shown = acrawl.run("links", "-a", f"url={srv.base_url}/", "--close-timeout", "1.5",
                       "-s", "log_stats_interval=0.3", "--progress")
    assert_ok(shown)
    assert _stats_lines(shown.stderr) == [], describe(shown)


@pytest.mark.slow
def test_a_three_minute_crawl_logs_every_minute(acrawl: Runner, serve: Any) -> None:
    srv = serve(LinkSite(pages=100_000, latency=0.2))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "--concurrency", "2",
                        "--close-timeout", "185", "--log-format", "json", "-o", "out.jsonl",
                        timeout=300)
    assert_ok(result)
    records = _records(result.stderr)
    beats = [r for r in records if r["logger"] == "acrawl.stats"]
    assert len(beats) == 3, describe(result)  # at 60, 120 and 180 s (the default interval)
    assert [round(b["elapsed_seconds"] / 60) for b in beats] == [1, 2, 3]
    gaps = [_when(b) - _when(a) for a, b in itertools.pairwise(beats)]
    assert all(59 <= g <= 61 for g in gaps), gaps
    assert all(b["pages"] > 0 and b["pages_per_second"] > 0 for b in beats)
