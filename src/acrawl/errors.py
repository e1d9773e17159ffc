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
    │   └── HttpError          a non-2xx status the spider does not handle (after retries)
    └── CallbackError          a spider callback raised or yielded something invalid;
                               wraps the original exception with its request

Expected outcomes are return values, not exceptions: a duplicate request makes
``DupeFilter.add`` return ``False``; a filtered URL makes ``Hooks.url_rejected_by`` return the
name of the plugin that rejected it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .http import Request

__all__ = [
    "AcrawlError",
    "BlockedAddress",
    "CallbackError",
    "ConfigError",
    "ConnectError",
    "DownloadError",
    "DownloadTimeout",
    "FrontierUnavailable",
    "HttpError",
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


class HttpError(DownloadError):
    """A response with a status the spider does not handle (retries, if any, exhausted)."""

    def __init__(self, message: str, request: Request | None = None, status: int = 0) -> None:
        super().__init__(message, request)
        self.status = status


class RequestIgnored(AcrawlError):
    """A request was not downloaded because a gate refused it (robots.txt disallows it, or
    could not be fetched); ``reason`` is the stats key after ``filtered/``. An errback gets it,
    as Scrapy's ``IgnoreRequest``."""

    def __init__(self, message: str, request: Request, reason: str) -> None:
        super().__init__(message)
        self.request = request
        self.reason = reason


class CallbackError(AcrawlError):
    """A spider callback failed. ``wrapped`` is the original exception."""

    def __init__(self, message: str, request: Request, wrapped: BaseException | None = None):
        super().__init__(message)
        self.request = request
        self.wrapped: Any = wrapped
