"""acrawl: an asyncio web-crawling framework."""

from .errors import (
    AcrawlError,
    CallbackError,
    ConfigError,
    DownloadError,
    PluginError,
)
from .forms import FormRequest, JsonRequest
from .hookspecs import hookimpl
from .http import Failure, Link, Request, Response
from .settings import Setting, Settings
from .sinks import Sink
from .spider import Spider

__version__ = "0.1.0"

__all__ = [
    "AcrawlError",
    "CallbackError",
    "ConfigError",
    "DownloadError",
    "Failure",
    "FormRequest",
    "JsonRequest",
    "Link",
    "PluginError",
    "Request",
    "Response",
    "Setting",
    "Settings",
    "Sink",
    "Spider",
    "__version__",
    "hookimpl",
]
