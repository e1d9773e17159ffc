"""The exceptions acrawl raises, all from one tree.

::

    AcrawlError
    ├── ConfigError            a bad setting, spider, output URI or config file (CLI exit 2)
    │   └── PluginError        a plugin that cannot be loaded or registered
    ├── SerializationError     a request that cannot be stored in a durable/shared frontier
    ├── FrontierUnavailable    the shared frontier (Redis) stayed unreachable past
    │                          ``redis_outage_timeout``: the crawl stopped (CLI exit 1)
    ├── DownloadError          one attempt to fetch a URL failed; carries ``.request``
    │   ├── ConnectError       DNS, refused, reset, TLS
    │   ├── DownloadTimeout    connect, first byte or whole-response timeout
    │   ├── BlockedAddress     the host resolved to an address the crawl may not reach
    │   ├── TooManyRedirects   ``max_redirects`` exceeded or a redirect loop
    │   ├── CacheMiss          a replay crawl (``cache_mode = replay``) found no usable entry
    │   └── HttpError          a non-2xx status the spider does not handle (after retries)
    ├── IgnoreRequest          a component dropped a request before or after its download
    │                          (robots.txt, a middleware); ``RequestIgnored`` is its old name
    ├── DropItem               a pipeline step dropped an item (counted, not an error)
    ├── ComponentError         a middleware or pipeline raised or returned something invalid;
    │                          wraps the original exception, names the component
    └── CallbackError          a spider callback raised or yielded something invalid;
                               wraps the original exception with its request

Expected outcomes are return values, not exceptions: a duplicate request makes
``DupeFilter.add`` return ``False``; a filtered URL makes ``Hooks.url_rejected_by`` return the
name of the plugin that rejected it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .http import Request, Response

__all__ = [
    "AcrawlError",
    "BlockedAddress",
    "CacheMiss",
    "CallbackError",
    "ComponentError",
    "ConfigError",
    "ConnectError",
    "DownloadError",
    "DownloadTimeout",
    "DropItem",
    "FrontierUnavailable",
    "HttpError",
    "IgnoreRequest",
    "PluginError",
    "RequestIgnored",
    "SerializationError",
    "TooManyRedirects",
]


class AcrawlError(Exception):
    """Base class of every exception acrawl raises on purpose."""


class ConfigError(AcrawlError):
    """A usage or configuration error; the CLI prints it on one line and exits 2."""


class PluginError(ConfigError):
    """A plugin could not be loaded or registered (for example an ``async def`` hook)."""


class SerializationError(AcrawlError):
    """A request holds data that a durable or shared frontier cannot store."""


class FrontierUnavailable(AcrawlError):
    """The shared frontier stayed unreachable for longer than ``redis_outage_timeout``; the
    crawl was stopped (items written so far are kept, unacknowledged requests return to the
    queue when their leases expire)."""


class DownloadError(AcrawlError):
    """One download failed. ``request`` is the request that was being fetched."""

    def __init__(self, message: str, request: Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class ConnectError(DownloadError):
    """The connection could not be made or was broken (DNS, refused, reset, TLS)."""


class DownloadTimeout(DownloadError):
    """The server did not answer, or did not finish answering, within ``timeout``."""


class BlockedAddress(DownloadError):
    """The host resolves to a loopback, private, link-local or metadata address."""


class TooManyRedirects(DownloadError):
    """A redirect chain was longer than ``max_redirects`` or went round in a loop."""


class CacheMiss(DownloadError):
    """A replay crawl (``cache_mode = replay``) has no usable cache entry for the request, so
    it is not fetched: ``reason`` is ``"cache_miss"`` (not recorded) or ``"cache_corrupt"``
    (the entry is damaged). Counted as ``failed/CacheMiss``; the errback gets it."""

    def __init__(self, message: str, request: Request | None = None,
                 reason: str = "cache_miss") -> None:
        super().__init__(message, request)
        self.reason = reason


class HttpError(DownloadError):
    """A response with a status the spider does not handle (retries, if any, exhausted)."""

    def __init__(self, message: str, request: Request | None = None, status: int = 0,
                 response: Response | None = None) -> None:
        super().__init__(message, request)
        self.status = status
        #: the response (Scrapy's ``failure.value.response``): its headers, body, ``url``
        self.response = response


class IgnoreRequest(AcrawlError):
    """Drop a request: raise it from a middleware's ``process_request`` (or
    ``process_response``, or a spider middleware's ``process_spider_input``), as in Scrapy.
    The request is not downloaded (or its response not used), counted as
    ``filtered/<reason>``, and its errback gets this exception.

    ``reason`` is the stats key after ``filtered/`` (``"robots"`` from robots.txt); when a
    middleware gives none, the middleware's name is used. ``request`` is filled in by the
    engine when not given."""

    def __init__(self, message: str = "", request: Request | None = None,
                 reason: str | None = None) -> None:
        super().__init__(message)
        self.request = request
        self.reason = reason


#: the name errbacks have known since round one (a robots.txt refusal)
RequestIgnored = IgnoreRequest


class DropItem(AcrawlError):
    """Raise from a pipeline's ``process_item`` to drop the item: it is counted
    (``items/dropped``), logged at DEBUG with the message, and never reaches the sinks. Not an
    error: a crawl whose pipelines drop items still exits 0."""


class CallbackError(AcrawlError):
    """A spider callback failed. ``wrapped`` is the original exception."""

    def __init__(self, message: str, request: Request, wrapped: BaseException | None = None):
        super().__init__(message)
        self.request = request
        self.wrapped: Any = wrapped


class ComponentError(AcrawlError):
    """A middleware or pipeline failed: it raised (``wrapped`` is the exception) or returned
    something its method may not return. ``component`` is its name; an errback gets this."""

    def __init__(self, message: str, request: Request | None = None, *, component: str = "",
                 wrapped: BaseException | None = None) -> None:
        super().__init__(message)
        self.request = request
        self.component = component
        self.wrapped: Any = wrapped
        #: a spider middleware's ``process_spider_output`` that raised midway: what it had
        #: yielded, through the middlewares after it (kept, not lost)
        self.partial: list[Any] = []
        #: errors of those later middlewares on that partial output
        self.later: list[ComponentError] = []
