"""The frontier contract: the request queue and the dedup filter, as two small interfaces.

The engine talks only to these protocols; backends are chosen in ``crawler.py``:
in memory (the default, ``frontier.memory``), durable on disk (``--state DIR``,
``frontier.sqlite``) or shared in Redis (``--frontier redis://``, ``frontier.redis``). All
methods are async so a backend may do I/O, and batched so a remote backend pays one round trip
per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..http import Request

__all__ = ["DupeFilter", "RequestQueue", "report_invalid"]


@runtime_checkable
class DupeFilter(Protocol):
    """Remembers request fingerprints (16-byte digests from :func:`acrawl.urls.fingerprint`)."""

    async def add(self, fingerprints: Sequence[bytes]) -> list[bool]:
        """Record ``fingerprints``; for each, ``True`` if it was new (schedule the request),
        ``False`` if already seen (drop it as a duplicate). A fingerprint repeated within one
        batch is new only the first time."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class RequestQueue(Protocol):
    """Pending requests, by priority, grouped by host so politeness can skip busy hosts."""

    async def push(self, requests: Sequence[Request]) -> None:
        """Add ``requests`` (already filtered and deduplicated) to the queue."""
        ...

    async def pop(self, limit: int, claim: Callable[[str], bool]) -> list[Request]:
        """Take up to ``limit`` requests, highest priority first (FIFO per host within a
        priority; backends may take turns across hosts).

        ``claim(host)`` is asked before a request of ``host`` is taken: ``True`` reserves a
        politeness slot for it and the request is returned; ``False`` means the host is busy
        or waiting out its delay, so its requests stay queued and others are tried. Returns
        ``[]`` when nothing is ready. A taken request is *in flight* until :meth:`done`.
        """
        ...

    async def done(self, requests: Sequence[Request]) -> None:
        """``requests`` are finished (their items are written); a durable or shared backend
        forgets them now. Until then a crash returns them to the queue."""
        ...

    async def size(self) -> int:
        """Pending requests (not counting those in flight)."""
        ...

    async def close(self) -> None: ...

    # Optional, for shared backends:
    #   poll_interval: float            -- how often an idle engine asks pop() again, since
    #                                      other workers may add requests
    #   def release(request) -> None    -- the download of a taken request finished (free the
    #                                      host slot everywhere); must not block
    #   def encode(request) -> bytes    -- raise SerializationError for a request it cannot
    #                                      store (checked before dedup)
    #   async def add_unseen(requests, fingerprints, on_invalid) -> list[Request]
    #                                   -- dedup and push in one step (a transaction, or only
    #                                      new requests encoded); None fingerprint: dont_filter
    #   async def count_page(limit) -> int -- count a page about to reach a callback against
    #                                      max_pages for the whole crawl (all workers): its
    #                                      number, or 0 if ``limit`` are counted already


def report_invalid(invalid: Sequence[tuple[Request, Exception]],
                   on_invalid: Callable[[Request, Exception], None] | None) -> None:
    """For an ``add_unseen``: hand the requests a backend could not store to ``on_invalid``
    (raise the first error without one)."""
    for request, error in invalid:
        if on_invalid is None:
            raise error
        on_invalid(request, error)
