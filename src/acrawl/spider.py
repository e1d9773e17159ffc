"""The ``Spider`` base class users subclass.

>>> class Books(Spider):
...     name = "books"
...     start_urls = ["http://127.0.0.1:8000/"]
...     allowed_hosts = ["127.0.0.1"]
...
...     async def parse(self, response):
...         yield {"title": response.css("h1::text").get(), "url": response.url}
...         for href in response.css("a::attr(href)").getall():
...             yield response.follow(href)

A spider may also implement hooks itself (decorate methods with ``@acrawl.hookimpl``); the
crawler registers the spider instance as a plugin.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from .http import Request, Response

__all__ = ["Spider"]


class Spider:
    #: the name ``acrawl-run NAME`` finds
    name: ClassVar[str] = ""
    start_urls: ClassVar[list[str]] = []
    #: hosts the built-in host filter lets through; ``".example.com"`` also allows subdomains.
    #: Empty means every host (as Scrapy's ``allowed_domains``); either way only hosts named
    #: here or in ``start_urls`` may resolve to private or loopback addresses.
    allowed_hosts: ClassVar[list[str]] = []
    #: per-spider setting overrides (below ``-s`` on the command line)
    settings: ClassVar[dict[str, Any]] = {}
    #: follow ``response.links()`` with the same callback (the generic crawl)
    follow_links: ClassVar[bool] = False

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)
        if not getattr(self, "name", ""):
            self.name = type(self).__name__.lower()  # type: ignore[misc]

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        return logging.LoggerAdapter(logging.getLogger(f"acrawl.spider.{self.name}"), {})

    def start_requests(self) -> Any:  # an iterable or async iterable of Request
        """The first requests; by default one per ``start_urls`` entry, callback ``parse``."""
        for url in self.start_urls:
            yield Request(url)

    def parse(self, response: Response) -> Any:
        """The default callback. Override it."""
        raise NotImplementedError(f"{type(self).__name__}.parse is not defined")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
