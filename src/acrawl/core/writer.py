"""The item writer: what the pipelines let through, batched to every sink; a finished
request is acknowledged (``queue.done``, or with ``--state`` one transaction with the sinks'
checkpoints) only after its items were written, so it is never ``done`` before its output is
safe. Built by the engine, which hands it the sinks and the commit step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..http import Request
    from ..sinks.base import Sink

__all__ = ["ItemWriter"]


class ItemWriter:
    """Batches items to every sink; acknowledges finished requests after their items are
    written, so a request is never ``done`` before its output is safe.

    ``commit(requests, sinks)`` is called after each batch reached the sinks: it marks the
    requests done (and, for a durable crawl, records the sinks' checkpoints atomically).

    A sink gets at most ``batch_size`` items per ``write``. When a write raises, the sink gets
    the batch again one item at a time; the items it still refuses are reported to
    ``on_bad_item``, so one bad item does not cost the others."""

    def __init__(
        self,
        *,
        sinks: list[Sink],
        batch_size: int,
        commit: Callable[[list[Request], list[Sink]], Any],
        on_error: Callable[[Sink, BaseException], None],
        on_bad_item: Callable[[Sink, dict[str, Any], BaseException], None] | None = None,
    ) -> None:
        self.sinks = sinks
        self.batch_size = batch_size
        self._commit = commit
        self._on_error = on_error
        self._on_bad_item = on_bad_item
        self._items: list[dict[str, Any]] = []
        self._acks: list[Request] = []
        self._lock = asyncio.Lock()
        self.written = 0

    async def add(self, items: list[dict[str, Any]], done: Request | None) -> None:
        self._items.extend(items)
        if done is not None:
            self._acks.append(done)
        if len(self._items) >= self.batch_size or len(self._acks) >= self.batch_size:
            await self.flush()

    async def flush(self) -> None:
        """Write what is buffered. Shielded: a cancelled caller (a forced stop) does not cut
        a batch in half; the write completes and the final flush waits for it."""
        await asyncio.shield(self._flush())

    async def _flush(self) -> None:
        async with self._lock:
            items, self._items = self._items, []
            acks, self._acks = self._acks, []
            size = self.batch_size
            for start in range(0, len(items), size):
                await self._write(items[start:start + size])
            if acks or items:
                await self._commit(acks, self.sinks)

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        for sink in self.sinks:
            try:
                await sink.write(batch)
            except Exception as exc:
                await self._write_singly(sink, batch, exc)
        self.written += len(batch)

    async def _write_singly(self, sink: Sink, batch: list[dict[str, Any]],
                            exc: BaseException) -> None:
        """``sink`` refused ``batch``: give it the items one by one, so an item it cannot
        write (a circular reference, a value whose conversion raises) costs only itself. If it
        refuses them all, the sink is at fault, not the items."""
        if len(batch) == 1 or self._on_bad_item is None:
            self._on_error(sink, exc)
            return
        refused: list[tuple[dict[str, Any], BaseException]] = []
        for item in batch:
            try:
                await sink.write([item])
            except Exception as item_exc:
                refused.append((item, item_exc))
        if len(refused) == len(batch):
            self._on_error(sink, exc)
            return
        for item, why in refused:
            self._on_bad_item(sink, item, why)

    @property
    def buffered(self) -> int:
        """Items and finished requests waiting for the next flush."""
        return len(self._items) + len(self._acks)
