"""Gates: asynchronous checks a request passes just before it is downloaded.

``robots.txt`` is a gate. A plugin returns one from ``acrawl_open_gate``::

    class Gate(Protocol):
        async def check(self, request: Request) -> str | None   # None = go; str = drop reason
        def delay(self, host: str) -> float | None               # minimum delay for host
        async def close(self) -> None
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import IgnoreRequest

if TYPE_CHECKING:
    from .http import Request

__all__ = ["Gate", "GateMiddleware"]


@runtime_checkable
class Gate(Protocol):
    async def check(self, request: Request) -> str | None:
        """``None`` lets ``request`` be downloaded; a string drops it, counted under that name."""
        ...

    def delay(self, host: str) -> float | None:
        """A minimum delay between requests to ``host`` (Crawl-delay), or ``None``."""
        ...

    async def close(self) -> None: ...


class GateMiddleware:
    """A gate in the middleware chain: ``process_request`` asks the gate and raises
    :class:`~acrawl.errors.IgnoreRequest` with its reason (``filtered/<reason>``). Its name is
    the gate's ``name`` (``"robots"``), else the gate's class name."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        name = getattr(gate, "name", None)
        self.name = name if isinstance(name, str) and name else type(gate).__name__

    async def process_request(self, request: Request, spider: Any) -> None:
        reason = await self.gate.check(request)
        if reason:
            raise IgnoreRequest(f"not fetched ({reason}): {request.url}", request, reason)
