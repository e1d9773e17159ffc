"""Run a spider in-process and get back what the crawl did: ``crawl()`` and ``crawl_async()``.

>>> record = crawl(Books, start_urls=[site.url("/")], settings={"max_pages": 10})
>>> record.items, [r.url for r in record.requests], record.stats["pages"], record.errors

The crawl is a real one — ``Crawler.create`` with the spider's, the project's
(``[tool.acrawl.settings]``) and the given settings, the installed plugins, the URL filters,
robots.txt, dedup and the downloader with its private-address guard — observed by a
:class:`Recorder` plugin. ``download_handler`` replaces what fetches (any object with
``async fetch(request) -> Response`` and ``async close()``): that is where a recorded replay
(a cache of responses) plugs in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..config import load_project
from ..crawler import Crawler
from ..hookspecs import hookimpl
from ..plugins import check as check_plugins

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..spider import Spider

__all__ = ["CrawlRecord", "Recorder", "attach", "crawl", "crawl_async", "open_crawler"]


@attrs.define
class CrawlRecord:
    """What one crawl did.

    * ``items``: every item written, as every sink gets it (callbacks' and errbacks' items, as
      dicts), in order;
    * ``requests``: every request scheduled (passed the filters and dedup), in order;
    * ``dropped``: ``(request, reason)`` for each request not scheduled or not downloaded
      (``"dropped/duplicate"``, ``"filtered/allowed_hosts"``, ``"filtered/robots"``, ...);
    * ``responses``: the responses that reached a callback;
    * ``errors``: the exceptions reported by the crawl (downloads that failed for good,
      callbacks that raised, sinks that failed), as ``acrawl_error`` saw them;
    * ``stats``: the final counters and timings; ``reason``: ``"finished"``, ``"max_pages"``...
    """

    reason: str = ""
    items: list[dict[str, Any]] = attrs.field(factory=list)
    requests: list[Request] = attrs.field(factory=list)
    dropped: list[tuple[Request, str]] = attrs.field(factory=list)
    responses: list[Response] = attrs.field(factory=list)
    errors: list[BaseException] = attrs.field(factory=list)
    stats: dict[str, Any] = attrs.field(factory=dict)

    @property
    def urls(self) -> list[str]:
        """The URLs of the responses that reached a callback, in order."""
        return [r.url for r in self.responses]

    def dropped_for(self, reason: str) -> list[str]:
        """The URLs dropped for ``reason`` (``"filtered/robots"``, or a prefix: ``"filtered"``)."""
        return [r.url for r, why in self.dropped if why == reason or why.startswith(reason + "/")]


class _ListSink:
    """A sink appending to a list."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    async def open(self) -> None:
        return None

    async def write(self, items: list[dict[str, Any]]) -> None:
        self.items.extend(items)

    async def close(self) -> None:
        return None


class Recorder:
    """A plugin that records a crawl into a :class:`CrawlRecord` (``recorder.record``); the
    items through the output ``recorder.uri`` (give it to the crawl's outputs)."""

    PLUGIN_NAME = "acrawl.testing"

    def __init__(self) -> None:
        self.record = CrawlRecord()
        self.uri = f"acrawl-testing:record-{id(self)}"

    @hookimpl
    def acrawl_open_sink(self, uri: str) -> _ListSink | None:
        return _ListSink(self.record.items) if uri == self.uri else None

    @hookimpl
    def acrawl_request_scheduled(self, request: Request) -> None:
        self.record.requests.append(request)

    @hookimpl
    def acrawl_request_dropped(self, request: Request, reason: str) -> None:
        self.record.dropped.append((request, reason))

    @hookimpl
    def acrawl_response_received(self, response: Response) -> None:
        self.record.responses.append(response)

    @hookimpl
    def acrawl_error(self, exception: BaseException) -> None:
        self.record.errors.append(exception)


def attach(crawler: Crawler, plugin: object, name: str) -> None:
    """Register ``plugin`` (an object with hook implementations) on a built crawler."""
    pm = crawler.hooks.pm
    pm.register(plugin, name=name)
    check_plugins(pm)
    crawler.hooks.refresh()


def open_crawler(
    spider_cls: type[Spider],
    *,
    settings: Mapping[str, Any] | None = None,
    plugins: Iterable[str] = (),
    download_handler: Any = None,
    project: bool = True,
    entry_points: bool | None = None,
    spider_args: Mapping[str, Any] | None = None,
    outputs: Iterable[str] = (),
    pipelines: bool = True,
) -> Crawler:
    """A :class:`~acrawl.crawler.Crawler` as a crawl builds it: the project's settings layer
    (unless ``project=False``), the spider's, then ``settings`` on top."""
    found = load_project() if project else None
    return Crawler.create(
        spider_cls, spider_args=spider_args, settings=settings, plugins=plugins,
        entry_points=entry_points, downloader=download_handler, outputs=outputs,
        project_settings=found.settings_layer() if found is not None else None,
        pipelines=pipelines,
    )


async def crawl_async(
    spider_cls: type[Spider],
    *,
    settings: Mapping[str, Any] | None = None,
    plugins: Iterable[str] = (),
    download_handler: Any = None,
    project: bool = True,
    entry_points: bool | None = None,
    outputs: Iterable[str] = (),
    time_limit: float = 60.0,
    **spider_args: Any,
) -> CrawlRecord:
    """Run ``spider_cls`` to its end in this event loop; its :class:`CrawlRecord`.

    ``spider_args`` are set on the spider as ``-a`` would (``start_urls=[site.url("/")]``);
    ``outputs`` are ``-o`` URIs written besides the record (``[str(tmp_path / "x.jsonl")]``).
    A crawl still running after ``time_limit`` seconds is stopped and raises AssertionError.
    A bad setting or spider argument raises :class:`~acrawl.errors.ConfigError`."""
    recorder = Recorder()
    crawler = open_crawler(spider_cls, settings=settings, plugins=plugins,
                           download_handler=download_handler, project=project,
                           entry_points=entry_points, spider_args=spider_args,
                           outputs=[*outputs, recorder.uri])
    attach(crawler, recorder, Recorder.PLUGIN_NAME)
    task = asyncio.ensure_future(crawler.crawl())
    done, _ = await asyncio.wait({task}, timeout=time_limit)
    if not done:  # stop now (requests in flight cancelled), close everything, then fail
        crawler.stop(force=True)
        await asyncio.wait({task}, timeout=10)
        if not task.done():
            task.cancel()
        raise AssertionError(f"the crawl of {crawler.spider.name!r} did not end within "
                             f"{time_limit:g}s")
    result = task.result()
    recorder.record.reason = result.reason
    recorder.record.stats = result.stats.to_dict()
    return recorder.record


def crawl(spider_cls: type[Spider], **kwargs: Any) -> CrawlRecord:
    """:func:`crawl_async` in an event loop of its own, for plain (not async) test functions.

    Inside a running event loop (an ``async def`` test) use ``await crawl_async(...)``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("acrawl.testing.crawl() cannot run inside an event loop; "
                           "use `await acrawl.testing.crawl_async(...)` in async tests")
    return asyncio.run(crawl_async(spider_cls, **kwargs))
