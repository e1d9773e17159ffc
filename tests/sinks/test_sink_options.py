"""Output options (Scrapy's ``FEEDS`` options): ``?fields=``, ``?overwrite=``, ``.gz`` and
batches ``items-{batch}.jsonl?batch_item_count=N``."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from acrawl.errors import ConfigError
from acrawl.settings import Settings
from acrawl.sinks.base import Sink
from acrawl.sinks.builtin import BatchSink, CsvSink, JsonArraySink, JsonLinesSink, acrawl_open_sink

ITEMS: list[dict[str, Any]] = [
    {"name": "a", "price": 1.5, "url": "http://x/a", "tags": ["t"]},
    {"name": "b", "url": "http://x/b"},  # no price
    {"price": 3, "name": "c", "url": "http://x/c", "extra": True},
]


def open_sink(uri: str, **settings: Any) -> Sink:
    sink = acrawl_open_sink(uri, Settings.build(overrides=settings))
    assert sink is not None
    return sink


async def write(sink: Sink, *batches: list[dict[str, Any]]) -> None:
    await sink.open()
    try:
        for batch in batches:
            await sink.write(batch)
    finally:
        await sink.close()


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]


# -- fields --------------------------------------------------------------------------------------


async def test_fields_pick_and_order_the_fields_of_json_lines(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    sink = open_sink(f"{out}?fields=url,name,price")
    assert isinstance(sink, JsonLinesSink) and sink.path == out
    await write(sink, ITEMS[:2], ITEMS[2:])
    got = lines(out.read_bytes())
    assert got == [{"url": "http://x/a", "name": "a", "price": 1.5},
                   {"url": "http://x/b", "name": "b"},
                   {"url": "http://x/c", "name": "c", "price": 3}]
    assert [list(item) for item in got][2] == ["url", "name", "price"]


async def test_fields_make_the_csv_header_and_missing_ones_empty(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "items.csv"
    await write(open_sink(f"{out}?fields=price, name"), ITEMS)
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows == [["price", "name"], ["1.5", "a"], ["", "b"], ["3", "c"]]
    assert "not in the CSV header" not in caplog.text  # left out on purpose


async def test_fields_in_a_json_array(tmp_path: Path) -> None:
    out = tmp_path / "items.json"
    await write(open_sink(f"{out}?fields=name"), ITEMS)
    assert json.loads(out.read_text()) == [{"name": "a"}, {"name": "b"}, {"name": "c"}]


# -- overwrite per output ------------------------------------------------------------------------


async def test_overwrite_per_output(tmp_path: Path) -> None:
    keep, replace = tmp_path / "keep.csv", tmp_path / "replace.csv"
    keep.write_text("old\n")
    replace.write_text("old\n")
    sink = open_sink(f"{replace}?overwrite=true")
    assert isinstance(sink, CsvSink) and sink.overwrite
    await write(sink, ITEMS[:1])
    assert replace.read_text().splitlines()[0] == "name,price,url,tags"
    with pytest.raises(ConfigError, match="exists"):
        await open_sink(str(keep)).open()
    refused = open_sink(f"{keep}?overwrite=false", overwrite=True)  # the option wins
    with pytest.raises(ConfigError, match="exists"):
        await refused.open()
    assert keep.read_text() == "old\n"


# -- compression ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["items.jsonl.gz", "items.JSONL.GZ", "items.jl.gz"])
async def test_gzip_json_lines(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    sink = open_sink(str(out))
    assert isinstance(sink, JsonLinesSink) and sink.compress
    await write(sink, ITEMS[:2], ITEMS[2:])
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert lines(gzip.decompress(out.read_bytes())) == ITEMS


async def test_gzip_json_lines_appends_a_member(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl.gz"
    await write(open_sink(str(out)), ITEMS[:1])
    await write(open_sink(str(out)), ITEMS[1:])
    assert lines(gzip.decompress(out.read_bytes())) == ITEMS


async def test_gzip_csv_and_json_with_fields(tmp_path: Path) -> None:
    csv_out, json_out = tmp_path / "items.csv.gz", tmp_path / "items.json.gz"
    await write(open_sink(f"{csv_out}?fields=name,url"), ITEMS)
    await write(open_sink(str(json_out)), ITEMS)
    rows = list(csv.reader(io.StringIO(gzip.decompress(csv_out.read_bytes()).decode())))
    assert rows == [["name", "url"], ["a", "http://x/a"], ["b", "http://x/b"],
                    ["c", "http://x/c"]]
    assert json.loads(gzip.decompress(json_out.read_bytes())) == ITEMS
    assert isinstance(open_sink(str(json_out), overwrite=True), JsonArraySink)


async def test_what_was_written_is_readable_before_close(tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl.gz"
    sink = open_sink(str(out))
    await sink.open()
    await sink.write(ITEMS[:2])
    partial = gzip.GzipFile(fileobj=io.BytesIO(out.read_bytes()))
    with pytest.raises(EOFError):  # no end-of-stream yet, but the lines are all there
        partial.read()
    data = zlib_lines(out.read_bytes())
    assert data == ITEMS[:2]
    await sink.close()


def zlib_lines(data: bytes) -> list[dict[str, Any]]:
    import zlib

    return lines(zlib.decompressobj(wbits=31).decompress(data))


# -- batches -------------------------------------------------------------------------------------


async def test_batches_start_a_new_file_every_n_items(tmp_path: Path) -> None:
    sink = open_sink(f"{tmp_path}/items-{{batch}}.jsonl?batch_item_count=2")
    assert isinstance(sink, BatchSink)
    many = [{"n": n} for n in range(7)]
    await write(sink, many[:3], many[3:4], many[4:])
    files = names(tmp_path)
    assert files == ["items-1.jsonl", "items-2.jsonl", "items-3.jsonl", "items-4.jsonl"]
    assert [lines((tmp_path / f).read_bytes()) for f in files] == [
        many[0:2], many[2:4], many[4:6], many[6:7]]


async def test_batches_exactly_full_make_no_empty_file(tmp_path: Path) -> None:
    sink = open_sink(f"{tmp_path}/b{{batch:03d}}.csv.gz?batch_item_count=2&fields=n")
    await write(sink, [{"n": 1, "x": 0}, {"n": 2}])
    assert names(tmp_path) == ["b001.csv.gz"]
    text = gzip.decompress((tmp_path / "b001.csv.gz").read_bytes()).decode()
    assert text.splitlines() == ["n", "1", "2"]


async def test_an_existing_batch_file_is_refused_even_for_json_lines(tmp_path: Path) -> None:
    (tmp_path / "items-1.jsonl").write_text('{"old": 1}\n')
    with pytest.raises(ConfigError, match="exists"):
        await open_sink(f"{tmp_path}/items-{{batch}}.jsonl?batch_item_count=5").open()
    sink = open_sink(f"{tmp_path}/items-{{batch}}.jsonl?batch_item_count=5", overwrite=True)
    await write(sink, [{"new": 1}])
    assert lines((tmp_path / "items-1.jsonl").read_bytes()) == [{"new": 1}]


async def test_discard_removes_the_batch_files_it_created(tmp_path: Path) -> None:
    sink = open_sink(f"{tmp_path}/items-{{batch}}.json?batch_item_count=1")
    await write(sink, [{"n": 1}, {"n": 2}])
    assert len(names(tmp_path)) == 2
    sink.discard()  # type: ignore[attr-defined]
    assert names(tmp_path) == []


# -- refused options -----------------------------------------------------------------------------


@pytest.mark.parametrize(("uri", "message"), [
    ("items.jsonl?field=a", r"unknown option\(s\) field"),
    ("items.jsonl?fields=", "names no field"),
    ("items.csv?overwrite=maybe", "overwrite= must be true or false"),
    ("items-{batch}.jsonl", r"need both \{batch\}"),
    ("items.jsonl?batch_item_count=3", r"need both \{batch\}"),
    ("items-{batch}.jsonl?batch_item_count=0", "must be a positive integer"),
    ("items-{batch}-{x}.jsonl?batch_item_count=2", "no other"),
])
def test_bad_options_are_config_errors(uri: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        acrawl_open_sink(uri, Settings.build())


def test_unknown_formats_stay_unclaimed() -> None:
    for uri in ("items.gz", "items.parquet.gz", "items.txt?fields=a"):
        assert acrawl_open_sink(uri, Settings.build()) is None


# -- with --state --------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["items.jsonl.gz", "items-{batch}.jsonl?batch_item_count=10"])
async def test_compressed_and_batched_outputs_are_refused_by_a_resumable_crawl(
        tmp_path: Path, uri: str) -> None:
    from acrawl.crawler import Crawler
    from acrawl.spider import Spider

    class Nothing(Spider):
        name = "nothing"

    crawler = Crawler.create(Nothing, outputs=[f"{tmp_path}/{uri}"],
                             state_dir=str(tmp_path / "state"), entry_points=False)
    with pytest.raises(ConfigError, match="cannot be resumed with --state"):
        await crawler.crawl()
    assert names(tmp_path) == ["state"]  # no output file left
