"""An infinite-scroll JSON API, page after page while has_next (JsonRequest).

    scrapy runspider scroll.py -a base=http://127.0.0.1:8000 -o scroll.jsonl
"""

import scrapy
from scrapy.http import JsonRequest


class ScrollSpider(scrapy.Spider):
    name = "scroll"
    allowed_domains = ["127.0.0.1"]

    async def start(self):
        yield JsonRequest(f"{self.base}/api/quotes?page=1")

    def parse(self, response):
        data = response.json()
        for quote in data["quotes"]:
            yield {"author": quote["author"]["name"], "text": quote["text"],
                   "tags": quote["tags"], "page": data["page"]}
        if data["has_next"]:
            yield JsonRequest(f"{self.base}/api/quotes?page={data['page'] + 1}")
