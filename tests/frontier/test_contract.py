"""The frontier contract (acrawl.frontier.base: RequestQueue and DupeFilter), one suite over
every backend: memory, SQLite (``--state``) and Redis (``--frontier``, a real redis-server on
a loopback port). What a backend alone does beyond the contract is tested next to it
(tests/frontier/test_memory.py, tests/frontier/state, tests/frontier/redis)."""

from __future__ import annotations

from typing import Any

import pytest
from frontier_support import Backend

from acrawl.core.scheduler import Scheduler
from acrawl.errors import SerializationError
from acrawl.frontier.base import DupeFilter, RequestQueue
from acrawl.frontier.politeness import Politeness
from acrawl.http import Request
from acrawl.urls import fingerprint


def always(host: str) -> bool:
    return True


def urls(requests: list[Request]) -> list[str]:
    return [r.url for r in requests]


def fps(*requests: Request) -> list[bytes | None]:
    return [None if r.dont_filter else fingerprint(r) for r in requests]


async def add(backend: Backend, *requests: Request, on_invalid: Any = None) -> list[Request]:
    return await backend.queue.add_unseen(requests, fps(*requests), backend.dupefilter,
                                          on_invalid)


# -- the interfaces --------------------------------------------------------------------------------


async def test_backends_implement_the_interfaces(backend: Backend) -> None:
    assert isinstance(backend.queue, RequestQueue)
    assert isinstance(backend.dupefilter, DupeFilter)
    poll = backend.queue.poll_interval
    if backend.queue.shared:  # others add work: an idle engine asks again soon
        assert poll is not None and 0 < poll <= 0.2
    else:
        assert poll is None
    assert isinstance(backend.dupefilter.stats(), dict)


# -- push and pop ----------------------------------------------------------------------------------


async def test_pop_by_priority_then_fifo(backend: Backend) -> None:
    q = backend.queue
    await q.push([Request("http://a.test/low1", priority=-1), Request("http://a.test/mid1"),
                  Request("http://a.test/high1", priority=5), Request("http://a.test/mid2")])
    await q.push([Request("http://a.test/mid3"), Request("http://a.test/high2", priority=5),
                  Request("http://a.test/low2", priority=-1)])
    assert await q.size() == 7
    assert urls(await q.pop(3, always)) == [
        "http://a.test/high1", "http://a.test/high2", "http://a.test/mid1"]
    assert await q.size() == 4
    assert urls(await q.pop(10, always)) == [
        "http://a.test/mid2", "http://a.test/mid3", "http://a.test/low1", "http://a.test/low2"]
    assert await q.size() == 0
    assert await q.pop(10, always) == []


async def test_priority_is_global_across_hosts(backend: Backend) -> None:
    q = backend.queue
    await q.push([Request("http://a.test/low", priority=-1), Request("http://b.test/mid"),
                  Request("http://c.test/high", priority=5), Request("http://a.test/mid"),
                  Request("http://c.test/low", priority=-1), Request("http://b.test/high",
                                                                     priority=5)])
    got = await q.pop(100, always)
    assert [r.priority for r in got] == [5, 5, 0, 0, -1, -1]
    assert set(urls(got[:2])) == {"http://c.test/high", "http://b.test/high"}
    assert set(urls(got[2:4])) == {"http://a.test/mid", "http://b.test/mid"}
    assert set(urls(got[4:])) == {"http://a.test/low", "http://c.test/low"}


async def test_pop_respects_limit(backend: Backend) -> None:
    q = backend.queue
    await q.push([Request(f"http://a.test/{i}") for i in range(5)])
    assert urls(await q.pop(2, always)) == ["http://a.test/0", "http://a.test/1"]
    assert await q.pop(0, always) == []
    assert await q.size() == 3
    assert urls(await q.pop(10, always)) == [f"http://a.test/{i}" for i in (2, 3, 4)]


async def test_a_refused_claim_keeps_the_hosts_requests_queued_in_order(
        backend: Backend) -> None:
    q = backend.queue
    await q.push([Request("http://busy.test/1", priority=10),
                  Request("http://busy.test/2", priority=10),
                  Request("http://free.test/1"), Request("http://free.test/2")])
    asked: list[str] = []

    def claim(host: str) -> bool:
        asked.append(host)
        return host != "busy.test"

    assert urls(await q.pop(10, claim)) == ["http://free.test/1", "http://free.test/2"]
    assert "busy.test" in asked
    assert await q.size() == 2
    assert urls(await q.pop(10, always)) == ["http://busy.test/1", "http://busy.test/2"]


async def test_claim_is_asked_for_each_request(backend: Backend) -> None:
    """A host granted one slot gives one request; the rest wait for the next pop."""
    q = backend.queue
    await q.push([Request(f"http://a.test/{i}") for i in range(3)]
                 + [Request("http://b.test/0")])
    slots = {"a.test": 1, "b.test": 1}

    def claim(host: str) -> bool:
        if slots[host] <= 0:
            return False
        slots[host] -= 1
        return True

    assert sorted(urls(await q.pop(10, claim))) == ["http://a.test/0", "http://b.test/0"]
    assert await q.size() == 2
    assert urls(await q.pop(10, always)) == ["http://a.test/1", "http://a.test/2"]


