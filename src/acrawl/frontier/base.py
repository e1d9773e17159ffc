"""The frontier contract: the request queue and the dedup filter, as two abstract base classes.

The scheduler (:mod:`acrawl.core.scheduler`) is the only caller; backends are chosen in
``crawler.py``: in memory (the default, ``frontier.memory``), durable on disk (``--state DIR``,
``frontier.sqlite``) or shared in Redis (``--frontier redis://``, ``frontier.redis``).

A backend implements the abstract methods; every optional capability is a method declared here
with a default that is right for a backend without it, so a caller never asks *whether* a
backend can do something, only what it answers. All I/O methods are async, so a backend may do
I/O, and batched, so a remote backend pays one round trip per batch. The same contract test
suite runs over every backend (``tests/frontier/test_contract.py``).

A minimal backend::

    class ListQueue(RequestQueue):
        def __init__(self) -> None:
            self.pending: list[Request] = []

        async def push(self, requests):
            self.pending += requests
            self.pending.sort(key=lambda r: -r.priority)  # stable: FIFO within a priority

        async def pop(self, limit, claim):
            taken = []
            for r in list(self.pending):
                if len(taken) < limit and claim(r.host):
                    self.pending.remove(r)
                    taken.append(r)
            return taken

        async def done(self, requests): ...
        async def size(self): return len(self.pending)
        async def close(self): self.pending.clear()
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from ..errors import SerializationError

if TYPE_CHECKING:
    from ..http import Request

__all__ = ["DupeFilter", "RequestQueue", "report_invalid"]

#: ``on_invalid(request, error)``: told about a request a backend cannot store
OnInvalid = Callable[["Request", Exception], None]


class DupeFilter(abc.ABC):
    """Remembers request fingerprints (16-byte digests from :func:`acrawl.urls.fingerprint`)."""

    @abc.abstractmethod
    async def add(self, fingerprints: Sequence[bytes]) -> list[bool]:
        """Record ``fingerprints``; for each, ``True`` if it is new (the caller schedules its
        request), ``False`` if it was seen before (the caller drops the request as
        ``dropped/duplicate``). A fingerprint repeated within one batch is new only the first
        time; one answered new is never answered new again by this filter."""

    @abc.abstractmethod
    async def close(self) -> None:
        """The crawl is over; called once."""

    def stats(self) -> dict[str, int | float]:
        """Figures about this filter for the crawl's stats, read once at its end (the engine
        sets each as a stats value). The in-memory filter gives ``dedup_urls`` and
        ``dedup_bytes_per_url``; default: none."""
        return {}


class RequestQueue(abc.ABC):
    """Pending requests, by priority, grouped by host so politeness can skip busy hosts.

    A request is *pending* from :meth:`push` until :meth:`pop` takes it, then *in flight*
    until :meth:`done`. A durable or shared backend keeps in-flight requests until ``done``:
    after a crash they are pending again."""

    #: Other processes add to and take from this queue (the shared Redis frontier): the engine
    #: then takes requests in batches (one round trip for many) rather than one by one, and
    #: an idle engine asks :meth:`pop` again every :attr:`poll_interval` seconds, since another
    #: worker may add work at any time.
    shared: ClassVar[bool] = False

    @property
    def poll_interval(self) -> float | None:
        """Seconds an idle engine waits before asking :meth:`pop` again although nothing it
        knows of is due (``None``: never; only what this process adds or schedules wakes
        it). A shared queue returns when it expects work (a host's delay ending), at most a
        fraction of a second."""
        return None

    # -- required ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def push(self, requests: Sequence[Request]) -> None:
        """Add ``requests`` (already filtered, deduplicated and storable) to the queue."""

    @abc.abstractmethod
    async def pop(self, limit: int, claim: Callable[[str], bool]) -> list[Request]:
        """Take up to ``limit`` requests, highest priority first (FIFO per host within a
        priority; backends may take turns across hosts).

        ``claim(host)`` is asked before a request of ``host`` is taken: ``True`` reserves a
        politeness slot for it and the request is returned; ``False`` means the host is busy
        or waiting out its delay, so its requests stay queued, in order, and others are
        tried. Returns ``[]`` when nothing is ready; the caller then waits for a release, a
        host's delay, a new request or :attr:`poll_interval`. A shared backend also enforces
        the politeness it was given across all workers, so it may return fewer than ``limit``
        although ``claim`` granted every one. Each returned request is in flight until
        :meth:`done`; its caller calls :meth:`release` when its download ends.
        """

    @abc.abstractmethod
    async def done(self, requests: Sequence[Request]) -> None:
        """``requests`` (taken by :meth:`pop`) are finished and their items written: a durable
        or shared backend forgets them now (until then a crash returns them to the queue).
        A request that is not in flight (done already, or never taken) is ignored."""

    @abc.abstractmethod
    async def size(self) -> int:
        """Pending requests, not counting those this process has in flight. The crawl is
        over when this is 0 and nothing is in flight (a shared backend counts the requests
        other workers hold too, since they may yet yield new ones)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """The crawl is over (or stopping): let go of what this process holds — a shared
        backend hands its unfinished requests back to the queue. Safe to call twice."""

    # -- optional, with defaults --------------------------------------------------------------
    def encode(self, request: Request) -> bytes | None:
        """``request`` as this backend stores it, raising
        :class:`~acrawl.errors.SerializationError` if it cannot be stored (a callback that is
        not a spider method, ``meta`` that is not JSON data): the caller reports it
        (``errors/unstorable_request``) and drops it *before* dedup, so it is not marked as
        seen. Default: ``None``, the request is kept as the object itself, so every request
        can be stored."""
        return None

    async def add_unseen(
        self,
        requests: Sequence[Request],
        fingerprints: Sequence[bytes | None],
        dupefilter: DupeFilter,
        on_invalid: OnInvalid | None = None,
    ) -> list[Request]:
        """Queue those of ``requests`` not seen before and return them, in order; the caller
        counts the others as duplicates and reports each returned one as scheduled.

        ``fingerprints[i]`` is the fingerprint of ``requests[i]``, or ``None`` for a request
        that skips dedup (``dont_filter``, which is always queued). A request :meth:`encode`
        refuses goes to ``on_invalid(request, error)`` (without one, the error is raised) and
        is neither marked seen nor queued.

        Default: :meth:`encode` each request, record the fingerprints of the storable ones in
        ``dupefilter`` in one batch, :meth:`push` the new ones. A backend whose queue and dedup
        are one store (SQLite, Redis) dedups against that store instead, in one step (a
        transaction, one script), so a crash cannot leave a request seen but not queued.
        """
        invalid: list[tuple[Request, Exception]] = []
        valid: list[Request] = []
        fps: list[bytes | None] = []
        for request, fp in zip(requests, fingerprints, strict=True):
            try:
                self.encode(request)
            except SerializationError as exc:
                invalid.append((request, exc))
                continue
            valid.append(request)
            fps.append(fp)
        report_invalid(invalid, on_invalid)
        check = [fp for fp in fps if fp is not None]
        flags = iter(await dupefilter.add(check) if check else ())
        accepted = [r for r, fp in zip(valid, fps, strict=True) if fp is None or next(flags)]
        if accepted:
            await self.push(accepted)
        return accepted

    async def requeue(self, requests: Sequence[Request], replaced: Sequence[Request]) -> None:
        """Queue ``requests`` (retries, outside dedup) and forget the in-flight attempts they
        ``replaced``. Default: :meth:`push` then :meth:`done`; a durable backend does both in
        one transaction, so a crash in between cannot queue a page twice."""
        await self.push(requests)
        await self.done(replaced)

    def release(self, request: Request) -> None:
        """The download of ``request`` (taken by :meth:`pop`) ended; its host slot is free.
        Called once per taken request, before :meth:`done`, and must not block. Default:
        nothing (slots are the caller's); a shared backend frees the slot for every worker."""
        return None

    async def count_page(self, limit: int) -> int | None:
        """Count a page that is about to reach its callback against ``max_pages = limit``.

        Returns the page's number in the whole crawl (``1..limit``: the caller crawls it), or
        ``0`` if ``limit`` pages are counted already (the caller drops it and stops the
        crawl). Default: ``None`` -- this backend does not count pages, the engine counts
        its own. A shared backend counts for all workers and runs together."""
        return None


def report_invalid(invalid: Sequence[tuple[Request, Exception]],
                   on_invalid: OnInvalid | None) -> None:
    """For an ``add_unseen``: hand the requests a backend could not store to ``on_invalid``
    (raise the first error without one)."""
    for request, error in invalid:
        if on_invalid is None:
            raise error
        on_invalid(request, error)
