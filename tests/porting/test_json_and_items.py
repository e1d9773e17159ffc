"""The JSON scroll API via ``JsonRequest``/``response.json()``, and items of each type
itemadapter supports, written to JSON Lines and CSV in their field order."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from quotes_site import AUTHORS, PAGES, QUOTES, QuotesServer

import acrawl


class ScrollSpider(acrawl.Spider):
    """quotes.toscrape's /api/quotes?page=N, page after page while ``has_next``."""

    name = "scroll"
    allowed_hosts = ["127.0.0.1"]

    def start_requests(self) -> Any:
        yield acrawl.JsonRequest(f"{self.base}/api/quotes?page=1")
        yield acrawl.JsonRequest(f"{self.base}/api/search", data={"author": "Mark Twain"},
                                 callback=self.parse_search)

    def parse(self, response: acrawl.Response) -> Any:
        data = response.json()
        for quote in data["quotes"]:
            yield {"author": quote["author"]["name"], "text": quote["text"],
                   "tags": quote["tags"], "page": data["page"]}
        if data["has_next"]:
            yield acrawl.JsonRequest(f"{self.base}/api/quotes?page={data['page'] + 1}")

    def parse_search(self, response: acrawl.Response) -> Any:
        yield {"twain": [q["text"] for q in response.json()["quotes"]]}


def test_the_scroll_api_and_a_json_post(quotes: QuotesServer) -> None:
    result = acrawl.run(ScrollSpider, base=quotes.base_url, return_items=True)
    assert result.errors == 0
    assert result.stats.get("http/406") == 0 and result.stats.get("http/415") == 0
    assert result.items is not None
    pages = [i for i in result.items if "page" in i]
    assert pages == [{"author": AUTHORS[q.author].name, "text": q.text, "tags": list(q.tags),
                      "page": n // 5 + 1} for n, q in enumerate(QUOTES)]
    [twain] = [i["twain"] for i in result.items if "twain" in i]
    assert twain == [q.text for q in QUOTES if q.author == "mark-twain"]
    assert [quotes.hits[f"/api/quotes?page={n}"] for n in range(1, PAGES + 1)] == [1] * PAGES


def test_a_plain_request_is_refused_by_the_json_api(quotes: QuotesServer) -> None:
    class Plain(ScrollSpider):
        def start_requests(self) -> Any:
            yield acrawl.Request(f"{self.base}/api/quotes?page=1",
                                 headers={"Accept": "text/html"})

    result = acrawl.run(Plain, base=quotes.base_url, return_items=True)
    assert result.items == [] and result.stats["http_ignored/406"] == 1


# -- item types -----------------------------------------------------------------------------------


@dataclasses.dataclass
class QuoteData:
    text: str
    author: str
    tags: list[str]


@attrs.define
class QuoteAttrs:
    text: str
    author: str
    tags: list[str]


def _pydantic_class() -> type:
    pydantic = pytest.importorskip("pydantic")

    class QuoteModel(pydantic.BaseModel):
        text: str
        author: str
        tags: list[str]

    return QuoteModel


def _dict(text: str, author: str, tags: list[str]) -> dict[str, Any]:
    return {"text": text, "author": author, "tags": tags}


class TypedQuotes(acrawl.Spider):
    """The tutorial's quotes, as instances of ``item_class``."""

    name = "typed"
    allowed_hosts = ["127.0.0.1"]
    item_class: Any = dict

    def parse(self, response: acrawl.Response) -> Any:
        for quote in response.css("div.quote"):
            yield self.item_class(text=quote.css("span.text::text").get(),
                                  author=quote.css("small.author::text").get(),
                                  tags=quote.css("div.tags a.tag::text").getall())
        yield from response.follow_all(css="li.next a")


@pytest.mark.parametrize("kind", ["dict", "dataclass", "attrs", "pydantic"])
def test_item_types_reach_the_outputs_in_field_order(quotes: QuotesServer, tmp_path: Path,
                                                     kind: str) -> None:
    item_class = {"dict": _dict, "dataclass": QuoteData, "attrs": QuoteAttrs}.get(kind) or (
        _pydantic_class())
    jsonl, csv_path = tmp_path / "q.jsonl", tmp_path / "q.csv"
    result = acrawl.run(TypedQuotes, outputs=[str(jsonl), str(csv_path)],
                        start_urls=[quotes.base_url + "/"], item_class=item_class)
    assert result.errors == 0 and result.stats["items"] == len(QUOTES)
    expected = [{"text": f"\u201c{q.text}\u201d", "author": AUTHORS[q.author].name,
                 "tags": list(q.tags)} for q in QUOTES]
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == expected
    assert all(list(json.loads(line)) == ["text", "author", "tags"] for line in lines)
    with csv_path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["text", "author", "tags"]  # the item's field order, not sorted
    assert [[text, author, json.loads(tags)] for text, author, tags in rows[1:]] == [
        [i["text"], i["author"], i["tags"]] for i in expected]


def test_a_yielded_response_or_link_is_an_output_error_not_an_item(
        quotes: QuotesServer) -> None:
    class Mistakes(acrawl.Spider):
        name = "mistakes"
        allowed_hosts = ["127.0.0.1"]

        def parse(self, response: acrawl.Response) -> Any:
            yield response
            yield acrawl.Link(response.url)
            yield acrawl.Failure(response.request, ValueError("x"))
            yield QuoteData  # the class, not an instance
            yield {"ok": True}

    result = acrawl.run(Mistakes, start_urls=[quotes.base_url + "/"], return_items=True)
    assert result.items == [{"ok": True}]
    assert result.stats["errors/output"] == 4
