"""Item pipelines, in Scrapy's shape: ordered steps between a callback and the sinks.

>>> pipelines = ItemPipelines(slots, spider)
>>> await pipelines.open()
>>> item = await pipelines.process(item)    # None: dropped (DropItem) or failed
>>> await pipelines.close()

Each step has ``process_item(item, spider)``, sync or async, returning the item (changed or
not, or another one); raising :class:`~acrawl.errors.DropItem` drops it (counted as
``items/dropped``, not an error). Anything else a step raises is logged with its traceback,
counted (``errors/pipeline``), and drops that item; the crawl goes on. ``open_spider(spider)``
and ``close_spider(spider)``, sync or async, are called once each, if a step has them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ComponentError, DropItem
from .components import Slot, call_lifecycle, is_async

if TYPE_CHECKING:
    from ..spider import Spider

__all__ = ["ItemPipelines"]

logger = logging.getLogger(__name__)


class ItemPipelines:
    def __init__(
        self,
        slots: Sequence[Slot],
        spider: Spider,
        *,
        on_drop: Callable[[str, Any, DropItem], None] | None = None,
        on_error: Callable[[ComponentError], None] | None = None,
    ) -> None:
        self.slots = list(slots)
        self.spider = spider
        self._on_drop = on_drop
        self._on_error = on_error
        self._steps = [(s.name, s.component.process_item, is_async(s.component.process_item))
                       for s in self.slots if callable(getattr(s.component, "process_item", None))]
        self._opened: list[Slot] = []

    def __bool__(self) -> bool:
        return bool(self._steps)

    async def open(self) -> None:
        """``open_spider`` of each step, in order. A step that fails to open is a
        :class:`ComponentError` (the crawl does not start without its pipeline)."""
        for slot in self.slots:
            await self._call(slot, "open_spider")
            self._opened.append(slot)

    async def close(self) -> None:
        """``close_spider`` of each opened step; a failure is logged and the others still
        close."""
        for slot in self._opened:
            try:
                await self._call(slot, "close_spider")
            except ComponentError as exc:
                logger.error("%s", exc, exc_info=exc.wrapped)
                if self._on_error is not None:
                    self._on_error(exc)
        self._opened = []

    async def _call(self, slot: Slot, method: str) -> None:
        await call_lifecycle("pipeline", slot, method, self.spider)

    async def process(self, item: Any) -> Any | None:
        """``item`` after every step, or ``None`` if a step dropped it or failed."""
        spider = self.spider
        for name, func, asynchronous in self._steps:
            try:
                item = await func(item, spider) if asynchronous else func(item, spider)
                if inspect.isawaitable(item):
                    item = await item
            except DropItem as exc:
                if self._on_drop is not None:
                    self._on_drop(name, item, exc)
                return None
            except Exception as exc:
                error = ComponentError(f"pipeline {name!r} process_item raised "
                                       f"{type(exc).__name__}: {exc}", component=name,
                                       wrapped=exc)
                logger.error("%s; item dropped", error, exc_info=exc)
                if self._on_error is not None:
                    self._on_error(error)
                return None
            if item is None:
                error = ComponentError(f"pipeline {name!r} process_item returned None; "
                                       "return the item, or raise DropItem", component=name)
                logger.error("%s; item dropped", error)
                if self._on_error is not None:
                    self._on_error(error)
                return None
        return item
