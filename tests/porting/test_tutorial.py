"""Scrapy's tutorial spider, ported: pagination plus each author's page once — run the way a
user runs it (``acrawl-run FILE.py -o ...`` in a subprocess) and from Python."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from quotes_site import AUTHORS, PAGES, QUOTES, QuotesServer, author_item, quote_item
from tutorial_spider import QuotesSpider

import acrawl
from cli_support import ACRAWL, clean_env

HERE = Path(__file__).resolve().parent


def expected_items() -> list[dict[str, Any]]:
    return [quote_item(q) for q in QUOTES] + [author_item(slug) for slug in AUTHORS]


def _key(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True)


def _assert_each_page_once(server: QuotesServer) -> None:
    assert {slug: server.hits[f"/author/{slug}/"] for slug in AUTHORS} == {
        slug: 1 for slug in AUTHORS}
    assert [server.hits[f"/page/{n}/"] for n in range(2, PAGES + 1)] == [1] * (PAGES - 1)
    assert server.hits["/"] == 1
    assert not [p for p in server.hits if p.startswith(("/tag/", "/login"))]


def test_acrawl_run_writes_every_quote_and_every_author_once(quotes: QuotesServer,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "quotes.jsonl"
    proc = subprocess.run(
        [*ACRAWL, str(HERE / "tutorial_spider.py"), "-a", f"start_urls={quotes.base_url}/",
         "-o", str(out), "--no-progress"],
        cwd=tmp_path, env={**clean_env(), "ACRAWL_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(items, key=_key) == sorted(expected_items(), key=_key)
    # the quotes of each page come in page order
    quotes_seen = [i["text"] for i in items if "text" in i]
    assert quotes_seen == [quote_item(q)["text"] for q in QUOTES]
    _assert_each_page_once(quotes)


def test_acrawl_run_from_python(quotes: QuotesServer) -> None:
    result = acrawl.run(QuotesSpider, start_urls=[quotes.base_url + "/"], return_items=True)
    assert result.reason == "finished" and result.errors == 0
    assert result.items is not None
    assert sorted(result.items, key=_key) == sorted(expected_items(), key=_key)
    assert result.stats["pages"] == PAGES + len(AUTHORS)
    # the author pages were asked for 12 times and fetched 5 times
    assert result.stats["dropped/duplicate"] == len(QUOTES) - len(AUTHORS)
    _assert_each_page_once(quotes)
