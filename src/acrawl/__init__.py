"""acrawl: an asyncio web-crawling framework."""

from .errors import (
    AcrawlError,
    CallbackError,
    ComponentError,
    ConfigError,
    DownloadError,
    DropItem,
    IgnoreRequest,
    PluginError,
)
from .hookspecs import hookimpl
from .http import Failure, Link, Request, Response
from .policies.retry import get_retry_request
from .settings import Setting, Settings
from .sinks import Sink
from .spider import Spider

__version__ = "0.1.0"

__all__ = [
    "AcrawlError",
    "CallbackError",
    "ComponentError",
    "ConfigError",
    "DownloadError",
    "DropItem",
    "Failure",
    "IgnoreRequest",
    "Link",
    "PluginError",
    "Request",
    "Response",
    "Setting",
    "Settings",
    "Sink",
    "Spider",
    "__version__",
    "get_retry_request",
    "hookimpl",
]
