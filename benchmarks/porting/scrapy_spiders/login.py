"""Log in through a form with a CSRF token (FormRequest.from_response), then read the
members' pages.

    scrapy runspider login.py -a base=http://127.0.0.1:8000 -o secret.jsonl
"""

import scrapy


class LoginSpider(scrapy.Spider):
    name = "login"
    allowed_domains = ["127.0.0.1"]

    async def start(self):
        yield scrapy.Request(f"{self.base}/login", callback=self.parse_login)

    def parse_login(self, response):
        yield scrapy.FormRequest.from_response(
            response, formdata={"username": "ann", "password": "secret"},
            callback=self.after_login)

    def after_login(self, response):
        if response.css("p.error"):
            self.logger.error("login failed")
            return
        yield response.follow("/secret", callback=self.parse_secret)

    def parse_secret(self, response):
        for quote in response.css("div.quote"):
            yield {"secret": quote.css("span.text::text").get(),
                   "author": quote.css("small.author::text").get()}
        yield from response.follow_all(css="li.next a", callback=self.parse_secret)
