"""The in-memory frontier backends (the default): ``MemoryQueue`` and ``MemoryDupeFilter``.

Both implement the interfaces of :mod:`acrawl.frontier.base`; a crawl without ``--state`` or
``--frontier`` keeps its queue and its seen fingerprints here, compactly.
"""

from __future__ import annotations

import heapq
import itertools
import struct
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from ..http import Request
from .base import DupeFilter, OnInvalid, RequestQueue

__all__ = ["MemoryDupeFilter", "MemoryQueue"]


class MemoryDupeFilter(DupeFilter):
    """Fingerprints in a compact open-addressing hash table: 8 bytes of each 16-byte digest in
    an ``array('Q')`` kept between 1/3 and 2/3 full, so about 16-24 bytes per URL (a Python
    ``set`` of ``bytes`` costs ~100). Two URLs collide with probability ~n²/2⁶⁵
    (3·10⁻⁸ at a million URLs)."""

    _MIN_CAPACITY = 1 << 10

    def __init__(self) -> None:
        self._table = array("Q", bytes(8 * self._MIN_CAPACITY))
        self._mask = self._MIN_CAPACITY - 1
        self._count = 0

    def _insert(self, key: int) -> bool:
        table, mask = self._table, self._mask
        i = (key ^ (key >> 29)) & mask
        while True:
            slot = table[i]
            if slot == 0:
                table[i] = key
                return True
            if slot == key:
                return False
            i = (i + 1) & mask

    def _grow(self) -> None:
        old = self._table
        capacity = len(old) * 2
        self._table = array("Q", bytes(8 * capacity))
        self._mask = capacity - 1
        for key in old:
            if key:
                self._insert(key)

    async def add(self, fingerprints: Sequence[bytes]) -> list[bool]:
        out = []
        table, mask = self._table, self._mask
        for fp in fingerprints:  # _insert, inlined: this runs once per extracted link
            key = int.from_bytes(fp[:8], "little") or 1
            i = (key ^ (key >> 29)) & mask
            while True:
                slot = table[i]
                if slot == key:
                    out.append(False)
                    break
                if slot == 0:
                    table[i] = key
                    out.append(True)
                    self._count += 1
                    if self._count * 3 > len(table) * 2:
                        self._grow()
                        table, mask = self._table, self._mask
                    break
                i = (i + 1) & mask
        return out

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Bytes held by the table."""
        return self._table.itemsize * len(self._table)

    def stats(self) -> dict[str, int | float]:
        """``dedup_urls`` and ``dedup_bytes_per_url`` (the table's size over the URLs seen)."""
        if not self._count:
            return {}
        return {"dedup_urls": self._count,
                "dedup_bytes_per_url": round(self.nbytes / self._count, 1)}

    async def close(self) -> None:
        return None


_HEADER = struct.Struct("<HBBI")  # depth, callback index, flags, referer id
_DONT_FILTER = 1


class _Interned:
    """A reference-counted table of values, so pending requests store small integers."""

    __slots__ = ("_free", "ids", "values")

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.values: dict[int, list[Any]] = {}
        self._free: list[int] = []

    def ref(self, value: Any) -> int:
        i = self.ids.get(value)
        if i is None:
            i = self.ids[value] = self._free.pop() if self._free else len(self.values) + 1
            self.values[i] = [value, 0]
        self.values[i][1] += 1
        return i

    def unref(self, i: int) -> Any:
        entry = self.values[i]
        entry[1] -= 1
        if entry[1] == 0:
            del self.values[i]
            del self.ids[entry[0]]
            self._free.append(i)
        return entry[0]


class _Host:
    __slots__ = ("queues", "tick")

    def __init__(self) -> None:
        self.queues: dict[int, deque[bytes | Request]] = {}
        self.tick = 0  # the tick of this host's valid marker in the ready heap

    def best(self) -> int:
        return max(self.queues)


class MemoryQueue(RequestQueue):
    """Pending requests in memory, compactly.

    Per host, one FIFO per priority; across hosts, a heap of each host's best priority, with
    round-robin among hosts of equal priority (one busy host cannot starve the others).
    A plain request (GET, no headers/body/meta/cb_kwargs/errback/cookies) is stored as one ``bytes``
    (URL plus an 8-byte header; referer and callback interned), about 100 bytes, and rebuilt
    on ``pop``; any other request is kept as the object itself.
    """

    def __init__(self) -> None:
        self._hosts: dict[str, _Host] = {}
        self._heap: list[tuple[int, int, str]] = []
        self._ticks = itertools.count(1)
        self._size = 0
        self._prio_of: dict[str, int] = {}  # each host's priority in its valid marker
        self._callbacks = _Interned()
        self._referers = _Interned()

    # -- packing --------------------------------------------------------------------------------
    def _pack(self, req: Request) -> bytes | Request:
        if (req.method != "GET" or req.headers or req.body or req.meta or req.cb_kwargs
                or req.errback is not None or req.retries or req.redirects or req.depth > 65535
                or req.cookies):
            return req
        cb = req.callback
        try:
            cb_id = self._callbacks.ref(cb) if cb is not None else 0
        except TypeError:  # unhashable callback
            return req
        if cb_id > 255:
            self._callbacks.unref(cb_id)
            return req
        ref_id = self._referers.ref(req.referer) if req.referer else 0
        flags = _DONT_FILTER if req.dont_filter else 0
        return _HEADER.pack(req.depth, cb_id, flags, ref_id) + req.url.encode(
            "utf-8", "surrogatepass")

    def _unpack(self, entry: bytes | Request, priority: int) -> Request:
        if not isinstance(entry, bytes):
            return entry
        depth, cb_id, flags, ref_id = _HEADER.unpack_from(entry)
        return Request(
            entry[_HEADER.size:].decode("utf-8", "surrogatepass"),
            self._callbacks.unref(cb_id) if cb_id else None,
            priority=priority,
            dont_filter=bool(flags & _DONT_FILTER),
            depth=depth,
            referer=self._referers.unref(ref_id) if ref_id else None,
        )

    # -- the interface --------------------------------------------------------------------------
    async def push(self, requests: Sequence[Request]) -> None:
        hosts = self._hosts
        for req in requests:
            key = req.host
            host = hosts.get(key)
            if host is None:
                host = hosts[key] = _Host()
            prio = req.priority
            q = host.queues.get(prio)
            if q is None:
                q = host.queues[prio] = deque()
            q.append(self._pack(req))
            if host.tick == 0 or prio > self._marker_prio(key):
                self._mark(key, host)
        self._size += len(requests)

    def _marker_prio(self, key: str) -> int:
        return self._prio_of.get(key, -(1 << 62))

    def _mark(self, key: str, host: _Host) -> None:
        host.tick = next(self._ticks)
        best = host.best()
        self._prio_of[key] = best
        heapq.heappush(self._heap, (-best, host.tick, key))

    async def pop(self, limit: int, claim: Callable[[str], bool]) -> list[Request]:
        out: list[Request] = []
        busy: list[tuple[int, int, str]] = []
        hosts, heap = self._hosts, self._heap
        while heap and len(out) < limit:
            marker = heapq.heappop(heap)
            key = marker[2]
            host = hosts.get(key)
            if host is None or host.tick != marker[1]:
                continue  # stale marker
            if not claim(key):
                busy.append(marker)
                if len(busy) > 1024:
                    break
                continue
            prio = -marker[0]
            q = host.queues[prio]
            out.append(self._unpack(q.popleft(), prio))
            if not q:
                del host.queues[prio]
            if host.queues:
                self._mark(key, host)  # to the back of its priority: round-robin
            else:
                del hosts[key]
                self._prio_of.pop(key, None)
        for marker in busy:
            heapq.heappush(heap, marker)
        self._size -= len(out)
        return out

    async def add_unseen(
        self,
        requests: Sequence[Request],
        fingerprints: Sequence[bytes | None],
        dupefilter: DupeFilter,
        on_invalid: OnInvalid | None = None,
    ) -> list[Request]:
        """As the default, without its :meth:`encode` pass: requests are kept as objects, so
        every one can be stored (this runs once per extracted link)."""
        if None not in fingerprints:  # the common case: every request is checked
            new = await dupefilter.add(fingerprints)  # type: ignore[arg-type]
            accepted = list(itertools.compress(requests, new))
        else:  # dont_filter requests (no fingerprint) are always accepted
            check = [fp for fp in fingerprints if fp is not None]
            flags = iter(await dupefilter.add(check) if check else ())
            accepted = [r for r, fp in zip(requests, fingerprints, strict=True)
                        if fp is None or next(flags)]
        if accepted:
            await self.push(accepted)
        return accepted

    async def done(self, requests: Sequence[Request]) -> None:
        return None

    async def size(self) -> int:
        return self._size

    async def queued_by_host(self, hosts: Sequence[str]) -> dict[str, int]:
        """How many requests of each of ``hosts`` are pending (for the live view)."""
        out = {}
        for key in hosts:
            host = self._hosts.get(key)
            out[key] = sum(len(q) for q in host.queues.values()) if host is not None else 0
        return out

    def __len__(self) -> int:
        return self._size

    async def close(self) -> None:
        self._hosts.clear()
        self._heap.clear()

    def __repr__(self) -> str:
        return f"<MemoryQueue pending={self._size} hosts={len(self._hosts)}>"
