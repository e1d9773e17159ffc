"""The download-handler seam: what actually fetches a request.

The built-in handler is :class:`~acrawl.download.downloader.AiohttpDownloader`. A plugin's
``acrawl_download_handler`` hook may add handlers — a browser, an HTTP/2 client, a replay
cache, a test fixture — and :class:`HandlerRouter` gives each request to the first one that
``handles`` it, the built-in one otherwise::

    class Fixtures:
        def handles(self, request):
            return request.url.startswith("https://example.test/")
        async def fetch(self, request):
            return acrawl.Response(url=request.url, status=200, headers={}, body=b"<html>...",
                                   request=request)
        async def close(self):
            pass

The middleware chain, the callbacks and the size and safety limits on what comes back are
the same whoever fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..http import Request, Response

__all__ = ["DownloadHandler", "HandlerRouter"]


@runtime_checkable
class DownloadHandler(Protocol):
    async def fetch(self, request: Request) -> Response:
        """One exchange for ``request`` (no redirects followed); raise
        :class:`~acrawl.errors.DownloadError` (or a subclass) when it fails."""
        ...

    async def close(self) -> None: ...


class HandlerRouter:
    """The first of ``handlers`` whose ``handles(request)`` is true (no ``handles``: all)
    fetches the request; ``default`` fetches the rest."""

    def __init__(self, handlers: Sequence[DownloadHandler], default: DownloadHandler) -> None:
        self.handlers = list(handlers)
        self.default = default
        self._choosers = [(getattr(h, "handles", None), h) for h in self.handlers]

    async def fetch(self, request: Request) -> Response:
        for handles, handler in self._choosers:
            if handles is None or handles(request):
                return await handler.fetch(request)
        return await self.default.fetch(request)

    async def close(self) -> None:
        for handler in self.handlers:
            await handler.close()
        await self.default.close()