async def test_claim_is_asked_with_the_host_key(backend: Backend) -> None:
    """The politeness key is ``host[:port]``: case and default ports folded, others apart."""
    q = backend.queue
    await q.push([Request("http://A.test:80/1"), Request("http://a.test/2"),
                  Request("http://a.test:8080/3")])
    asked: list[str] = []

    def claim(host: str) -> bool:
        asked.append(host)
        return True

    assert len(await q.pop(10, claim)) == 3
    assert sorted(set(asked)) == ["a.test", "a.test:8080"]


async def test_requests_come_back_with_every_field(backend: Backend) -> None:
    spider = backend.spider
    plain = Request("http://a.test/p", spider.parse, priority=3, dont_filter=True, depth=4,
                    referer="http://a.test/")
    rich = Request("http://a.test/r", spider.other, errback="other", method="POST",
                   body=b"\x00\xffx", headers={"X-H": "v"}, meta={"m": [1, "two"]},
                   cb_kwargs={"k": 2}, priority=3, depth=70000, retries=1, redirects=2)
    await backend.queue.push([plain, rich])
    back = await backend.queue.pop(10, always)
    assert len(back) == 2

    def fields(r: Request) -> tuple[Any, ...]:
        cb = r.callback if r.callback is None or isinstance(r.callback, str) else (
            r.callback.__name__)  # a storing backend gives callbacks back by name
        return (r.url, cb, r.errback, r.method, r.body, dict(r.headers), r.meta, r.cb_kwargs,
                r.priority, r.dont_filter, r.depth, r.retries, r.redirects, r.referer)

    assert [fields(r) for r in back] == [
        ("http://a.test/p", "parse", None, "GET", None, {}, {}, {}, 3, True, 4, 0, 0,
         "http://a.test/"),
        ("http://a.test/r", "other", "other", "POST", b"\x00\xffx", {"X-H": "v"},
         {"m": [1, "two"]}, {"k": 2}, 3, False, 70000, 1, 2, None)]


# -- in flight, done, restart ----------------------------------------------------------------------


async def test_size_counts_pending_not_in_flight_and_done_forgets(backend: Backend) -> None:
    q = backend.queue
    await q.push([Request(f"http://a.test/{i}") for i in range(3)])
    taken = await q.pop(2, always)
    assert await q.size() == 1
    for r in taken:
        assert q.release(r) is None  # a download ended: never blocks
    await q.done(taken[:1])
    await q.done(taken)  # again for the first: ignored
    await q.done([Request("http://a.test/never-taken")])  # not in flight: ignored
    assert await q.size() == 1
    assert urls(await q.pop(10, always)) == ["http://a.test/2"]
    assert await q.pop(10, always) == []


async def test_unfinished_requests_survive_a_restart_and_done_ones_do_not(
        durable: Backend) -> None:
    await durable.queue.push([Request(f"http://a.test/{i}") for i in range(4)])
    taken = await durable.queue.pop(3, always)
    await durable.queue.done(taken[:1])
    assert durable.restart is not None
    again = await durable.restart()
    assert await again.queue.size() == 3
    assert sorted(urls(await again.queue.pop(10, always))) == [
        "http://a.test/1", "http://a.test/2", "http://a.test/3"]


async def test_requeue_queues_the_retry_and_forgets_the_attempt(backend: Backend) -> None:
    q = backend.queue
    await q.push([Request("http://a.test/x")])
    [attempt] = await q.pop(1, always)
    q.release(attempt)
    await q.requeue([attempt.replace(retries=1)], [attempt])
    assert await q.size() == 1
    [retry] = await q.pop(10, always)
    assert (retry.url, retry.retries) == ("http://a.test/x", 1)
    await q.done([retry])
    assert await q.size() == 0
    assert await q.pop(10, always) == []


async def test_requeue_is_once_after_a_restart(durable: Backend) -> None:
    await durable.queue.push([Request("http://a.test/x")])
    [attempt] = await durable.queue.pop(1, always)
    await durable.queue.requeue([attempt.replace(retries=1)], [attempt])
    assert durable.restart is not None
    again = await durable.restart()
    assert [(r.url, r.retries) for r in await again.queue.pop(10, always)] == [
        ("http://a.test/x", 1)]


async def test_a_closed_durable_queue_keeps_its_pending_requests(durable: Backend) -> None:
    await durable.queue.push([Request("http://a.test/1")])
    await durable.queue.close()
    await durable.queue.close()  # twice: safe
    await durable.dupefilter.close()
    assert durable.restart is not None
    again = await durable.restart()
    assert urls(await again.queue.pop(10, always)) == ["http://a.test/1"]


# -- dedup -----------------------------------------------------------------------------------------


