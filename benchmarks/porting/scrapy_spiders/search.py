"""A two-step search form (ASP.NET style): each author, then each tag the server offers
for that author, with the view state carried by FormRequest.from_response.

    scrapy runspider search.py -a base=http://127.0.0.1:8000 -o search.jsonl
"""

import scrapy


class SearchSpider(scrapy.Spider):
    name = "search"
    allowed_domains = ["127.0.0.1"]

    async def start(self):
        yield scrapy.Request(f"{self.base}/search", callback=self.parse)

    def parse(self, response):
        for author in response.css("select#author option::attr(value)").getall():
            if author:
                yield scrapy.FormRequest.from_response(
                    response, formid="search", formdata={"author": author},
                    callback=self.parse_tags)

    def parse_tags(self, response):
        for tag in response.css("select#tag option::attr(value)").getall():
            if tag:
                yield scrapy.FormRequest.from_response(
                    response, formcss="#search", formdata={"tag": tag},
                    callback=self.parse_results)

    def parse_results(self, response):
        for quote in response.css("div.quote"):
            yield {"author": quote.css("span.author::text").get(),
                   "tag": quote.css("span.tag::text").get(),
                   "quote": quote.css("span.content::text").get()}
