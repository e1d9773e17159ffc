"""The built-in sinks: formats, append/refuse/overwrite rules, the ``acrawl_open_sink`` hook."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import logging
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from acrawl.errors import ConfigError
from acrawl.settings import Settings
from acrawl.sinks import builtin as sinks
from acrawl.sinks.builtin import (
    CsvSink,
    JsonArraySink,
    JsonLinesSink,
    Sink,
    SqliteSink,
    StdoutSink,
    XmlSink,
    acrawl_open_sink,
    dumps_item,
    sink_for_uri,
)

WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
ITEMS: list[dict[str, Any]] = [
    {"title": "Café — 東京 ✓", "when": WHEN, "n": 1},
    {"title": "plain", "when": WHEN.date(), "n": 2},
    {"title": "", "when": None, "n": 3},
]
EXPECTED = [
    {"title": "Café — 東京 ✓", "when": "2024-05-06T07:08:09+00:00", "n": 1},
    {"title": "plain", "when": "2024-05-06", "n": 2},
    {"title": "", "when": None, "n": 3},
]


async def run(sink: Sink, *batches: list[dict[str, Any]]) -> None:
    await sink.open()
    try:
        for batch in batches:
            await sink.write(batch)
    finally:
        await sink.close()


def settings(**kw: Any) -> Settings:
    return Settings.build(overrides=kw)


# -- encoding ------------------------------------------------------------------------------------


@attrs.define
class Price:
    amount: Decimal
    currency: str


@dataclasses.dataclass
class Tag:
    name: str


ODD = {
    "price": Price(Decimal("9.90"), "€"),
    "tag": Tag("x"),
    "tags": {"b", "a"},
    "raw": b"caf\xc3\xa9",
    "bad": b"\xff",
    "big": 2**70,
    "t": (1, 2),
    "d": {1: "one"},
    "path": Path("a/b"),
}
ODD_DECODED = {
    "price": {"amount": "9.90", "currency": "€"},
    "tag": {"name": "x"},
    "tags": ["a", "b"],
    "raw": "café",
    "bad": "\\xff",
    "big": 2**70,
    "t": [1, 2],
    "d": {"1": "one"},
    "path": "a/b",
}


@pytest.mark.parametrize("use_orjson", [True, False])
def test_dumps_item_odd_types(monkeypatch: pytest.MonkeyPatch, use_orjson: bool) -> None:
    if not use_orjson:
        monkeypatch.setattr(sinks, "orjson", None)
    elif sinks.orjson is None:
        pytest.skip("orjson not installed")
    out = dumps_item({**ODD, "when": WHEN, "text": "東京"})
    assert "東京".encode() in out  # UTF-8, not \u escapes
    assert b"\n" not in out
    assert json.loads(out) == {**ODD_DECODED, "when": "2024-05-06T07:08:09+00:00", "text": "東京"}


@pytest.mark.parametrize("use_orjson", [True, False])
def test_dumps_item_writes_strict_json(monkeypatch: pytest.MonkeyPatch, use_orjson: bool) -> None:
    """NaN and infinities become null with or without orjson (strict parsers reject NaN); a
    value whose conversion raises becomes its type's name; a circular item raises."""
    if not use_orjson:
        monkeypatch.setattr(sinks, "orjson", None)
    elif sinks.orjson is None:
        pytest.skip("orjson not installed")

    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    out = dumps_item({"nan": float("nan"), "l": [float("inf"), -float("inf"), 1.5],
                      "k": {(1, 2): float("nan")}, "broken": Broken()})
    assert json.loads(out, parse_constant=pytest.fail) == {
        "nan": None, "l": [None, None, 1.5], "k": {"[1, 2]": None}, "broken": "<Broken>"}
    loop: dict = {}
    loop["self"] = loop
    with pytest.raises(ValueError):
        dumps_item(loop)


def test_dumps_item_lone_surrogate_stays_valid_utf8() -> None:
    out = dumps_item({"s": "a\ud800b"})
    out.decode("utf-8")
    assert json.loads(out) == {"s": "a\ud800b"}


def test_dumps_item_tuple_keys() -> None:
    assert json.loads(dumps_item({"m": {(1, 2): "x"}})) == {"m": {"[1, 2]": "x"}}


