"""The port of ``scrapy_shop.py`` to acrawl: that file with only the changes
docs/porting-from-scrapy.md, docs/middleware.md and docs/pipelines.md list (checked by
``test_ported_shop.py``, which also runs it against the quotes site's shop).
"""

import json
import random
from dataclasses import dataclass, field

from itemadapter import ItemAdapter

import acrawl
from acrawl import CrawlSpider, DropItem, IgnoreRequest, LinkExtractor, Rule, get_retry_request
from acrawl.errors import HttpError

# -- items ----------------------------------------------------------------------------------------

@dataclass
class Product:
    sku: str
    name: str
    price: str
    url: str
    tags: list = field(default_factory=list)


# -- downloader middlewares -----------------------------------------------------------------------

class RotateUserAgentMiddleware:
    def __init__(self, user_agents):
        self.user_agents = user_agents

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getlist("USER_AGENTS"))

    def process_request(self, request, spider):
        if self.user_agents:
            request.headers["User-Agent"] = random.choice(self.user_agents)


class ProxyMiddleware:
    def __init__(self, proxy_url):
        self.proxy_url = proxy_url

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("SHOP_PROXY"))

    def process_request(self, request, spider):
        if self.proxy_url and "/shop/" in request.url:
            request.meta["proxy"] = self.proxy_url


class FixtureMiddleware:
    """Answers /fixtures/ URLs from local files, without the network."""

    FIXTURES = {"/fixtures/featured": "<html><body><h1>Featured</h1>"
                                      '<a href="/shop/p/2/">kettle</a></body></html>'}

    def process_request(self, request, spider):
        for path, body in self.FIXTURES.items():
            if request.url.endswith(path):
                return acrawl.Response(url=request.url, body=body, encoding="utf-8",
                                    request=request)
        return None


class BanDetectionMiddleware:
    def process_response(self, request, response, spider):
        if b"captcha" in response.body:
            spider.logger.info("ban page at %s", response.url)
            retry = get_retry_request(request, spider=spider, reason="ban")
            if retry is not None:
                return retry
            return request.replace(dont_filter=True)
        return response


class FallbackMiddleware:
    def process_exception(self, request, exception, spider):
        if request.meta.get("fallback"):
            return acrawl.Response(url=request.url, status=200, body=b"<html><body>"
                                b'<p class="offline">offline</p></body></html>',
                                encoding="utf-8", request=request)
        return None


class StatsMiddleware:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_response(self, request, response, spider):
        self.stats.inc_value(f"shop/status/{response.status}")
        spider.logger.debug("%s %s", response.status, response.url)
        return response


# -- spider middlewares ---------------------------------------------------------------------------

class SkipDiscontinuedMiddleware:
    def process_spider_output(self, response, result, spider):
        for r in result:
            if isinstance(r, acrawl.Request) and "/discontinued/" in r.url:
                continue
            yield r


class DepthAnnotatorMiddleware:
    def process_spider_output(self, response, result, spider):
        for r in result:
            if not isinstance(r, acrawl.Request):
                ItemAdapter(r)["tags"].append(f"depth:{response.meta.get('depth', 0)}")
            yield r


class ExtraStartMiddleware:
    def process_start_requests(self, start_requests, spider):
        yield from start_requests
        yield acrawl.Request(spider.extra_url, callback=spider.parse_featured)


# -- item pipelines -------------------------------------------------------------------------------

class DuplicatesPipeline:
    def __init__(self):
        self.ids_seen = set()

    def process_item(self, item, spider):
        adapter = ItemAdapter(item)
        if adapter.get("sku") is None:
            return item
        if adapter["sku"] in self.ids_seen:
            raise DropItem(f"Duplicate item found: {item!r}")
        self.ids_seen.add(adapter["sku"])
        return item


class PricePipeline:
    vat_factor = 1.15

    def process_item(self, item, spider):
        adapter = ItemAdapter(item)
        if adapter.get("sku") is None:
            return item
        price = adapter.get("price", "").replace("£", "").replace(",", "").strip()
        if not price:
            raise DropItem(f"Missing price in {item!r}")
        adapter["price"] = f"{float(price) * self.vat_factor:.2f}"
        return item


class TagPipeline:
    async def process_item(self, item, spider):
        adapter = ItemAdapter(item)
        adapter["tags"].append("checked")
        return item


class JsonWriterPipeline:
    def __init__(self, path):
        self.path = path

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("JSONL_PATH"))

    def open_spider(self, spider):
        self.file = open(self.path, "w")

    def close_spider(self, spider):
        self.file.close()

    def process_item(self, item, spider):
        line = json.dumps(ItemAdapter(item).asdict()) + "\n"
        self.file.write(line)
        return item


# -- the spider -----------------------------------------------------------------------------------

class ShopSpider(CrawlSpider):
    name = "shop"
    allowed_domains = ["127.0.0.1"]
    settings = {"user_agents": ["shop-bot/1.0", "shop-bot/2.0"]}
    middlewares = [
        RotateUserAgentMiddleware,
        ProxyMiddleware,
        FixtureMiddleware,
        BanDetectionMiddleware,
        FallbackMiddleware,
        StatsMiddleware,
    ]
    spider_middlewares = [
        SkipDiscontinuedMiddleware,
        DepthAnnotatorMiddleware,
        ExtraStartMiddleware,
    ]
    pipelines = [
        DuplicatesPipeline,
        PricePipeline,
        TagPipeline,
        JsonWriterPipeline,
    ]

    @acrawl.hookimpl
    def acrawl_add_settings(self):
        return [acrawl.Setting("user_agents", list, []),
                acrawl.Setting("shop_proxy", str, None, optional=True),
                acrawl.Setting("jsonl_path", str, "items.jl")]

    rules = (
        Rule(LinkExtractor(allow=r"/shop/p/\d+/", deny=r"/shop/p/9\d*/"),
             callback="parse_product", cb_kwargs={"source": "rule"}),
        Rule(LinkExtractor(allow=r"/shop/[a-z]*/?$")),
    )

    def start_requests(self):
        yield acrawl.Request(self.login_url, callback=self.login)
        yield acrawl.Request(self.offline_url, callback=self.parse_offline,
                             meta={"fallback": True})
        yield acrawl.Request(self.missing_url, callback=self.parse_offline,
                             errback=self.on_error)

    def login(self, response):
        return acrawl.FormRequest.from_response(
            response, formdata={"username": "ann", "password": "secret"},
            callback=self.after_login)

    def after_login(self, response):
        yield from response.follow_all(css="a.shop", callback=self.parse)

    def parse_product(self, response, source):
        yield Product(
            sku=response.css("span.sku::text").get(),
            name=response.css("h1::text").get(),
            price=response.css("p.price::text").get(""),
            url=response.url,
            tags=[source],
        )

    def parse_featured(self, response):
        yield from response.follow_all(css="a", callback=self.parse_product,
                                       cb_kwargs={"source": "featured"})

    def parse_offline(self, response):
        yield {"offline": response.css("p.offline::text").get(), "tags": []}

    def on_error(self, failure):
        if failure.check(HttpError):
            response = failure.value.response
            self.logger.info("HTTP %s on %s", response.status, failure.request.url)
            yield {"error": response.status, "url": failure.request.url, "tags": []}
        elif failure.check(IgnoreRequest):
            self.logger.info("ignored %s", failure.request.url)

    def closed(self, reason):
        self.crawler.stats.set_value("shop/closed", reason)
