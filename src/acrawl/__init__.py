"""acrawl: an asyncio web-crawling framework."""

from .crawler import CrawlResult
from .crawlspider import CrawlSpider, Rule
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
from .linkextractors import LinkExtractor
from .runner import crawl, run
from .settings import Setting, Settings
from .sinks import Sink
from .spider import Spider

__version__ = "0.1.0"

__all__ = [
    "AcrawlError",
    "CallbackError",
    "ConfigError",
    "CrawlResult",
    "CrawlSpider",
    "DownloadError",
    "Failure",
    "FormRequest",
    "JsonRequest",
    "Link",
    "LinkExtractor",
    "PluginError",
    "Request",
    "Response",
    "Rule",
    "Setting",
    "Settings",
    "Sink",
    "Spider",
    "__version__",
    "crawl",
    "hookimpl",
    "run",
]