# -- JSON Lines ----------------------------------------------------------------------------------


async def test_jsonl_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "items.jsonl"
    await run(JsonLinesSink(path=path), ITEMS[:2], [], ITEMS[2:])
    raw = path.read_bytes()
    assert "東京".encode() in raw
    assert raw.endswith(b"\n")
    assert [json.loads(line) for line in raw.splitlines()] == EXPECTED


async def test_jsonl_appends_to_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text('{"old":1}\n', encoding="utf-8")
    await run(JsonLinesSink(path=path), ITEMS)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"old": 1}, *EXPECTED]


@pytest.mark.parametrize(("before", "kept"), [
    ('{"old":1}\n{"cut":"by a k', ['{"old":1}']),  # a line cut by a kill: removed
    ('{"cut":', []),
    ('{"old":1}\n{"no":"newline"}', ['{"old":1}', '{"no":"newline"}']),  # complete: kept
])
async def test_jsonl_append_cuts_a_partial_last_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, before: str, kept: list[str]) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text(before, encoding="utf-8")
    sink = JsonLinesSink(path=path)
    await sink.open()
    await sink.write(ITEMS[:1])
    assert sink.checkpoint()["offset"] == path.stat().st_size  # the position is the file's
    await sink.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:-1] == kept
    assert [json.loads(line) for line in lines[len(kept):]] == EXPECTED[:1]
    assert ("was cut" in caplog.text) == (len(kept) < before.count("\n") + 1)


