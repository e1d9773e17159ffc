"""Scrapy's tutorial spider: the quotes page by page, and each author's page once.

    scrapy runspider quotes.py -a base=http://127.0.0.1:8000 -o quotes.jsonl
"""

import scrapy


class QuotesSpider(scrapy.Spider):
    name = "quotes"
    allowed_domains = ["127.0.0.1"]

    async def start(self):
        yield scrapy.Request(f"{self.base}/", callback=self.parse)

    def parse(self, response):
        for quote in response.css("div.quote"):
            yield {
                "text": quote.css("span.text::text").get(),
                "author": quote.css("small.author::text").get(),
                "tags": quote.css("div.tags a.tag::text").getall(),
            }
        # the same author on many quotes: the dupefilter fetches each author page once
        yield from response.follow_all(css="div.quote span a", callback=self.parse_author)
        yield from response.follow_all(css="li.next a", callback=self.parse)

    def parse_author(self, response):
        def extract(query):
            return response.css(query).get(default="").strip()

        yield {
            "name": extract("h3.author-title::text"),
            "birthdate": extract(".author-born-date::text"),
            "birthplace": extract(".author-born-location::text").removeprefix("in "),
            "bio": extract(".author-description::text"),
        }
