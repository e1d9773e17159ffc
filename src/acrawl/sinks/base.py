"""The ``Sink`` protocol: where items go.

A sink plugin implements ``acrawl_open_sink(uri, settings)`` and returns an object with::

    async def open(self) -> None            # create/claim the output; raise ConfigError if refused
    async def write(self, items: list) -> None   # a batch; durable when it returns
    async def close(self) -> None           # flush and release; called once, even after errors

The engine batches items (``item_batch_size``/``item_flush_interval``), converts attrs and
dataclass instances to dicts before ``write``, and always calls ``close`` on a clean or
interrupted stop, so no written item is lost.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Sink"]


@runtime_checkable
class Sink(Protocol):
    async def open(self) -> None: ...

    async def write(self, items: list[dict[str, Any]]) -> None: ...

    async def close(self) -> None: ...
