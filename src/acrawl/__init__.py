"""acrawl: an asyncio web-crawling framework."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .crawlspider import CrawlSpider, Rule
from .errors import (
    AcrawlError,
    CacheMiss,
    CallbackError,
    ComponentError,
    ConfigError,
    DownloadError,
    DropItem,
    IgnoreRequest,
    PluginError,
)
from .forms import FormRequest, JsonRequest
from .hookspecs import hookimpl
from .http import Failure, Link, Request, Response
from .linkextractors import LinkExtractor
from .policies.retry import get_retry_request
from .settings import Setting, Settings
from .sinks import Sink
from .spider import Spider
from .version import __version__

if TYPE_CHECKING:
    from .crawler import CrawlResult
    from .runner import crawl, run


#: exported names whose modules load the whole crawl machinery (aiohttp, the engine): imported
#: on first use, so ``import acrawl`` stays light (and ``acrawl-run`` can catch a Ctrl-C
#: that comes while it starts)
_LAZY = {"CrawlResult": ".crawler", "crawl": ".runner", "run": ".runner"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'acrawl' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})

__all__ = [
    "AcrawlError",
    "CacheMiss",
    "CallbackError",
    "ComponentError",
    "ConfigError",
    "CrawlResult",
    "CrawlSpider",
    "DownloadError",
    "DropItem",
    "Failure",
    "FormRequest",
    "IgnoreRequest",
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
    "get_retry_request",
    "hookimpl",
    "run",
]
