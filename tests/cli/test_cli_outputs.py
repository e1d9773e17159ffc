"""``-o`` outputs: JSON Lines, JSON, CSV, SQLite, stdout; existing files; several at once."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from e2e_support import (
    PagesSite,
    Runner,
    assert_ok,
    assert_usage_error,
    describe,
    read_jsonl,
    write_module,
)

from acrawl.demo.site import LinkSite, ThreadedServer

N = 20


@pytest.fixture(scope="module")
def site(link_site_1000: ThreadedServer) -> str:
    return link_site_1000.base_url


def _crawl(acrawl: Runner, site: str, *args: str, pages: int = N):
    return acrawl.run("links", "-a", f"url={site}/", "--max-pages", str(pages), *args)


def _read_json(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _read_sqlite(path: Path, table: str = "items") -> list[dict]:
    """The rows, one column per field, as dicts (without ``rowid``), in write order."""
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [{k: row[k] for k in row.keys() if k != "rowid"} for row in
                conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')]


def test_json_csv_sqlite_and_jsonl_at_once(acrawl: Runner, tmp_path: Path, site: str) -> None:
    result = _crawl(acrawl, site, "-o", "x.json", "-o", "x.csv", "-o", "sqlite:///x.db",
                    "-o", "x.jsonl")
    assert_ok(result)
    lines = read_jsonl(tmp_path / "x.jsonl")
    assert len(lines) == N
    as_json = _read_json(tmp_path / "x.json")
    as_csv = _read_csv(tmp_path / "x.csv")
    as_db = _read_sqlite(tmp_path / "x.db")
    assert as_json == lines
    assert as_db == lines
    assert len(as_csv) == N
    assert set(as_csv[0]) == {"url", "status", "depth", "title", "referer"}
    assert [r["url"] for r in as_csv] == [it["url"] for it in lines]
    assert [int(r["status"]) for r in as_csv] == [it["status"] for it in lines]
    assert [r["title"] for r in as_csv] == [it["title"] for it in lines]


def test_sqlite_table_parameter_and_subdirectory(acrawl: Runner, tmp_path: Path,
                                                 site: str) -> None:
    result = _crawl(acrawl, site, "-o", "sqlite:///out/dir/y.db?table=pages")
    assert_ok(result)
    assert len(_read_sqlite(tmp_path / "out" / "dir" / "y.db", "pages")) == N


@pytest.mark.parametrize(("uri", "path", "reader"), [
    ("x.json", "x.json", _read_json),
    ("x.csv", "x.csv", _read_csv),
    ("sqlite:///x.db", "x.db", _read_sqlite),
])
def test_existing_output_refused_unless_overwrite(acrawl: Runner, tmp_path: Path, site: str,
                                                  uri: str, path: str, reader) -> None:
    assert_ok(_crawl(acrawl, site, "-o", uri, pages=3))
    target = tmp_path / path
    before = target.read_bytes()
    refused = _crawl(acrawl, site, "-o", uri, pages=5)
    assert_usage_error(refused, "overwrite")
    assert target.read_bytes() == before, "a refused output was modified"
    assert len(reader(target)) == 3
    replaced = _crawl(acrawl, site, "-o", uri, "--overwrite", pages=5)
    assert_ok(replaced)
    assert len(reader(target)) == 5, "--overwrite must replace, not append"


def test_refused_output_touches_no_other_output_and_fetches_nothing(
        acrawl: Runner, tmp_path: Path, serve) -> None:
    srv = serve(LinkSite(pages=20))
    (tmp_path / "taken.json").write_text("[]\n")
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "-o", "fresh.jsonl",
                        "-o", "taken.json")
    assert_usage_error(result, "taken.json")
    assert sum(srv.hits.values()) == 0
    assert (tmp_path / "taken.json").read_text() == "[]\n"
    fresh = tmp_path / "fresh.jsonl"
    assert not fresh.exists() or fresh.read_bytes() == b""


def test_json_output_of_a_crawl_without_items_is_valid(acrawl: Runner, tmp_path: Path) -> None:
    result = acrawl.run("demo", "-a", "products=0", "-o", "empty.json", "-o", "empty.csv")
    assert_ok(result)
    assert _read_json(tmp_path / "empty.json") == []
    assert _read_csv(tmp_path / "empty.csv") == []


def test_jsonl_is_appended_across_runs(acrawl: Runner, tmp_path: Path, site: str) -> None:
    assert_ok(_crawl(acrawl, site, "-o", "items.jsonl", pages=5))
    assert_ok(_crawl(acrawl, site, "-o", "items.jsonl", pages=7))
    items = read_jsonl(tmp_path / "items.jsonl")
    assert len(items) == 12
    assert items[0]["url"] == items[5]["url"] == site + "/"


def test_jsonl_append_after_a_cut_line(acrawl: Runner, tmp_path: Path, site: str) -> None:
    """A previous run killed mid-line: the cut line is removed, so every line is an item."""
    (tmp_path / "items.jsonl").write_text('{"a": 1}\n{"cut": "in the mid')
    result = _crawl(acrawl, site, "-o", "items.jsonl", pages=4)
    assert_ok(result)
    assert "its last line was cut" in result.stderr
    lines = (tmp_path / "items.jsonl").read_text().splitlines()
    assert lines[0] == '{"a": 1}'
    assert len(lines) == 5 and all(json.loads(line) for line in lines)
    assert [json.loads(line)["status"] for line in lines[1:]] == [200] * 4


def test_jsonl_overwrite(acrawl: Runner, tmp_path: Path, site: str) -> None:
    (tmp_path / "items.jsonl").write_text('{"old": true}\n')
    assert_ok(_crawl(acrawl, site, "-o", "items.jsonl", "--overwrite", pages=3))
    items = read_jsonl(tmp_path / "items.jsonl")
    assert len(items) == 3 and "old" not in items[0]


def test_stdout_output_is_jsonl_only(acrawl: Runner, tmp_path: Path, site: str) -> None:
    result = _crawl(acrawl, site, "-o", "-", "-o", "copy.jsonl", "--log-level", "DEBUG")
    assert_ok(result)
    lines = result.stdout.splitlines()
    assert len(lines) == N, describe(result)
    items = [json.loads(line) for line in lines]
    assert items == read_jsonl(tmp_path / "copy.jsonl")
    assert "crawl finished" in result.stderr


@pytest.mark.parametrize("uri", ["items.txt", "nosuchscheme://x", "sqlite:///",
                                 "sqlite:///x.db?colour=red"])
def test_unknown_outputs_are_usage_errors(acrawl: Runner, tmp_path: Path, site: str,
                                          uri: str) -> None:
    assert_usage_error(_crawl(acrawl, site, "-o", uri), uri.split("?")[0] or uri)


def test_output_in_an_unwritable_place(acrawl: Runner, tmp_path: Path, site: str) -> None:
    (tmp_path / "afile").write_text("")
    assert_usage_error(_crawl(acrawl, site, "-o", "afile/items.jsonl"), "afile")


def test_unicode_and_odd_values_round_trip(acrawl: Runner, tmp_path: Path, serve) -> None:
    base = serve(PagesSite({"/": "<html><title>Crème brûlée — 東京 🍮</title></html>"})).base_url
    write_module(tmp_path, "odd.py", '''
        import dataclasses, datetime, decimal
        import acrawl

        @dataclasses.dataclass
        class Item:
            url: str
            title: str
            when: datetime.date
            price: decimal.Decimal
            tags: frozenset

        class Odd(acrawl.Spider):
            name = "odd"
            allowed_hosts = ["127.0.0.1"]

            def start_requests(self):
                yield acrawl.Request(self.url)

            def parse(self, response):
                yield Item(response.url, response.css("title::text").get(),
                           datetime.date(2024, 2, 29), decimal.Decimal("1.10"),
                           frozenset({"b", "a"}))
    ''')
    result = acrawl.run("odd.py", "-a", f"url={base}/", "-o", "o.jsonl", "-o", "o.csv",
                        "-o", "o.json")
    assert_ok(result)
    (item,) = read_jsonl(tmp_path / "o.jsonl")
    assert item["title"] == "Crème brûlée — 東京 🍮"
    assert item["when"] == "2024-02-29"
    assert item["price"] == "1.10"
    assert item["tags"] == ["a", "b"]
    assert _read_json(tmp_path / "o.json") == [item]
    (row,) = _read_csv(tmp_path / "o.csv")
    assert row["title"] == item["title"]


def test_an_item_that_cannot_be_written_costs_only_itself(acrawl: Runner, tmp_path: Path,
                                                          serve) -> None:
    """Ten pages, one item per page; the item of page 5 refers to itself and the item of page 7
    holds a list that holds itself. Every JSON output gets the other eight, the two are
    reported, and the exit code says something went wrong."""
    pages = {f"/p/{i}": f"<html><title>{i}</title></html>" for i in range(10)}
    base = serve(PagesSite(pages)).base_url
    write_module(tmp_path, "bad_items.py", '''
        import dataclasses
        import acrawl

        @dataclasses.dataclass
        class Half:
            x: int

        class BadItems(acrawl.Spider):
            name = "bad_items"

            def start_requests(self):
                for i in range(10):
                    yield acrawl.Request(f"{self.url}/p/{i}")

            def parse(self, response):
                item = {"url": response.url, "n": int(response.url.rsplit("/", 1)[1])}
                if item["n"] == 5:
                    item["self"] = item
                if item["n"] == 7:
                    loop = []
                    loop.append(loop)
                    item["loop"] = loop
                if item["n"] == 8:  # written: a value whose conversion raises becomes "<Half>"
                    item["half"] = object.__new__(Half)
                yield item
    ''')
    outputs = ["o.jsonl", "o.json", "o.csv", "sqlite:///o.db", "-"]
    result = acrawl.run("bad_items.py", "-a", f"url={base}", "--no-robots", "--stats", "s.json",
                        "-s", "item_batch_size=100", *[a for o in outputs for a in ("-o", o)])
    assert_ok(result, code=1)
    assert "Traceback" not in result.stderr, describe(result)
    good = sorted(n for n in range(10) if n not in (5, 7))
    assert sorted(i["n"] for i in read_jsonl(tmp_path / "o.jsonl")) == good
    assert sorted(i["n"] for i in _read_json(tmp_path / "o.json")) == good
    # CSV leaves out the keys not in its header (the first item's): those items are fine there
    assert sorted(int(r["n"]) for r in _read_csv(tmp_path / "o.csv")) == list(range(10))
    assert sorted(i["n"] for i in _read_sqlite(tmp_path / "o.db")) == good
    assert sorted(json.loads(line)["n"] for line in result.stdout.splitlines()) == good
    assert [i["half"] for i in read_jsonl(tmp_path / "o.jsonl") if i["n"] == 8] in (
        [{}], ["<Half>"])  # (orjson reads the empty instance dict)
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["errors/item"] == 2 * (len(outputs) - 1), stats
    assert "errors/sink" not in stats, stats
    assert "cannot write an item" in result.stderr


def test_a_refused_output_leaves_no_new_file_behind(acrawl: Runner, tmp_path: Path,
                                                    serve) -> None:
    """``-o new.json -o new.csv -o taken.csv`` with ``taken.csv`` existing: exit 2, and the
    outputs this run created are removed, so the corrected command runs (an existing JSONL
    that would have been appended to is left alone)."""
    srv = serve(LinkSite(pages=10))
    (tmp_path / "taken.csv").write_text("a\n")
    (tmp_path / "old.jsonl").write_text('{"kept": 1}\n')
    outputs = ["-o", "old.jsonl", "-o", "new.json", "-o", "new.csv", "-o", "sqlite:///new.db"]
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", *outputs, "-o", "taken.csv")
    assert_usage_error(result, "taken.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.jsonl", "taken.csv"]
    assert (tmp_path / "old.jsonl").read_text() == '{"kept": 1}\n'
    (tmp_path / "taken.csv").unlink()
    assert_ok(acrawl.run("links", "-a", f"url={srv.base_url}/", *outputs, "-o", "taken.csv"))
    assert len(_read_json(tmp_path / "new.json")) == 10


@pytest.mark.parametrize("twice", [["d.jsonl", "d.jsonl"], ["d.json", "./d.json"],
                                   ["sqlite:///d.db", "sqlite:///./d.db"]])
def test_the_same_output_twice_is_a_usage_error(acrawl: Runner, tmp_path: Path, site: str,
                                                twice: list[str]) -> None:
    result = _crawl(acrawl, site, "-o", twice[0], "-o", twice[1])
    assert_usage_error(result, "same file")
    assert list(tmp_path.iterdir()) == []


def test_two_tables_of_one_database_are_two_outputs(acrawl: Runner, tmp_path: Path,
                                                    site: str) -> None:
    result = _crawl(acrawl, site, "-o", "sqlite:///d.db?table=a", "-o", "sqlite:///d.db?table=b")
    assert_ok(result)
    assert len(_read_sqlite(tmp_path / "d.db", "a")) == len(_read_sqlite(tmp_path / "d.db", "b"))
