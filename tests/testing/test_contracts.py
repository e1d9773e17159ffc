"""acrawl.testing.contracts: reading contracts from docstrings, and judging a callback's run."""

from __future__ import annotations

from typing import Any

from acrawl.http import Request, Response
from acrawl.spider import Spider
from acrawl.testing.contracts import contracts_of, judge
from acrawl.testing.probe import CallbackRun


class Docs(Spider):
    name = "docs"

    def parse(self, response: Response) -> Any:
        """Index.

        @url http://127.0.0.1:9/
        @returns item 1
        @returns requests 2 5
        @scrapes a b
        @scrapes c
        @cb_kwargs {"x": 1}
        @meta {"m": true}
        """

    def no_url(self, response: Response) -> Any:
        """@returns items 1"""

    def bad(self, response: Response) -> Any:
        """@url http://127.0.0.1:9/ extra
        @returns items 3 1
        @returns pages 1
        @meta [1]
        @cb_kwargs {nope
        @scrape a
        @frobnicate
        """

    def plain(self, response: Response) -> Any:
        """Mentions an email, me@example.com, and no contracts."""

    def _private(self, response: Response) -> Any:
        """@url http://127.0.0.1:9/"""


def test_contracts_are_read_from_docstrings_in_definition_order() -> None:
    found = {c.callback: c for c in contracts_of(Docs)}
    assert list(found) == ["parse", "no_url", "bad"]
    c = found["parse"]
    assert (c.url, c.cb_kwargs, c.meta) == ("http://127.0.0.1:9/", {"x": 1}, {"m": True})
    assert c.returns == [("items", 1, None), ("requests", 2, 5)]
    assert c.scrapes == ["a", "b", "c"]
    assert c.problems == [] and c.label == "docs.parse"
    assert found["no_url"].problems == ["has contracts but no @url to run them on"]
    assert found["bad"].problems == [
        "@url http://127.0.0.1:9/ extra: expected one URL",
        "@returns items 3 1: expected @returns items|requests MIN [MAX]",
        "@returns pages 1: expected @returns items|requests MIN [MAX]",
        "@meta [1]: expected a JSON object",
        "@cb_kwargs {nope: not JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1))",
        "unknown contract @scrape (did you mean @scrapes?)",
        "unknown contract @frobnicate (known: @url, @returns, @scrapes, @cb_kwargs, @meta)",
    ]


def _run(items: list[dict[str, Any]], requests: int) -> CallbackRun:
    request = Request("http://127.0.0.1:9/")
    run = CallbackRun(request, "parse", 1)
    run.response = Response(url=request.url, status=200, headers={}, body=b"", request=request)
    run.items = items
    run.requests = [Request(f"http://127.0.0.1:9/{i}") for i in range(requests)]
    return run


def test_judging_counts_and_fields() -> None:
    [c] = [c for c in contracts_of(Docs) if c.callback == "parse"]
    ok = judge(c, _run([{"a": 1, "b": 2, "c": None}], 2))
    assert ok.ok and ok.failures == ()
    assert ok.passed == ("@url http://127.0.0.1:9/", "@returns items 1", "@returns requests 2 5",
                         "@scrapes a b c")
    bad = judge(c, _run([{"a": 1, "b": 2, "c": 3}, {"a": 1}, {}], 6))
    assert bad.failures == (
        "@returns requests 2 5: got 6 requests, expected 2 to 5 (from <200 http://127.0.0.1:9/>)",
        "@scrapes a b c: item 2 of 3 lacks b, c (and 1 more items)",
    )
    none = judge(c, _run([], 0))
    assert none.failures[0] == ("@returns items 1: got 0 items, expected at least 1 "
                                "(from <200 http://127.0.0.1:9/>)")
    assert "@scrapes a b c" in none.passed  # no items: nothing lacks a field (as in Scrapy)


def test_judging_a_run_without_response_or_with_an_error() -> None:
    [c] = [c for c in contracts_of(Docs) if c.callback == "parse"]
    run = _run([], 0)
    run.response = None
    run.fate = "filtered/allowed_hosts"
    assert judge(c, run).failures == (
        "@url http://127.0.0.1:9/: not fetched (filtered/allowed_hosts)",)
    raised = _run([], 0)
    raised.error = KeyError("title")
    assert judge(c, raised).failures == (
        "raised KeyError: 'title' (on <200 http://127.0.0.1:9/>)",)
