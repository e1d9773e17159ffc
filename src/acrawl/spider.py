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

import ipaddress
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from .errors import ConfigError
from .http import Request, Response

__all__ = ["Spider", "check_spider", "spider_name"]

logger = logging.getLogger(__name__)


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
            self.name = spider_name(type(self))  # type: ignore[misc]

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


def spider_name(cls: type[Spider]) -> str:
    """The name instances of ``cls`` get: its ``name``, else its class name lower-cased."""
    name = getattr(cls, "name", "")
    return name if isinstance(name, str) and name else cls.__name__.lower()


def _kind(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _string_list(spider: Spider, attr: str, what: str, given: Mapping[str, Any]) -> None:
    """``attr`` as a list of strings. A single string is one entry: as ``-a attr=VALUE`` it
    can only be a string; in a class it is usually a forgotten list, so that is logged."""
    value = getattr(spider, attr, None)
    if value is None:
        setattr(spider, attr, [])
        return
    if isinstance(value, str):
        if given.get(attr) is not value:
            logger.warning("spider %r: %s should be a list; taking the string %r as one %s",
                           spider.name, attr, value, what)
        setattr(spider, attr, [value])
        return
    if not isinstance(value, list | tuple | set | frozenset):
        raise ConfigError(f"spider {spider.name!r}: {attr} must be a list of {what}s, "
                          f"got {_kind(value)}")
    for entry in value:
        if not isinstance(entry, str):
            raise ConfigError(f"spider {spider.name!r}: {attr} must be a list of {what}s, "
                              f"but holds {_kind(entry)}")
    if not isinstance(value, list):
        setattr(spider, attr, list(value))


#: Scrapy spider attributes acrawl names otherwise and cannot take as they are: (Scrapy's,
#: acrawl's, what changes)
_SCRAPY_ATTRIBUTES = [
    ("custom_settings", "settings = {...}",
     "lower-case names; middlewares = [...], spider_middlewares = [...] and "
     "pipelines = [...] for DOWNLOADER_MIDDLEWARES, SPIDER_MIDDLEWARES and ITEM_PIPELINES"),
]


def _allowed_domains(spider: Spider, given: Mapping[str, Any]) -> None:
    """Scrapy's ``allowed_domains``, in a ported spider, taken with Scrapy's meaning: each
    domain and its subdomains (``"example.com"`` is acrawl's ``".example.com"``); an entry
    with a port, or an IP address, is that host alone. Both attributes at once is an error."""
    if getattr(spider, "allowed_domains", None) is None:
        return
    name = spider.name
    if getattr(spider, "allowed_hosts", None):
        raise ConfigError(f"spider {name!r}: allowed_domains (Scrapy's) and allowed_hosts "
                          f"both set; keep allowed_hosts ('.example.com' for subdomains too)")
    _string_list(spider, "allowed_domains", "domain", given)
    hosts = []
    domains: list[str] = getattr(spider, "allowed_domains")  # noqa: B009 - (not declared)
    for entry in domains:
        entry = entry.strip()
        plain = entry.lstrip(".")
        if not plain or ":" in plain or "/" in plain or _is_ip(plain):
            hosts.append(entry)  # (an entry allowed_hosts refuses is refused below)
        else:
            hosts.append("." + plain)
    setattr(spider, "allowed_hosts", hosts)  # noqa: B010 - (a ClassVar on the class)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def check_spider(spider: Spider, given: Mapping[str, Any] | None = None) -> None:
    """Check the attributes the crawl reads, once, before it starts: a wrong type is a
    :class:`ConfigError` naming the spider, the attribute and what was expected, instead of
    a traceback (or an empty crawl) later. ``given`` are the spider arguments (``-a``).

    ``start_urls`` and ``allowed_hosts`` become lists (a single string is one entry).
    """
    given = given or {}
    name = getattr(spider, "name", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"spider {spider_name(type(spider))!r}: name must be a non-empty "
                          f"string, got {_kind(name)}")
    # Scrapy's names, left in a port, would be ignored without a word: the offsite filter
    # off, the spider's settings, middlewares and pipelines not applied
    for scrapys, ours, hint in _SCRAPY_ATTRIBUTES:
        if getattr(spider, scrapys, None) is not None:
            raise ConfigError(f"spider {name!r}: {scrapys} is Scrapy's name; acrawl reads "
                              f"{ours} ({hint}, docs/porting-from-scrapy.md)")
    settings = getattr(spider, "settings", None)
    if settings is not None:
        if not isinstance(settings, Mapping):
            raise ConfigError(f"spider {name!r}: settings must be a dict of setting names to "
                              f"values, like {{'timeout': 3}}, got {_kind(settings)}")
        for key in settings:
            if not isinstance(key, str):
                raise ConfigError(f"spider {name!r}: settings keys must be setting names "
                                  f"(strings), got {_kind(key)}")
    _string_list(spider, "start_urls", "URL", given)
    _allowed_domains(spider, given)
    _string_list(spider, "allowed_hosts", "host", given)
    for host in spider.allowed_hosts:
        if "," in host or any(c.isspace() for c in host.strip()):
            raise ConfigError(f"spider {name!r}: allowed_hosts entries are host names "
                              f"('example.com', '.example.com', 'host:port'), got {host!r}")
    codes = getattr(spider, "handle_httpstatus_list", None)
    if codes is not None:
        if not isinstance(codes, list | tuple | set | frozenset) or not all(
                type(c) is int and 100 <= c <= 599 for c in codes):
            raise ConfigError(f"spider {name!r}: handle_httpstatus_list must be a list of "
                              f"HTTP status codes (integers 100-599), got {_kind(codes)}")
    for attr in ("follow_links", "handle_httpstatus_all"):
        flag = getattr(spider, attr, None)
        if flag is not None and not isinstance(flag, bool):
            hint = f" (-s {attr}=true sets it from the command line)" if (
                attr == "follow_links" and isinstance(flag, str)) else ""
            raise ConfigError(f"spider {name!r}: {attr} must be True or False, "
                              f"got {_kind(flag)}{hint}")
