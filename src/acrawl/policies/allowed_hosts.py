"""Built-in URL filter plugin: the spider's ``allowed_hosts``.

``allowed_hosts = ["example.com"]`` lets ``example.com`` through (any port);
``".example.com"`` also lets every subdomain through; ``"127.0.0.1:8000"`` pins a port.
An empty list allows every host (as Scrapy's ``allowed_domains``).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ..urls import _split, host_key, hostname

if TYPE_CHECKING:
    from ..http import Request
    from ..spider import Spider

__all__ = ["PLUGIN_NAME", "HostMatcher", "acrawl_filter_url"]

#: drops are counted as ``filtered/allowed_hosts``
PLUGIN_NAME = "allowed_hosts"


class HostMatcher:
    """Matches URLs against ``allowed_hosts`` entries.

    >>> m = HostMatcher(["example.com", ".shop.test", "127.0.0.1:8000"])
    >>> m.allows("http://example.com/x"), m.allows("http://a.shop.test/"), m.allows("http://x.org/")
    (True, True, False)
    """

    __slots__ = ("_exact", "_suffixes", "_with_port", "empty")

    def __init__(self, entries: list[str] | tuple[str, ...]) -> None:
        self._exact: set[str] = set()
        self._suffixes: list[str] = []
        self._with_port: set[str] = set()
        for raw in entries:
            entry = raw.strip().lower()
            if "://" in entry:
                entry = host_key(entry)
            elif not entry.isascii():  # compared with hosts as the client connects to them
                dot = "." if entry.startswith(".") else ""
                entry = dot + host_key("http://" + entry.lstrip("."))
            if not entry:
                continue
            if entry.startswith("."):
                self._suffixes.append(entry)
                self._exact.add(entry[1:])
            elif ":" in entry and not entry.startswith("["):
                self._with_port.add(entry)
            else:
                self._exact.add(entry.strip("[]"))
        self.empty = not (self._exact or self._suffixes or self._with_port)

    def allows_host(self, host: str, key: str = "") -> bool:
        if host in self._exact or (key and key in self._with_port):
            return True
        return any(host.endswith(s) for s in self._suffixes)

    def allows(self, url: str) -> bool:
        return self.empty or self.allows_host(hostname(url), host_key(url))


#: by ``id(spider)``, dropped when the spider is collected (a WeakKeyDictionary lookup builds
#: a weak reference per call, and this runs once per extracted link)
_matchers: dict[int, HostMatcher] = {}


def matcher_for(spider: Spider) -> HostMatcher:
    m = _matchers.get(id(spider))
    if m is None:
        m = _matchers[id(spider)] = HostMatcher(list(getattr(spider, "allowed_hosts", None) or ()))
        weakref.finalize(spider, _matchers.pop, id(spider), None)
    return m


@hookimpl
def acrawl_filter_url(url: str, request: Request, spider: Spider) -> bool | None:
    """Drop URLs whose host is not in ``spider.allowed_hosts`` (when that list is non-empty).
    (It takes all three arguments and looks the common case up inline: the engine calls it
    once per extracted link.)"""
    m = _matchers.get(id(spider)) or matcher_for(spider)
    if m.empty:
        return None
    host, key = _split(url)
    if host in m._exact:
        return None
    return None if m.allows_host(host, key) else False
