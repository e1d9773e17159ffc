"""The frontier: the request queue and the dedup filter, as two small interfaces.

The engine talks only to these protocols; backends are chosen in ``crawler.py``:
in memory (the default, here), durable on disk (``--state DIR``) or shared in Redis
(``--frontier redis://``). All methods are async so a backend may do I/O, and batched so a
remote backend pays one round trip per batch.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .http import Request

__all__ = ["DupeFilter", "MemoryDupeFilter", "MemoryQueue", "RequestQueue"]


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
        """Take up to ``limit`` requests, highest priority first (FIFO within a priority).

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


class MemoryDupeFilter:
    """Fingerprints in a Python set."""

    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    async def add(self, fingerprints: Sequence[bytes]) -> list[bool]:
        seen = self._seen
        out = []
        for fp in fingerprints:
            if fp in seen:
                out.append(False)
            else:
                seen.add(fp)
                out.append(True)
        return out

    def __len__(self) -> int:
        return len(self._seen)

    async def close(self) -> None:
        self._seen.clear()


class MemoryQueue:
    """Per-host priority heaps plus a heap of each host's head, so ``pop`` is O(log n)
    per request and a busy host is skipped without scanning its requests."""

    def __init__(self) -> None:
        self._hosts: dict[str, list[tuple[int, int, Request]]] = {}
        self._heads: list[tuple[int, int, str]] = []
        self._seq = itertools.count()
        self._size = 0

    async def push(self, requests: Sequence[Request]) -> None:
        hosts, heads, seq = self._hosts, self._heads, self._seq
        for req in requests:
            host = req.host
            entry = (-req.priority, next(seq), req)
            q = hosts.get(host)
            if q is None:
                q = hosts[host] = []
            heapq.heappush(q, entry)
            if q[0] is entry:
                heapq.heappush(heads, (entry[0], entry[1], host))
        self._size += len(requests)

    async def pop(self, limit: int, claim: Callable[[str], bool]) -> list[Request]:
        out: list[Request] = []
        busy: list[tuple[int, int, str]] = []
        hosts, heads = self._hosts, self._heads
        while heads and len(out) < limit:
            marker = heapq.heappop(heads)
            host = marker[2]
            q = hosts.get(host)
            if not q or q[0][1] != marker[1]:
                continue  # stale marker: the host's head changed since
            if not claim(host):
                busy.append(marker)
                if len(busy) > 1024:
                    break
                continue
            out.append(heapq.heappop(q)[2])
            if q:
                heapq.heappush(heads, (q[0][0], q[0][1], host))
            else:
                del hosts[host]
        for marker in busy:
            heapq.heappush(heads, marker)
        self._size -= len(out)
        return out

    async def done(self, requests: Sequence[Request]) -> None:
        return None

    async def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return self._size

    async def close(self) -> None:
        self._hosts.clear()
        self._heads.clear()

    def __repr__(self) -> str:
        return f"<MemoryQueue pending={self._size} hosts={len(self._hosts)}>"


