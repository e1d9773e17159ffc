"""A Scrapy project's middlewares, spider middlewares, pipelines and CrawlSpider
(``scrapy_shop.py``) ported to acrawl (``ported_shop.py``) with only the changes the porting
docs list, and run against the quotes site's shop."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import ported_shop
from quotes_site import QuotesServer

import acrawl

HERE = Path(__file__).parent

#: the renames docs/porting-from-scrapy.md lists, applied to the Scrapy body's lines
RENAMES = [
    (r"\bscrapy\.(Request|FormRequest)\b", r"acrawl.\1"),          # Requests and responses
    (r"\bHtmlResponse\(", "acrawl.Response("),                     # Requests and responses
    # Middlewares: the headers component set User-Agent before your middlewares run
    (r'request\.headers\.setdefault\("User-Agent", (.*)\)$', r'request.headers["User-Agent"] = \1'),
]


def _body(path: Path) -> list[str]:
    """The lines after the imports, less the spider's settings block (compared apart)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# -- items"))
    out, skipping = [], False
    for line in lines[start:]:
        if line.startswith(("    custom_settings = {", "    settings = {")):
            skipping = True
        if skipping and line.startswith("    rules = ("):
            skipping = False
        if not skipping:
            out.append(line)
    return out


def test_the_port_changes_only_what_the_docs_list() -> None:
    renamed = _body(HERE / "scrapy_shop.py")
    for pattern, repl in RENAMES:
        renamed = [re.sub(pattern, repl, line) for line in renamed]
    assert _body(HERE / "ported_shop.py") == renamed


def test_the_settings_block_is_scrapys_in_the_documented_order() -> None:
    tree = ast.parse((HERE / "scrapy_shop.py").read_text(encoding="utf-8"))
    [custom] = [node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", "") == "custom_settings"]
    scrapy_settings = ast.literal_eval(custom)

    def names(setting: str, *, reverse: bool = False) -> list[str]:
        paths = sorted(scrapy_settings[setting].items(), key=lambda kv: kv[1], reverse=reverse)
        return [path.rpartition(".")[2] for path, _ in paths]

    spider = ported_shop.ShopSpider
    assert [c.__name__ for c in spider.middlewares] == names("DOWNLOADER_MIDDLEWARES")
    # spider middlewares: the highest number first (nearest the spider), docs/middleware.md
    assert [c.__name__ for c in spider.spider_middlewares] == names(
        "SPIDER_MIDDLEWARES", reverse=True)
    assert [c.__name__ for c in spider.pipelines] == names("ITEM_PIPELINES")
    assert spider.settings == {"user_agents": scrapy_settings["USER_AGENTS"]}


def test_the_ported_shop_crawls_the_shop(quotes: QuotesServer, tmp_path: Path) -> None:
    base = quotes.base_url
    jsonl = tmp_path / "shop.jl"
    result = acrawl.run(
        ported_shop.ShopSpider, return_items=True,
        settings={"shop_proxy": base, "jsonl_path": str(jsonl), "obey_robots": False},
        login_url=base + "/login", offline_url="http://127.0.0.1:9/offline",
        missing_url=base + "/nope", extra_url=base + "/fixtures/featured")
    assert result.reason == "finished"
    assert result.errors == 0
    assert result.items is not None
    items = {item.get("sku") or item.get("offline") or item.get("error"): item
             for item in result.items}
    # the price cleaned (VAT added), the rule's cb_kwargs, the depth, the async pipeline
    assert items["tea-1"] == {"sku": "tea-1", "name": "Tea", "price": "4.02",
                              "url": base + "/shop/p/1/", "tags": ["rule", "depth:3",
                                                                  "checked"]}
    assert items["cup-3"]["price"] == "2.30"  # after the ban page was retried
    # from the fixture answered without the network (process_start_requests' request)
    assert items["kettle-2"]["tags"] == ["featured", "depth:1", "checked"]
    assert items["kettle-2"]["price"] == "1493.85"
    # process_exception's fallback response, and the errback's HttpError.response
    assert items["offline"] == {"offline": "offline", "tags": ["depth:0", "checked"]}
    assert items[404] == {"error": 404, "url": base + "/nope", "tags": ["depth:0", "checked"]}
    assert len(result.items) == 5  # the duplicate Tea and the Spoon without a price dropped
    assert result.stats["items/dropped"] == 2
    assert result.stats.get_value("shop/closed") == "finished"  # Spider.closed(reason)
    assert result.stats["retries/ban"] == 1
    assert quotes.hits["/shop/p/3/"] == 2
    assert result.stats["shop/status/200"] >= 7 and result.stats["shop/status/404"] == 1
    # never fetched: the fixture, the discontinued page (spider middleware), a denied link
    assert not [p for p in quotes.hits if p.startswith(("/fixtures", "/shop/discontinued",
                                                        "/shop/p/90"))]
    assert set(quotes.site.user_agents) == {"shop-bot/1.0", "shop-bot/2.0"}
    assert sorted(set(quotes.site.proxied)) == sorted(
        p for p in quotes.hits if p.startswith("/shop/"))
    written: list[dict[str, Any]] = [json.loads(line) for line in
                                     jsonl.read_text(encoding="utf-8").splitlines()]
    assert sorted(map(json.dumps, written)) == sorted(map(json.dumps, result.items))
