"""The built-in spiders from the command line: ``demo`` and ``links``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from e2e_support import LOOPBACK, Runner, assert_ok, assert_usage_error, describe, read_jsonl

from acrawl.demo.site import LinkSite, ShopSite, ThreadedServer

SUMMARY = re.compile(r"^crawl finished in [\d.]+s: (\d+) pages .* (\d+) items", re.M)


def _summary(stderr: str) -> tuple[int, int]:
    m = SUMMARY.search(stderr)
    assert m, f"no summary line starting a line on stderr:\n{stderr[-2000:]}"
    return int(m.group(1)), int(m.group(2))


def test_demo_writes_one_item_per_product(acrawl: Runner, tmp_path: Path) -> None:
    result = acrawl.run("demo", "-o", "items.jsonl")
    assert_ok(result)
    items = read_jsonl(tmp_path / "items.jsonl")
    assert len(items) == 120
    urls = [it["url"] for it in items]
    assert len(set(urls)) == 120, "duplicate items"
    base = f"{urlsplit(urls[0]).scheme}://{urlsplit(urls[0]).netloc}"
    assert urlsplit(base).hostname == LOOPBACK
    site = ShopSite()
    assert set(urls) == site.product_urls(base)
    for it in items:
        pid = int(it["url"].rsplit("/", 1)[1])
        expected = site.product(pid)
        assert it["title"] == expected["title"]
        assert it["price"] == expected["price"]
        assert isinstance(it["price"], float)
        assert it["sku"] == expected["sku"]
    pages, n_items = _summary(result.stderr)
    assert n_items == 120
    assert pages >= 120
    assert result.stdout == "", "items or logs leaked to stdout"


def test_demo_progress_forced_on_without_a_tty(acrawl: Runner, tmp_path: Path) -> None:
    result = acrawl.run("demo", "-o", "items.jsonl", "--progress")
    assert_ok(result)
    assert "Traceback" not in result.stderr, describe(result)
    assert len(read_jsonl(tmp_path / "items.jsonl")) == 120
    # the summary must start its own line, not be glued to the last progress redraw
    _summary(result.stderr)


def test_demo_no_progress(acrawl: Runner, tmp_path: Path) -> None:
    result = acrawl.run("demo", "-o", "items.jsonl", "--no-progress", "-a", "products=30")
    assert_ok(result)
    assert len(read_jsonl(tmp_path / "items.jsonl")) == 30
    assert _summary(result.stderr)[1] == 30


def test_links_max_pages_is_exact(acrawl: Runner, tmp_path: Path,
                                  link_site_1000: ThreadedServer) -> None:
    base = link_site_1000.base_url
    result = acrawl.run("links", "-a", f"url={base}/", "--max-pages", "200", "-o", "out.jsonl",
                        "--stats", "stats.json")
    assert_ok(result)
    raw = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(raw) == 200
    items = read_jsonl(tmp_path / "out.jsonl")
    urls = [it["url"] for it in items]
    assert len(set(urls)) == 200
    netloc = urlsplit(base).netloc
    all_pages = link_site_1000.site.page_urls(base)
    for it in items:
        assert set(it) >= {"url", "status", "depth", "title", "referer"}, it
        assert urlsplit(it["url"]).netloc == netloc, it
        assert it["url"] in all_pages, f"not a canonical page url: {it['url']}"
        assert it["status"] == 200
        assert isinstance(it["depth"], int)
        assert it["title"] == "Page " + (
            "0" if it["url"] == base + "/" else it["url"].split("/")[4].split("?")[0])
        if it["depth"] == 0:
            assert it["referer"] is None
        else:
            assert urlsplit(it["referer"]).netloc == netloc, it
    start = [it for it in items if it["url"] == base + "/"]
    assert len(start) == 1 and start[0]["depth"] == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["pages"] == 200
    assert stats["items"] == 200
    assert stats["reason"] == "max_pages"


def test_links_whole_site_once_each(acrawl: Runner, tmp_path: Path, serve) -> None:
    srv = serve(LinkSite(pages=150))
    base = srv.base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-o", "out.jsonl")
    assert_ok(result)
    urls = [it["url"] for it in read_jsonl(tmp_path / "out.jsonl")]
    assert len(urls) == len(set(urls)) == 150
    assert set(urls) == srv.site.page_urls(base)
    # each page fetched once; nothing off-host (the .invalid links) attempted
    pages = srv.site.page_urls(base)
    assert all(srv.hits[u] == 1 for u in pages), {u: srv.hits[u] for u in pages
                                                   if srv.hits[u] != 1}
    assert set(srv.hits) - pages <= {base + "/robots.txt"}


def test_links_needs_a_url(acrawl: Runner) -> None:
    assert_usage_error(acrawl.run("links"), "url")
    assert_usage_error(acrawl.run("links", "-a", "url=ftp://127.0.0.1/"), "url")
