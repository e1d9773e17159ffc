"""Fixtures building each frontier backend (``frontier_support.Backend``): memory, SQLite
(``--state``, in a tmp dir) and Redis (``--frontier``, against the session's real
``redis-server`` on a loopback port; see ``tests/redis_support.py``: skipped without the
binary, a failure in CI)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from frontier_support import ALL, DURABLE, Backend, ContractSpider

from acrawl.frontier.memory import MemoryDupeFilter, MemoryQueue
from acrawl.frontier.politeness import Politeness
from acrawl.frontier.sqlite import SqliteState

MakeBackend = Callable[[str], Awaitable[Backend]]


@pytest.fixture
async def make_backend(request: pytest.FixtureRequest,
                       tmp_path: Path) -> AsyncIterator[MakeBackend]:
    """``await make_backend("sqlite")``: a fresh backend; all are closed after the test."""
    closers: list[Callable[[], Awaitable[None]]] = []
    spider = ContractSpider()

    async def memory() -> Backend:
        queue, dupefilter = MemoryQueue(), MemoryDupeFilter()

        async def close() -> None:
            await queue.close()
            await dupefilter.close()

        closers.append(close)
        return Backend("memory", queue, dupefilter, spider, stores=False)

    async def sqlite() -> Backend:
        state = SqliteState.open_dir(tmp_path / "state", spider)

        async def close() -> None:
            state.close()

        closers.append(close)

        async def restart() -> Backend:
            state.close()  # as a killed process leaves it: leases still marked
            return await sqlite()

        return Backend("sqlite", state.queue, state.dupefilter, spider, stores=True,
                       restart=restart)

    async def redis() -> Backend:
        from acrawl.frontier.redis import RedisFrontier

        url = request.getfixturevalue("redis_url")
        # no politeness of the backend's own in the way: every claim granted is served
        frontier = RedisFrontier(url=url, prefix="acrawl:contract:", spider=spider,
                                 politeness=Politeness(per_host=1000))
        closers.append(frontier.close)

        async def restart() -> Backend:
            await frontier.close()  # the worker leaves; another one starts
            return await redis()

        return Backend("redis", frontier.queue, frontier.dupefilter, spider, stores=True,
                       restart=restart)

    factories = {"memory": memory, "sqlite": sqlite, "redis": redis}

    async def make(name: str) -> Backend:
        return await factories[name]()

    yield make
    for close in reversed(closers):
        await close()


@pytest.fixture(params=ALL)
async def backend(request: pytest.FixtureRequest, make_backend: MakeBackend) -> Backend:
    """Each backend in turn."""
    return await make_backend(request.param)


@pytest.fixture(params=DURABLE)
async def durable(request: pytest.FixtureRequest, make_backend: MakeBackend) -> Backend:
    """Each backend that stores requests outside the process."""
    return await make_backend(request.param)
