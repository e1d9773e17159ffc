"""A CrawlSpider with two rules: follow the pager, parse each author's page.

    acrawl-run authors.py -a base=http://127.0.0.1:8000 -o authors.jsonl
"""

import acrawl
from acrawl import CrawlSpider, LinkExtractor, Rule


class AuthorsSpider(CrawlSpider):
    name = "authors"
    allowed_hosts = ["127.0.0.1"]
    rules = (
        Rule(LinkExtractor(allow=r"/page/\d+/", restrict_css="ul.pager")),
        Rule(LinkExtractor(allow=r"/author/"), callback="parse_author"),
    )

    async def start_requests(self):
        yield acrawl.Request(f"{self.base}/")

    def parse_author(self, response):
        def extract(query):
            return response.css(query).get(default="").strip()

        yield {
            "name": extract("h3.author-title::text"),
            "birthdate": extract(".author-born-date::text"),
            "birthplace": extract(".author-born-location::text").removeprefix("in "),
            "bio": extract(".author-description::text"),
        }
