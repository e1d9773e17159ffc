"""Running spiders from Python: ``acrawl.run`` (blocking, like Scrapy's ``CrawlerProcess``)
and ``await acrawl.crawl`` (in your own event loop).

>>> result = acrawl.run(Quotes, settings={"concurrency": 8}, return_items=True)
>>> result.reason, result.stats["pages"], len(result.items)       # doctest: +SKIP
('finished', 12, 100)

Inside async code, several crawls may run at once::

    results = await asyncio.gather(acrawl.crawl(Quotes), acrawl.crawl(Authors))

Both take the same arguments as ``acrawl-run`` does on the command line: ``settings``
(``-s``), ``outputs`` (``-o``), ``plugins`` (``-p``, module names or plugin objects),
``state_dir`` (``--state``) and the spider arguments (``-a``) as keyword arguments. Nothing
is configured globally: logging is yours to set up (``logging.basicConfig()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from .crawler import Crawler, CrawlResult
from .hookspecs import hookimpl
from .spider import Spider

__all__ = ["crawl", "run"]

#: the lines a user sees on an interrupt, under the name ``acrawl-run`` has always used
_signal_logger = logging.getLogger("acrawl")

_ids = itertools.count(1)


class _ItemCollector:
    """A plugin whose sink keeps the items of one crawl in memory (``return_items``)."""

    def __init__(self) -> None:
        self.uri = f"acrawl-memory:{next(_ids)}"
        self.items: list[dict[str, Any]] = []

    @hookimpl
    def acrawl_open_sink(self, uri: str) -> Any:
        return _ListSink(self.items) if uri == self.uri else None


class _ListSink:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    async def open(self) -> None:
        pass

    async def write(self, items: list[dict[str, Any]]) -> None:
        self.items.extend(items)

    async def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "<items returned by acrawl.crawl>"


def _prepare(spider_cls: type[Spider], settings: Mapping[str, Any] | None,
             outputs: Iterable[str], plugins: Iterable[str | object], state_dir: str | None,
             return_items: bool, spider_args: dict[str, Any]
             ) -> tuple[Crawler, _ItemCollector | None]:
    if not (isinstance(spider_cls, type) and issubclass(spider_cls, Spider)):
        raise TypeError(f"acrawl.crawl()/run() take an acrawl.Spider subclass, not "
                        f"{spider_cls!r}")
    collector = _ItemCollector() if return_items else None
    outputs = [*outputs, *([collector.uri] if collector else [])]
    plugins = [*plugins, *([collector] if collector else [])]
    crawler = Crawler.create(spider_cls, spider_args=spider_args, settings=settings,
                             outputs=outputs, plugins=plugins, state_dir=state_dir)
    return crawler, collector


async def _run(crawler: Crawler, collector: _ItemCollector | None) -> CrawlResult:
    result = await crawler.crawl()
    if collector is not None:
        result = attrs.evolve(result, items=collector.items)
    return result


async def crawl(
    spider_cls: type[Spider],
    settings: Mapping[str, Any] | None = None,
    outputs: Iterable[str] = (),
    plugins: Iterable[str | object] = (),
    state_dir: str | None = None,
    return_items: bool = False,
    **spider_args: Any,
) -> CrawlResult:
    """Crawl with ``spider_cls`` in the running event loop, to the end.

    Returns a :class:`~acrawl.crawler.CrawlResult`: ``.reason`` (``"finished"``,
    ``"max_pages"``, ...), ``.stats`` and, with ``return_items=True``, ``.items`` (the items
    written, as dicts). A bad setting, spider argument or output raises
    :class:`acrawl.ConfigError` before anything is fetched. Cancelling the task stops the
    crawl (outputs and ``state_dir`` are closed properly).
    """
    crawler, collector = _prepare(spider_cls, settings, outputs, plugins, state_dir,
                                  return_items, spider_args)
    return await _run(crawler, collector)


def run(
    spider_cls: type[Spider],
    settings: Mapping[str, Any] | None = None,
    outputs: Iterable[str] = (),
    plugins: Iterable[str | object] = (),
    state_dir: str | None = None,
    return_items: bool = False,
    **spider_args: Any,
) -> CrawlResult:
    """Crawl with ``spider_cls`` in a new event loop (uvloop when installed) and return its
    result, as :func:`crawl` does; blocks until the crawl ends.

    Ctrl-C (or SIGTERM) stops it as ``acrawl-run`` does: the requests in flight finish and
    their items are written (a second signal stops at once); the result's reason is then
    ``"interrupted"``, and with ``state_dir`` the same call resumes the crawl. Called while
    an event loop is running (in async code, in a notebook) it raises ``RuntimeError``: use
    ``await acrawl.crawl(...)`` there.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("acrawl.run() cannot be called while an asyncio event loop is "
                           "running (in async code or a notebook): use "
                           "'await acrawl.crawl(...)' there")
    crawler, collector = _prepare(spider_cls, settings, outputs, plugins, state_dir,
                                  return_items, spider_args)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_with_signals(crawler, collector))


