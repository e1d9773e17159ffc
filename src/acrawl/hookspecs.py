"""The hooks plugins implement. Project name: ``"acrawl"``.

Hooks are synchronous, as pluggy calls them. Where a hook needs I/O it returns an object with
async methods (a :class:`~acrawl.sinks.Sink`, a :class:`~acrawl.gates.Gate`); an ``async def``
implementation is refused at registration with a :class:`~acrawl.errors.PluginError`.

Call hooks only through :class:`acrawl.plugins.Hooks`, which knows how results combine.
Implementations may accept fewer arguments than a spec names (pluggy's opt-in arguments), so
adding an argument here is not a breaking change; renaming or removing one is.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .download.handlers import DownloadHandler
    from .gates import Gate
    from .http import Link, Request, Response
    from .settings import Setting, Settings
    from .sinks.base import Sink
    from .spider import Spider
    from .stats import Stats

hookspec = pluggy.HookspecMarker("acrawl")
hookimpl = pluggy.HookimplMarker("acrawl")

__all__ = ["hookimpl", "hookspec"]


# ------------------------------------------------------------------------------------------------
# setup and registration
# ------------------------------------------------------------------------------------------------


@hookspec
def acrawl_add_settings() -> Iterable[Setting] | None:
    """Declare settings this plugin reads, so ``-s name=value`` is validated and typed.

    Called once, before the settings are read. Results are concatenated; a name declared twice
    with different definitions is a :class:`~acrawl.errors.ConfigError`.
    """


@hookspec(firstresult=True)
def acrawl_open_sink(uri: str, settings: Settings) -> Sink | None:
    """Return a :class:`~acrawl.sinks.Sink` for an ``-o`` output URI, or ``None`` if not yours.

    Called once per ``-o`` URI when the crawl opens. Stops at the first non-``None`` result, so a
    plugin can claim a scheme (``"s3://"``) or a file extension. The engine calls the sink's
    ``async open()``, then ``async write(items)`` with batches, then ``async close()``.
    """


@hookspec
def acrawl_open_gate(settings: Settings, spider: Spider, fetch: Any) -> Gate | None:
    """Return a :class:`~acrawl.gates.Gate` that checks each request just before download.

    Called once when the crawl opens. ``fetch`` is an async callable
    that downloads outside the crawl (no dedup, no stats), e.g. for ``robots.txt``.
    Its signature is ``async fetch(url: str) -> Response``. Results are
    concatenated; a request is dropped when any gate gives a reason. ``None`` adds no gate.
    """


@hookspec
def acrawl_start_requests(
    spider: Spider, settings: Settings, fetch: Any
) -> Iterable[Request] | AsyncIterable[Request] | None:
    """Return extra start requests (a sync or async iterable), e.g. from sitemaps.

    Called once when the crawl opens, after ``spider.start_requests()`` began. ``fetch`` is the
    same out-of-crawl ``async (url) -> Response`` as for gates. Results are concatenated; each
    request goes through filters and dedup like any other.
    """


@hookspec
def acrawl_middlewares(settings: Settings, spider: Spider) -> Iterable[Any] | None:
    """Return downloader middlewares (classes, instances or import paths) to add to the chain.

    Called once when the crawl opens. Results are concatenated in pluggy's call order (use
    ``tryfirst``/``trylast`` to move yours) and run after the spider's ``middlewares`` and the
    ``middlewares`` setting, between the built-ins ``robots`` and ``retry``. A middleware whose
    ``name`` is a built-in's takes its place. See docs/middleware.md.
    """


@hookspec
def acrawl_spider_middlewares(settings: Settings, spider: Spider) -> Iterable[Any] | None:
    """Return spider middlewares to add: objects with any of ``process_spider_output``,
    ``process_spider_input``, ``process_spider_exception`` and ``process_start_requests``.

    Called once when the crawl opens; concatenated, after the spider's and the setting's,
    before the built-in ``max_depth``. See docs/middleware.md.
    """


@hookspec
def acrawl_pipelines(settings: Settings, spider: Spider) -> Iterable[Any] | None:
    """Return item pipelines (objects with ``process_item``) to add.

    Called once when the crawl opens; concatenated, after the spider's ``pipelines`` and the
    ``pipelines`` setting. See docs/pipelines.md.
    """


@hookspec
def acrawl_download_handler(settings: Settings, spider: Spider) -> DownloadHandler | None:
    """Return a download handler: an object with ``async fetch(request) -> Response`` and
    ``async close()``, and optionally ``handles(request) -> bool`` (default: every request).

    Called once when the crawl opens. Results are asked in pluggy's call order; the first
    handler that handles a request fetches it, the built-in aiohttp downloader fetches the
    rest. The middleware chain runs around whichever handler fetched. ``None``: no handler.
    """


# ------------------------------------------------------------------------------------------------
# lifecycle
# ------------------------------------------------------------------------------------------------


@hookspec
def acrawl_crawl_opened(spider: Spider, settings: Settings) -> None:
    """Called once when the crawl starts, after sinks and gates are open."""


@hookspec
def acrawl_crawl_closed(spider: Spider, stats: Stats, reason: str) -> None:
    """Called once when the crawl ends. ``reason`` is ``"finished"``, ``"max_pages"``,
    ``"interrupted"``, a guardrail (``"close_timeout"``, ``"close_item_count"``,
    ``"close_error_count"``, ``"memory_limit"``) or ``"frontier_unavailable"``; ``stats``
    holds the final counters."""


# ------------------------------------------------------------------------------------------------
# requests
# ------------------------------------------------------------------------------------------------


@hookspec
def acrawl_filter_url(url: str, request: Request, spider: Spider) -> bool | None:
    """Decide whether ``request`` (for ``url``) may be scheduled.

    Called for every new request, before dedup (start requests and redirects included).
    Return ``False`` to drop it (counted in stats as ``filtered/<plugin name>``), ``True`` or
    ``None`` to let it through. Any ``False`` drops the request.
    """


@hookspec
def acrawl_request_scheduled(request: Request, spider: Spider) -> None:
    """Called after ``request`` passed the filters and dedup and was queued."""


@hookspec
def acrawl_request_dropped(request: Request, reason: str, spider: Spider) -> None:
    """Called when ``request`` is not scheduled or not downloaded (filtered, duplicate,
    robots, max_depth, max_pages, bad scheme); ``reason`` is its stats key, e.g.
    ``"dropped/duplicate"`` or ``"filtered/allowed_hosts"``."""


# ------------------------------------------------------------------------------------------------
# responses and items
# ------------------------------------------------------------------------------------------------


@hookspec
def acrawl_response_received(response: Response, spider: Spider) -> None:
    """Called for every response about to reach a spider callback (not for redirects,
    retried responses, unhandled HTTP statuses or responses dropped by ``max_pages``)."""


@hookspec
def acrawl_extract_links(response: Response, spider: Spider) -> Iterable[str | Link] | None:
    """Return the links found in ``response`` (absolute or relative URLs, or ``Link`` objects).

    Called lazily, once per response, by ``response.links()`` and by ``follow_links``. Results
    of all plugins are concatenated, resolved against the page, canonicalized and deduplicated.
    ``None`` contributes nothing.
    """


@hookspec
def acrawl_item_scraped(item: Any, response: Response, spider: Spider) -> None:
    """Called for every item a callback produced, before it is handed to the sinks."""


@hookspec
def acrawl_error(exception: BaseException, request: Request | None, spider: Spider) -> None:
    """Called when a download fails for good, a callback raises, or a sink fails."""