async def test_jsonl_overwrite_replaces(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text('{"old":1}\n', encoding="utf-8")
    await run(JsonLinesSink(path=path, overwrite=True), ITEMS[:1])
    assert [json.loads(line) for line in path.read_text("utf-8").splitlines()] == EXPECTED[:1]


# -- JSON array ----------------------------------------------------------------------------------


async def test_json_round_trip_over_batches(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    await run(JsonArraySink(path=path), ITEMS[:1], [], ITEMS[1:])
    assert json.loads(path.read_bytes()) == EXPECTED
    assert "東京" in path.read_text(encoding="utf-8")


async def test_json_valid_with_zero_items(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    await run(JsonArraySink(path=path))
    assert json.loads(path.read_bytes()) == []


async def test_json_is_written_incrementally(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    sink = JsonArraySink(path=path)
    await sink.open()
    assert json.loads(path.read_bytes()) == []  # a valid document from the start
    await sink.write(ITEMS[:1])
    assert json.loads(path.read_bytes()) == EXPECTED[:1]  # on disk, closed, before close()
    await sink.write(ITEMS[1:])
    assert json.loads(path.read_bytes()) == EXPECTED
    await sink.close()
    await sink.close()  # idempotent
    assert json.loads(path.read_bytes()) == EXPECTED


# -- XML ----------------------------------------------------------------------------------------


def read_xml(path: Path) -> list[dict[str, Any]]:
    from lxml import etree

    def value(el: Any) -> Any:
        if len(el) == 0:
            return el.text or ""
        if all(child.tag == "value" for child in el):
            return [value(child) for child in el]
        return {child.tag: value(child) for child in el}

    root = etree.parse(str(path)).getroot()
    assert root.tag == "items" and all(item.tag == "item" for item in root)
    return [{field.tag: value(field) for field in item} for item in root]


async def test_xml_layout_is_scrapys(tmp_path: Path) -> None:
    path = tmp_path / "items.xml"
    await run(XmlSink(path=path), [
        {"name": "Color TV", "price": 1200, "tags": ["a", "b"], "size": {"w": 1, "h": 2}},
    ], [{"name": "DVD player", "ok": True, "none": None}])
    assert path.read_text(encoding="utf-8") == (
        '<?xml version="1.0" encoding="utf-8"?>\n<items>\n'
        "<item><name>Color TV</name><price>1200</price><tags><value>a</value><value>b"
        "</value></tags><size><w>1</w><h>2</h></size></item>\n"
        "<item><name>DVD player</name><ok>True</ok><none></none></item>\n</items>\n")


async def test_xml_escapes_text_and_names_and_stays_well_formed(tmp_path: Path) -> None:
    path = tmp_path / "items.xml"
    await run(XmlSink(path=path), ITEMS, [
        {"a<b": "x & y <z> \"q\"", "1st": "bad\x00control\x1bchars\ud800", "ns:tag": 1,
         "odd": ODD},
    ])
    items = read_xml(path)
    assert items[:3] == [{k: "" if v is None else str(v) for k, v in e.items()}
                         for e in EXPECTED]
    assert items[3]["a_b"] == 'x & y <z> "q"'
    assert items[3]["_1st"] == "bad\ufffdcontrol\ufffdchars\ufffd"
    assert items[3]["ns_tag"] == "1"
    odd = items[3]["odd"]
    assert odd["price"] == {"amount": "9.90", "currency": "€"}
    assert odd["tags"] == ["a", "b"] and odd["raw"] == "café" and odd["d"] == {"_1": "one"}
    assert odd["t"] == ["1", "2"] and odd["big"] == str(2**70)


async def test_xml_is_valid_after_every_batch_and_empty(tmp_path: Path) -> None:
    path = tmp_path / "items.xml"
    sink = XmlSink(path=path)
    await sink.open()
    assert read_xml(path) == []
    await sink.write(ITEMS[:1])
    assert len(read_xml(path)) == 1  # on disk and closed before close()
    await sink.write(ITEMS[1:])
    assert len(read_xml(path)) == 3
    await sink.close()
    assert [i["n"] for i in read_xml(path)] == ["1", "2", "3"]


@pytest.mark.parametrize("cls", [JsonArraySink, XmlSink])
async def test_resume_cuts_back_and_closes_the_document(tmp_path: Path, cls: type) -> None:
    """A killed crawl's JSON or XML file: cut back to the checkpoint and closed again at
    once (before any new item), then continued."""
    path = tmp_path / ("items.json" if cls is JsonArraySink else "items.xml")
    sink = cls(path=path)
    await sink.open()
    await sink.write(ITEMS[:1])
    checkpoint = sink.checkpoint()
    await sink.write(ITEMS[1:2])  # written, but not committed when the "kill" came
    sink._fh.write(b'{"torn')  # and a torn write after it
    sink._fh.flush()
    resumed = cls(path=path)
    await resumed.resume(checkpoint)
    parse = (lambda p: json.loads(p.read_bytes())) if cls is JsonArraySink else read_xml
    assert len(parse(path)) == 1
    await resumed.write(ITEMS[2:])
    await resumed.close()
    assert [i["n"] for i in parse(path)] in ([1, 3], ["1", "3"])


# -- CSV -----------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


async def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    await run(CsvSink(path=path), ITEMS[:2], ITEMS[2:])
    assert read_csv(path) == [
        ["title", "when", "n"],
        ["Café — 東京 ✓", "2024-05-06T07:08:09+00:00", "1"],
        ["plain", "2024-05-06", "2"],
        ["", "", "3"],
    ]


async def test_csv_extra_missing_and_nested(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = tmp_path / "items.csv"
    batch = [
        {"a": 1, "b": {"k": ["v", "東"]}},
        {"a": 'say "hi", ok', "extra": 1},  # b missing, extra ignored
        {"b": [1, 2], "more": 2},
    ]
    with caplog.at_level(logging.WARNING, logger="acrawl.sinks.builtin"):
        await run(CsvSink(path=path), batch)
    assert read_csv(path) == [
        ["a", "b"],
        ["1", '{"k":["v","東"]}'],
        ['say "hi", ok', ""],
        ["", "[1,2]"],
    ]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "extra" in warnings[0].getMessage()


# -- SQLite --------------------------------------------------------------------------------------


def read_db(path: Path, table: str = "items") -> list[dict[str, Any]]:
    """The rows of ``table`` as dicts of their field columns, in write order."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    finally:
        conn.close()
    assert [r["rowid"] for r in rows] == list(range(1, len(rows) + 1))
    return [{k: r[k] for k in r.keys() if k != "rowid"} for r in rows]


async def test_sqlite_round_trip_via_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    sink = acrawl_open_sink("sqlite:///out/x.db", settings())  # relative to the cwd
    assert isinstance(sink, SqliteSink)
    await run(sink, ITEMS[:1], ITEMS[1:])
    assert read_db(tmp_path / "out" / "x.db") == EXPECTED
    conn = sqlite3.connect(tmp_path / "out" / "x.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


async def test_sqlite_one_column_per_field_and_value_types(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    await run(SqliteSink(path=db), [
        {"id": 7, "name": "a", "tags": ["x", "東"], "ok": True, "price": 1.5, "none": None,
         "when": WHEN, "raw": b"caf\xc3\xa9", "big": 2**70, "nested": {"k": [1]}},
    ], [
        {"name": "b", "later": "new column"},  # a field seen later gets its column then
        {},
    ])
    conn = sqlite3.connect(db)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(items)")]
    types = conn.execute("SELECT typeof(id), typeof(name), typeof(ok), typeof(price), "
                         "typeof(none), typeof(big) FROM items WHERE rowid = 1").fetchone()
    first_tag = conn.execute("SELECT json_extract(tags, '$[1]') FROM items").fetchone()
    conn.close()
    assert columns == ["rowid", "id", "name", "tags", "ok", "price", "none", "when", "raw",
                       "big", "nested", "later"]
    assert types == ("integer", "text", "integer", "real", "null", "text")
    assert first_tag == ("東",)
    assert read_db(db) == [
        {"id": 7, "name": "a", "tags": '["x","東"]', "ok": 1, "price": 1.5, "none": None,
         "when": "2024-05-06T07:08:09+00:00", "raw": "café", "big": str(2**70),
         "nested": '{"k":[1]}', "later": None},
        {"id": None, "name": "b", "tags": None, "ok": None, "price": None, "none": None,
         "when": None, "raw": None, "big": None, "nested": None, "later": "new column"},
        dict.fromkeys(columns[1:]),
    ]


async def test_sqlite_fields_option_fixes_the_columns(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sink = sink_for_uri("sqlite:///x.db?fields=price,name&table=books")
    assert isinstance(sink, SqliteSink) and sink.fields == ["price", "name"]
    await sink.open()
    conn = sqlite3.connect(tmp_path / "x.db")
    assert [r[1] for r in conn.execute("PRAGMA table_info(books)")] == [
        "rowid", "price", "name"]  # made at open, before any item
    conn.close()
    await sink.write([{"name": "a", "price": 2, "other": "left out"}, {"name": "b"}])
    await sink.close()
    assert read_db(tmp_path / "x.db", "books") == [{"price": 2, "name": "a"},
                                                  {"price": None, "name": "b"}]


async def test_sqlite_fields_without_a_column_of_their_own_overflow(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "x.db"
    monkeypatch.setattr(sinks, "_SQLITE_MAX_COLUMNS", 3)
    await run(SqliteSink(path=db), [
        {"Name": "a", "name": "case twin", "ROWID": 5, "a": 1},
        {"b": 2, "c": {"deep": True}},  # past the (patched) column limit
    ])
    assert read_db(db) == [
        {"Name": "a", "a": 1, "b": None, "_overflow": '{"name":"case twin","ROWID":5}'},
        {"Name": None, "a": None, "b": 2, "_overflow": '{"c":{"deep":true}}'},
    ]
    assert "field 'name' cannot have a column of its own" in caplog.text


async def test_sqlite_a_failed_batch_adds_no_column(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    sink = SqliteSink(path=db)
    await sink.open()
    await sink.write([{"a": 1}])
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(ValueError):
        await sink.write([{"a": 2, "new": "x"}, {"b": circular}])
    await sink.write([{"new": "y"}])  # its column is made now, once
    await sink.close()
    assert read_db(db) == [{"a": 1, "new": None}, {"a": None, "new": "y"}]


async def test_sqlite_resume_keeps_the_columns_and_cuts_the_rows(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    sink = SqliteSink(path=db)
    await sink.open()
    await sink.write([{"a": 1, "Case": 1, "case": 2}])
    checkpoint = sink.checkpoint()
    await sink.write([{"a": 2, "later": 1}])  # after the checkpoint: not committed
    await sink.close()
    resumed = SqliteSink(path=db)
    await resumed.resume(checkpoint)
    await resumed.write([{"a": 3, "case": 4, "later": 5}])
    await resumed.close()
    assert read_db(db) == [
        {"a": 1, "Case": 1, "_overflow": '{"case":2}', "later": None},
        {"a": 3, "Case": None, "_overflow": '{"case":4}', "later": 5},
    ]


async def test_sqlite_table_param_and_existing_db_without_table(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE other (v)")
    conn.commit()
    conn.close()
    sink = sink_for_uri(f"sqlite:///{db}?table=books")  # absolute: sqlite:////tmp/...
    assert isinstance(sink, SqliteSink) and sink.table == "books" and sink.path == db
    await run(sink, ITEMS)
    assert read_db(db, "books") == EXPECTED


async def test_sqlite_refuses_existing_table_unless_overwrite(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    await run(SqliteSink(path=db), ITEMS)
    sink = SqliteSink(path=db)
    with pytest.raises(ConfigError, match="exists; use --overwrite"):
        await sink.open()
    await sink.close()  # safe after a failed open
    assert read_db(db) == EXPECTED
    await run(SqliteSink(path=db, overwrite=True), ITEMS[2:])
    assert read_db(db) == EXPECTED[2:]


@pytest.mark.parametrize("uri", ["sqlite://", "sqlite:///", "sqlite:///x.db?tabel=a",
                                 "sqlite:///x.db?table=a;drop"])
def test_sqlite_bad_uris(uri: str) -> None:
    with pytest.raises(ConfigError):
        sink_for_uri(uri)


# -- refusal and overwrite, for every non-appending file format ----------------------------------


@pytest.mark.parametrize("cls", [JsonArraySink, CsvSink])
async def test_existing_file_refused_then_overwritten(tmp_path: Path, cls: type) -> None:
    path = tmp_path / ("items.json" if cls is JsonArraySink else "items.csv")
    path.write_text("precious", encoding="utf-8")
    sink = cls(path=path)
    with pytest.raises(ConfigError, match="exists; use --overwrite"):
        await sink.open()
    await sink.close()
    assert path.read_text(encoding="utf-8") == "precious"
    await run(cls(path=path, overwrite=True), ITEMS[:1])
    text = path.read_text(encoding="utf-8")
    assert "precious" not in text and "東京" in text


async def test_unwritable_path_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").mkdir()
    sink = JsonLinesSink(path=tmp_path / "d.jsonl")
    with pytest.raises(ConfigError, match="cannot open output"):
        await sink.open()
    await sink.close()
    with pytest.raises(RuntimeError):
        await sink.write(ITEMS)


# -- stdout --------------------------------------------------------------------------------------


async def test_stdout_sink(capsys: pytest.CaptureFixture[str]) -> None:
    sink = acrawl_open_sink("-", settings())
    assert isinstance(sink, StdoutSink)
    await run(sink, ITEMS[:2], ITEMS[2:])
    await sink.close()
    out = capsys.readouterr().out
    assert [json.loads(line) for line in out.splitlines()] == EXPECTED
    assert "東京" in out


async def test_stdout_sink_escapes_for_an_ascii_terminal() -> None:
    import io

    buf = io.BytesIO()
    stream = io.TextIOWrapper(buf, encoding="ascii")
    await run(StdoutSink(stream=stream), ITEMS)
    assert [json.loads(line) for line in buf.getvalue().decode("ascii").splitlines()] == EXPECTED
    assert not stream.closed


# -- the hook ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "cls"),
    [
        ("items.jsonl", JsonLinesSink),
        ("out/ITEMS.JL", JsonLinesSink),
        ("items.ndjson", JsonLinesSink),
        ("items.json", JsonArraySink),
        ("items.csv", CsvSink),
        ("items.xml", XmlSink),
        ("sqlite:///x.db", SqliteSink),
        ("-", StdoutSink),
    ],
)
def test_hook_claims_builtin_uris(uri: str, cls: type) -> None:
    sink = acrawl_open_sink(uri, settings())
    assert type(sink) is cls
    assert isinstance(sink, Sink)


@pytest.mark.parametrize("uri", ["x.parquet", "items", "s3://bucket/items.jsonl",
                                 "file:///tmp/items.json", "items.gz"])
def test_hook_leaves_unknown_uris(uri: str) -> None:
    assert acrawl_open_sink(uri, settings()) is None


def test_hook_passes_overwrite() -> None:
    sink = acrawl_open_sink("items.csv", settings(overwrite="true"))
    assert isinstance(sink, CsvSink) and sink.overwrite
    assert not acrawl_open_sink("items.csv", {}).overwrite  # type: ignore[union-attr,arg-type]
