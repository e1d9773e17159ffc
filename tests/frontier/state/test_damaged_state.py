"""A damaged or foreign ``state.db``: a one-line error (exit 2) where the crawl cannot go on,
and an unreadable stored request is dropped, not fatal. Nothing stored is trusted blindly."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from state_support import describe, output_urls, run, stats

from acrawl.errors import SerializationError
from acrawl.frontier.codec import decode_request, encode_request
from acrawl.http import Request

GOOD = json.loads(encode_request(Request("http://a.test/x", "parse_item", headers={"A": "b"})))


@pytest.mark.parametrize("change", [
    {"url": 123}, {"url": None}, {"cb": 5}, {"h": ["A", "b"]}, {"h": {"A": 1}},
    {"b": "not base64!"}, {"meta": [1]}, {"kw": "x"}, {"p": "1"}, {"df": 1}, {"d": 1.5},
    {"r": True}, {"ref": 7}, {"v": 99},
])
def test_a_stored_request_of_the_wrong_shape_is_refused(change: dict) -> None:
    with pytest.raises(SerializationError):
        decode_request(json.dumps({**GOOD, **change}))


def test_a_stored_request_that_is_not_json_is_refused() -> None:
    with pytest.raises(SerializationError):
        decode_request(b"{not json")
    assert decode_request(json.dumps(GOOD)).url == "http://a.test/x"


def _first_run(tmp_path: Path, base: str, *outputs: str) -> list[str]:
    args = ["links", "-a", f"url={base}/", "--state", "state", "--no-robots", "--no-progress",
            "--max-pages", "5", "--stats", "stats.json",
            *[a for o in outputs for a in ("-o", o)]]
    result = run(tmp_path, *args)
    assert result.returncode == 0, describe(result.returncode, result.stderr, result.stdout)
    return args


def _damage(tmp_path: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(tmp_path / "state" / "state.db") as conn:
        conn.execute(sql, params)


def _one_line_error(result, *needles: str) -> None:
    assert result.returncode == 2, describe(result.returncode, result.stderr, result.stdout)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("acrawl-run: error:"), result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


@pytest.mark.parametrize("value", ["{bad", "[1]", "7"])
def test_damaged_stats_are_a_one_line_error(tmp_path: Path, link_site, value: str) -> None:
    srv = link_site(pages=50)
    args = _first_run(tmp_path, srv.base_url)
    _damage(tmp_path, "UPDATE meta SET value = ? WHERE key = 'stats'", value)
    _one_line_error(run(tmp_path, *args, "--max-pages", "10"), "damaged", "stats")


@pytest.mark.parametrize(("output", "checkpoint"), [
    ("out.jsonl", '{"offset": "x"}'), ("out.jsonl", '{"offset": 99999999}'),
    ("out.jsonl", "[]"), ("out.csv", '{"offset": 0, "fields": [1]}'),
    ("sqlite:///out.db", '{"rowid": -1}'), ("out.json", "{bad"),
])
def test_a_damaged_output_position_is_a_one_line_error(tmp_path: Path, link_site, output: str,
                                                       checkpoint: str) -> None:
    srv = link_site(pages=50)
    args = _first_run(tmp_path, srv.base_url, output)
    _damage(tmp_path, "UPDATE meta SET value = ? WHERE key = ?", checkpoint, f"sink:{output}")
    _one_line_error(run(tmp_path, *args, "--max-pages", "10"), "out.")


def test_unreadable_stored_requests_are_dropped_and_the_crawl_goes_on(tmp_path: Path,
                                                                      link_site) -> None:
    srv = link_site(pages=50)
    args = _first_run(tmp_path, srv.base_url, "out.jsonl")
    with sqlite3.connect(tmp_path / "state" / "state.db") as conn:
        rows = conn.execute("SELECT id, data FROM queue ORDER BY id").fetchall()
        assert len(rows) > 4
        bad = [{"h": [1]}, {"url": 123}, {"cb": "__init__"}, {"cb": "start_requests"}]
        for (row_id, data), change in zip(rows, bad, strict=False):
            conn.execute("UPDATE queue SET data = ? WHERE id = ?",
                         (json.dumps({**json.loads(data), **change}), row_id))
    result = run(tmp_path, *args[:-2], "--max-pages", "20", "-o", "out.jsonl")
    assert result.returncode == 1, describe(result.returncode, result.stderr, result.stdout)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.stderr.count("dropping unreadable stored request") == 2, result.stderr[-3000:]
    assert "no callback named '__init__'" in result.stderr
    assert "no callback named 'start_requests'" in result.stderr
    # 20 pages in all (--max-pages counts both runs); the two with a refused callback give no
    # item, the two unreadable rows are not crawled: the rest of the crawl went on
    assert len(output_urls(tmp_path, "out.jsonl")) == 18
    assert stats(tmp_path / "stats.json")["errors/callback"] == 2
