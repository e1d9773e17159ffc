"""The spider of Scrapy's tutorial, written for acrawl: quotes page by page, and each
author's page once (``acrawl-run tutorial_spider.py -a start_urls=URL -o quotes.jsonl``)."""

from __future__ import annotations

from typing import Any

import acrawl


class QuotesSpider(acrawl.Spider):
    name = "quotes"
    allowed_hosts = ["127.0.0.1"]

    def parse(self, response: acrawl.Response) -> Any:
        for quote in response.css("div.quote"):
            yield {
                "text": quote.css("span.text::text").get(),
                "author": quote.css("small.author::text").get(),
                "tags": quote.css("div.tags a.tag::text").getall(),
            }
        # the same author on many quotes: dedup fetches each author page once
        yield from response.follow_all(css="div.quote span a", callback=self.parse_author)
        next_page = response.css("li.next a::attr(href)").get()
        if next_page is not None:
            yield response.follow(next_page, callback=self.parse)

    def parse_author(self, response: acrawl.Response) -> Any:
        def extract(query: str) -> str:
            return (response.css(query).get() or "").strip()

        yield {
            "name": extract("h3.author-title::text"),
            "birthdate": extract(".author-born-date::text"),
            "birthplace": extract(".author-born-location::text").removeprefix("in "),
            "bio": extract(".author-description::text"),
        }