async def test_a_fingerprint_is_new_once_within_and_across_batches(backend: Backend) -> None:
    df = backend.dupefilter
    a, b, c = b"\x00" * 16, b"\xff\x00\n\r" + b"\x00" * 12, bytes(range(16))
    assert await df.add([a, b, a]) == [True, True, False]
    assert await df.add([a, c, c, b]) == [False, True, False, False]
    assert await df.add([]) == []


async def test_add_unseen_queues_each_new_request_once(backend: Backend) -> None:
    first = await add(backend, Request("http://a.test/x?b=1&a=2"),
                      Request("http://a.test/x?a=2&b=1#frag"), Request("http://A.TEST/y"),
                      Request("http://a.test/y"))
    assert urls(first) == ["http://a.test/x?b=1&a=2", "http://A.TEST/y"]
    second = await add(backend, Request("http://a.test/y"), Request("http://a.test/z"))
    assert urls(second) == ["http://a.test/z"]
    assert await add(backend) == []
    assert await backend.queue.size() == 3


async def test_dont_filter_requests_skip_dedup(backend: Backend) -> None:
    assert len(await add(backend, Request("http://a.test/"))) == 1
    again = await add(backend, Request("http://a.test/", dont_filter=True),
                      Request("http://a.test/", dont_filter=True), Request("http://a.test/"))
    assert [r.dont_filter for r in again] == [True, True]
    assert await backend.queue.size() == 3
    # a dont_filter request does not mark its URL as seen
    fresh = Request("http://a.test/fresh")
    assert len(await add(backend, Request("http://a.test/fresh", dont_filter=True))) == 1
    assert urls(await add(backend, fresh)) == ["http://a.test/fresh"]


async def test_an_unstorable_request_is_reported_and_not_marked_seen(backend: Backend) -> None:
    unstorable = [Request("http://a.test/cb", callback=lambda r: None),
                  Request("http://a.test/meta", meta={"x": object()})]
    if not backend.stores:  # kept as objects: every request can be stored
        assert backend.queue.encode(unstorable[0]) is None
        assert len(await add(backend, *unstorable)) == 2
        return
    for r in unstorable:
        with pytest.raises(SerializationError):
            backend.queue.encode(r)
    assert isinstance(backend.queue.encode(Request("http://a.test/ok")), bytes)
    reported: list[tuple[str, type[Exception]]] = []
    accepted = await add(backend, Request("http://a.test/ok"), *unstorable,
                         on_invalid=lambda r, exc: reported.append((r.url, type(exc))))
    assert urls(accepted) == ["http://a.test/ok"]
    assert reported == [("http://a.test/cb", SerializationError),
                        ("http://a.test/meta", SerializationError)]
    # not marked seen: the same pages, storable now, are accepted
    assert len(await add(backend, Request("http://a.test/cb", callback="parse"),
                         Request("http://a.test/meta"))) == 2
    with pytest.raises(SerializationError):  # nobody to tell: raised
        await add(backend, Request("http://a.test/cb2", callback=lambda r: None))


# -- max_pages -------------------------------------------------------------------------------------


async def test_count_page_counts_for_the_crawl_or_leaves_it_to_the_engine(
        backend: Backend) -> None:
    counted = [await backend.queue.count_page(2) for _ in range(3)]
    if backend.queue.shared:  # the whole crawl's count, all workers
        assert counted == [1, 2, 0]
    else:
        assert counted == [None, None, None]


# -- through the scheduler -------------------------------------------------------------------------


async def test_the_scheduler_works_the_same_over_every_backend(backend: Backend) -> None:
    sched = Scheduler(queue=backend.queue, dupefilter=backend.dupefilter,
                      politeness=Politeness(per_host=1))
    invalid: list[str] = []
    accepted = await sched.add([
        Request("http://a.test/1"), Request("http://a.test/1#x"), Request("http://a.test/2"),
        Request("http://b.test/1"), Request("http://b.test/1", dont_filter=True),
    ], lambda r, exc: invalid.append(r.url))
    assert urls(accepted) == ["http://a.test/1", "http://a.test/2", "http://b.test/1",
                              "http://b.test/1"]
    assert invalid == []
    taken = {r.url: r for r in await sched.take(10)}  # one per host: per_host=1
    assert sorted(taken) == ["http://a.test/1", "http://b.test/1"]
    assert await sched.take(10) == []
    for r in taken.values():
        sched.release(r)
    attempt = taken["http://a.test/1"]
    sched.add_later(attempt.replace(retries=1), 0.0, replaces=attempt)  # a retry
    await sched.done([taken["http://b.test/1"]])
    assert await sched.pending() == 3
    order: list[tuple[str, int, bool]] = []
    while batch := await sched.take(10):
        order += sorted((r.url, r.retries, r.dont_filter) for r in batch)
        for r in batch:
            sched.release(r)
        await sched.done(batch)
    assert order == [("http://a.test/2", 0, False), ("http://b.test/1", 0, True),
                     ("http://a.test/1", 1, False)]  # the retry queued after a.test/2
    assert await sched.pending() == 0