async def _with_signals(crawler: Crawler, collector: _ItemCollector | None) -> CrawlResult:
    with stop_on_signals(crawler):
        return await _run(crawler, collector)


#: seconds the event loop may take to answer a second signal before it is taken to be blocked
#: (a sync callback or pipeline that does not return) and the blocking code is interrupted
BLOCKED_AFTER = 1.0


@contextlib.contextmanager
def stop_on_signals(crawler: Crawler) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop ``crawler`` while the block runs, in the running event loop:
    the first signal stops it gracefully (the requests in flight finish, their items are
    written and ``--state`` is saved; the result's reason is ``"interrupted"``), a second one
    stops it at once. The handlers are removed afterwards. Outside the main thread, or where
    the loop has no signal handlers, the default handlers stay (Ctrl-C raises
    ``KeyboardInterrupt``).

    A signal reaches the loop only when the loop runs: while user code blocks it
    (``time.sleep`` in a sync pipeline) a second signal would wait as long. So each signal
    is also seen at once by a Python-level handler (which runs in the main thread even then);
    from the second on, if the loop has not answered within :data:`BLOCKED_AFTER` seconds,
    the blocking code is interrupted with ``KeyboardInterrupt`` (what was written is kept;
    ``acrawl-run`` exits 130). No cost until a signal arrives.

    The one place both front ends handle signals: ``acrawl.run`` and ``acrawl-run``."""
    loop = asyncio.get_running_loop()
    received = 0
    answered = threading.Condition()
    delivered = 0
    interrupt = False
    active = True
    main = threading.get_ident()

    def on_signal(signum: int) -> None:  # in the event loop
        nonlocal received
        with answered:
            received += 1
            answered.notify_all()
        if received == 1:
            _signal_logger.warning("%s: finishing requests in flight and saving; again to stop "
                                   "now", signal.Signals(signum).name)
            crawler.stop()
        else:
            _signal_logger.warning("stopping now")
            crawler.stop(force=True)

    def watch(count: int) -> None:  # in a thread: did the loop answer signal ``count``?
        nonlocal interrupt
        with answered:
            if answered.wait_for(lambda: received >= count, BLOCKED_AFTER) or not active:
                return
        _signal_logger.warning("the event loop is blocked (a callback, middleware or pipeline "
                               "that does not return): interrupting it")
        interrupt = True
        with contextlib.suppress(OSError, ValueError):
            signal.pthread_kill(main, signal.SIGINT)

    def on_delivery(signum: int, frame: Any) -> None:  # Python-level, main thread, at once
        nonlocal delivered, interrupt
        if interrupt and active:
            interrupt = False
            raise KeyboardInterrupt
        chained = previous.get(signum)
        if callable(chained):
            chained(signum, frame)  # the loop's own (it wakes the loop up)
        delivered += 1
        if delivered >= 2:
            threading.Thread(target=watch, args=(delivered,), daemon=True,
                             name="acrawl-signal-watch").start()

    installed = []
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        # not in the main thread (or not on this platform): the default handlers stay
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
            previous[sig] = signal.getsignal(sig)
            signal.signal(sig, on_delivery)  # the loop's wakeup fd stays: both are told
    try:
        yield
    finally:
        active = False
        for sig in installed:
            loop.remove_signal_handler(sig)


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
