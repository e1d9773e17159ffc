"""A ``CrawlSpider`` with two rules on the quotes site, also stopped and resumed with
``--state`` (rule callbacks resolved by name after the resume)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from quotes_site import AUTHORS, PAGES, QuotesServer, author_item

import acrawl


class AuthorsCrawl(acrawl.CrawlSpider):
    name = "authors"
    allowed_hosts = ["127.0.0.1"]
    rules = (
        # the pager: followed, no items
        acrawl.Rule(acrawl.LinkExtractor(allow=r"/page/\d+/", restrict_css="ul.pager")),
        # the "(about)" links: parsed, not followed further
        acrawl.Rule(acrawl.LinkExtractor(allow=r"/author/", deny=r"/tag/"),
                    callback="parse_author"),
    )

    def parse_start_url(self, response: acrawl.Response, **kwargs: Any) -> Any:
        return [{"start": response.url, "quotes": len(response.css("div.quote"))}]

    def parse_author(self, response: acrawl.Response) -> Any:
        def extract(query: str) -> str:
            return (response.css(query).get() or "").strip()

        yield {
            "name": extract("h3.author-title::text"),
            "birthdate": extract(".author-born-date::text"),
            "birthplace": extract(".author-born-location::text").removeprefix("in "),
            "bio": extract(".author-description::text"),
        }


def _authors(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((i for i in items if "name" in i), key=lambda i: i["name"])


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


EXPECTED_AUTHORS = sorted((author_item(s) for s in AUTHORS), key=lambda i: i["name"])


def _assert_fetched_once(quotes: QuotesServer) -> None:
    assert {s: quotes.hits[f"/author/{s}/"] for s in AUTHORS} == {s: 1 for s in AUTHORS}
    # /page/1/ is the pager's "previous" link on page 2: another URL than /
    assert [quotes.hits[f"/page/{n}/"] for n in range(1, PAGES + 1)] == [1] * PAGES
    assert not [p for p in quotes.hits if p.startswith(("/tag/", "/login"))]


def test_two_rules_give_each_author_once(quotes: QuotesServer) -> None:
    result = acrawl.run(AuthorsCrawl, start_urls=[quotes.base_url + "/"], return_items=True)
    assert result.errors == 0
    assert result.items is not None
    assert result.items[0] == {"start": quotes.base_url + "/", "quotes": 5}
    assert _authors(result.items) == EXPECTED_AUTHORS
    assert len(result.items) == 1 + len(AUTHORS)
    _assert_fetched_once(quotes)


@pytest.mark.parametrize("stop_after", [2, 5])
def test_stopped_and_resumed_with_state(quotes: QuotesServer, tmp_path: Path,
                                        stop_after: int) -> None:
    state = str(tmp_path / "state")
    out = tmp_path / "authors.jsonl"
    start = [quotes.base_url + "/"]
    first = acrawl.run(AuthorsCrawl, settings={"max_pages": stop_after}, outputs=[str(out)],
                       state_dir=state, start_urls=start)
    assert first.reason == "max_pages"
    # the rest of the authors are rule requests in the state, to be resumed by name
    assert len(_authors(_read(out))) < len(AUTHORS)
    rest = acrawl.run(AuthorsCrawl, outputs=[str(out)], state_dir=state, start_urls=start)
    assert rest.reason == "finished" and rest.errors == 0
    assert _authors(_read(out)) == EXPECTED_AUTHORS  # each once: none lost, none twice
    assert rest.stats["pages"] == 1 + PAGES + len(AUTHORS)
    # a page is fetched again only if the first run dropped its response (max_pages: it was
    # in flight, its callback never ran); the completed ones are not
    fetched = sum(n for path, n in quotes.hits.items() if path != "/robots.txt")
    assert fetched == 1 + PAGES + len(AUTHORS) + first.stats["dropped/max_pages"]
    assert not [p for p in quotes.hits if p.startswith(("/tag/", "/login"))]
