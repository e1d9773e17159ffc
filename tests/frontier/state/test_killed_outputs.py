"""``kill -9`` in the middle of a crawl: the outputs it leaves behind parse, with and without
``--state``, and a resumed ``--state`` crawl completes them without a duplicate.

JSON Lines keeps line boundaries (a line cut by the kill is removed when the file is opened
again); the JSON array and the XML feed are closed after every batch, so they are valid
documents whenever the kill comes (between batches). The site is slow (a LinkSite with
latency, served by a thread of the test process), so every kill lands mid-crawl.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
from lxml import etree
from state_support import (
    canon,
    describe,
    extra_copies,
    kill9,
    output_has_items,
    run,
    start,
    wait_for,
)

from acrawl.demo.site import LinkSite

OUTPUTS = ("out.jsonl", "out.json", "out.xml")


def _args(base: str, *extra: str) -> list[str]:
    return ["links", "-a", f"url={base}/", "--no-robots", "-s", "item_batch_size=20",
            *[a for out in OUTPUTS for a in ("-o", out)], *extra]


def _jsonl_urls(path: Path) -> tuple[list[str], bytes]:
    """The urls of the complete lines, and what follows the last newline."""
    data = path.read_bytes()
    body, _, rest = data.rpartition(b"\n")
    return [json.loads(line)["url"] for line in body.splitlines() if line], rest


def _json_urls(path: Path) -> list[str]:
    return [item["url"] for item in json.loads(path.read_bytes())]


def _xml_urls(path: Path) -> list[str]:
    root = etree.parse(str(path)).getroot()
    assert root.tag == "items"
    return [item.findtext("url") for item in root]


def _kill_mid_crawl(tmp_path: Path, args: list[str], rng: random.Random) -> None:
    proc = start(tmp_path, *args)
    try:
        assert wait_for(lambda: output_has_items(tmp_path, "out.jsonl")
                        or proc.poll() is not None, 30), "no item written within 30 s"
        time.sleep(rng.uniform(0.3, 2.0))
        assert proc.poll() is None, describe(proc.returncode, *proc.communicate()[::-1])
    finally:
        kill9(proc)


@pytest.mark.slow
def test_without_state_a_killed_crawl_leaves_outputs_that_parse(tmp_path: Path,
                                                                 link_site) -> None:
    srv = link_site(pages=2000, latency=0.06)
    pages = LinkSite(pages=2000).page_urls(srv.base_url)
    _kill_mid_crawl(tmp_path, _args(srv.base_url), random.Random("no-state"))
    jsonl, rest = _jsonl_urls(tmp_path / "out.jsonl")
    as_json = _json_urls(tmp_path / "out.json")
    as_xml = _xml_urls(tmp_path / "out.xml")
    print(f"\n[killed] items: jsonl {len(jsonl)} (+{len(rest)} bytes after the last "
          f"newline), json {len(as_json)}, xml {len(as_xml)}")
    for urls in (jsonl, as_json, as_xml):
        assert urls and extra_copies(urls) == 0
        assert {canon(u) for u in urls} <= pages
    # the outputs get the same batches in turn: they differ by the batch in flight at most
    assert max(map(len, (jsonl, as_json, as_xml))) - min(map(len, (jsonl, as_json, as_xml))) \
        <= 20
    # a new run appends to the JSON Lines file: a cut last line would be removed first
    again = run(tmp_path, "links", "-a", f"url={srv.base_url}/", "--no-robots",
                "--max-pages", "5", "-o", "out.jsonl")
    assert again.returncode == 0, describe(again.returncode, again.stderr, again.stdout)
    after, rest = _jsonl_urls(tmp_path / "out.jsonl")
    assert rest == b"" and after[:len(jsonl)] == jsonl and len(after) == len(jsonl) + 5


@pytest.mark.slow
def test_with_state_killed_twice_then_resumed_every_output_complete(tmp_path: Path,
                                                                     link_site) -> None:
    srv = link_site(pages=1000, latency=0.06)
    pages = LinkSite(pages=1000).page_urls(srv.base_url)
    args = _args(srv.base_url, "--state", "state")
    rng = random.Random("state")
    for _ in range(2):
        _kill_mid_crawl(tmp_path, args, rng)
        _json_urls(tmp_path / "out.json")  # valid JSON and XML after each kill
        _xml_urls(tmp_path / "out.xml")
    result = run(tmp_path, *args, timeout=120)
    assert result.returncode == 0, describe(result.returncode, result.stderr, result.stdout)
    assert "resuming crawl" in result.stderr
    jsonl, rest = _jsonl_urls(tmp_path / "out.jsonl")
    assert rest == b""
    for urls in (jsonl, _json_urls(tmp_path / "out.json"), _xml_urls(tmp_path / "out.xml")):
        assert extra_copies(urls) == 0, "an item written twice"
        assert {canon(u) for u in urls} == pages
