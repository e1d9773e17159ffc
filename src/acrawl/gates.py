"""Gates: asynchronous checks a request passes just before it is downloaded.

``robots.txt`` is a gate. A plugin returns one from ``acrawl_open_gate``::

    class Gate(Protocol):
        async def check(self, request: Request) -> str | None   # None = go; str = drop reason
        def delay(self, host: str) -> float | None               # minimum delay for host
        async def close(self) -> None
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .http import Request

__all__ = ["Gate"]


@runtime_checkable
class Gate(Protocol):
    async def check(self, request: Request) -> str | None:
        """``None`` lets ``request`` be downloaded; a string drops it, counted under that name."""
        ...

    def delay(self, host: str) -> float | None:
        """A minimum delay between requests to ``host`` (Crawl-delay), or ``None``."""
        ...

    async def close(self) -> None: ...
