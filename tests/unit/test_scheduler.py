"""acrawl.frontier.memory (MemoryQueue, MemoryDupeFilter) and acrawl.core.scheduler.Scheduler."""

from __future__ import annotations

import time

import pytest

from acrawl.core.scheduler import Scheduler
from acrawl.frontier.base import DupeFilter, RequestQueue
from acrawl.frontier.memory import MemoryDupeFilter, MemoryQueue
from acrawl.http import Request


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def always(host: str) -> bool:
    return True


def urls(requests: list[Request]) -> list[str]:
    return [r.url for r in requests]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_scheduler(clock: FakeClock, **kw: object) -> Scheduler:
    return Scheduler(queue=MemoryQueue(), dupefilter=MemoryDupeFilter(), clock=clock,
                     **kw)  # type: ignore[arg-type]


# -- MemoryQueue ---------------------------------------------------------------------------------


def test_memory_backends_implement_the_protocols() -> None:
    assert isinstance(MemoryQueue(), RequestQueue)
    assert isinstance(MemoryDupeFilter(), DupeFilter)


async def test_queue_pops_by_priority_then_fifo() -> None:
    q = MemoryQueue()
    await q.push([
        Request("http://a.test/low1", priority=-1),
        Request("http://a.test/mid1"),
        Request("http://a.test/high1", priority=5),
        Request("http://a.test/mid2"),
        Request("http://a.test/mid3"),
        Request("http://a.test/high2", priority=5),
        Request("http://a.test/low2", priority=-1),
    ])
    assert await q.size() == 7
    got = await q.pop(100, always)
    assert urls(got) == [
        "http://a.test/high1", "http://a.test/high2",
        "http://a.test/mid1", "http://a.test/mid2", "http://a.test/mid3",
        "http://a.test/low1", "http://a.test/low2",
    ]
    assert await q.size() == 0
    assert await q.pop(10, always) == []


async def test_queue_priority_is_global_across_hosts() -> None:
    q = MemoryQueue()
    await q.push([
        Request("http://a.test/low", priority=-1),
        Request("http://b.test/mid"),
        Request("http://c.test/high", priority=5),
        Request("http://a.test/mid"),
        Request("http://c.test/low", priority=-1),
        Request("http://b.test/high", priority=5),
    ])
    got = await q.pop(100, always)
    assert [r.priority for r in got] == [5, 5, 0, 0, -1, -1]
    assert set(urls(got[:2])) == {"http://c.test/high", "http://b.test/high"}
    assert set(urls(got[4:])) == {"http://a.test/low", "http://c.test/low"}


async def test_queue_is_fifo_per_host_and_round_robin_across_hosts() -> None:
    """Within one priority each host's requests come out in order, and hosts take turns
    (a host with many queued requests does not starve one queued after it)."""
    q = MemoryQueue()
    await q.push([Request(f"http://a.test/{i}") for i in range(4)])
    await q.push([Request(f"http://b.test/{i}") for i in range(2)])
    got = urls(await q.pop(100, always))
    assert [u for u in got if "a.test" in u] == [f"http://a.test/{i}" for i in range(4)]
    assert [u for u in got if "b.test" in u] == ["http://b.test/0", "http://b.test/1"]
    assert got.index("http://b.test/0") <= 1  # not behind all of a.test's requests


async def test_queue_preserves_request_fields() -> None:
    def cb(response: object) -> None: ...

    q = MemoryQueue()
    plain = Request("http://a.test/p", cb, priority=3, dont_filter=True, depth=4,
                    referer="http://a.test/")
    rich = Request("http://a.test/r", "named", errback=cb, method="POST", body=b"x",
                   headers={"H": "v"}, meta={"m": 1}, cb_kwargs={"k": 2}, priority=3,
                   depth=70000, retries=1, redirects=2)
    await q.push([plain, rich])
    assert await q.pop(10, always) == [plain, rich]


async def test_queue_pop_respects_limit() -> None:
    q = MemoryQueue()
    await q.push([Request(f"http://a.test/{i}") for i in range(5)])
    assert urls(await q.pop(2, always)) == ["http://a.test/0", "http://a.test/1"]
    assert await q.size() == 3
    assert urls(await q.pop(0, always)) == []
    assert urls(await q.pop(10, always)) == [f"http://a.test/{i}" for i in (2, 3, 4)]


async def test_queue_push_after_pop_keeps_priority_order() -> None:
    q = MemoryQueue()
    await q.push([Request("http://a.test/1"), Request("http://a.test/2")])
    assert urls(await q.pop(1, always)) == ["http://a.test/1"]
    await q.push([Request("http://a.test/urgent", priority=9)])
    assert urls(await q.pop(5, always)) == ["http://a.test/urgent", "http://a.test/2"]


async def test_queue_skips_busy_hosts_and_keeps_their_requests() -> None:
    q = MemoryQueue()
    await q.push([
        Request("http://busy.test/1", priority=10),
        Request("http://busy.test/2", priority=10),
        Request("http://free.test/1"),
        Request("http://free.test/2"),
    ])
    asked: list[str] = []

    def claim(host: str) -> bool:
        asked.append(host)
        return host != "busy.test"

    got = await q.pop(10, claim)
    assert urls(got) == ["http://free.test/1", "http://free.test/2"]
    assert asked.count("busy.test") == 1  # one look at the busy host, not one per request
    assert await q.size() == 2
    assert urls(await q.pop(10, always)) == ["http://busy.test/1", "http://busy.test/2"]


async def test_queue_claim_is_per_request() -> None:
    """A host allowed one slot gives one request; the rest wait for the next pop."""
    q = MemoryQueue()
    await q.push([Request(f"http://a.test/{i}") for i in range(3)]
                 + [Request("http://b.test/0")])
    slots = {"a.test": 1, "b.test": 1}

    def claim(host: str) -> bool:
        if slots[host] <= 0:
            return False
        slots[host] -= 1
        return True

    assert urls(await q.pop(10, claim)) == ["http://a.test/0", "http://b.test/0"]
    assert await q.size() == 2
    assert urls(await q.pop(10, always)) == ["http://a.test/1", "http://a.test/2"]


async def test_queue_groups_by_host_key() -> None:
    q = MemoryQueue()
    await q.push([Request("http://A.test:80/1"), Request("http://a.test/2"),
                  Request("http://a.test:8080/3")])
    seen: list[str] = []

    def claim(host: str) -> bool:
        seen.append(host)
        return True

    await q.pop(10, claim)
    assert sorted(set(seen)) == ["a.test", "a.test:8080"]


# -- MemoryDupeFilter ----------------------------------------------------------------------------


async def test_dupefilter_batch_semantics() -> None:
    df = MemoryDupeFilter()
    a, b, c = b"a" * 16, b"b" * 16, b"c" * 16
    assert await df.add([a, b, a, c, b]) == [True, True, False, True, False]
    assert await df.add([c, b"d" * 16, a]) == [False, True, False]
    assert await df.add([]) == []
    assert len(df) == 4


# -- Scheduler: dedup ----------------------------------------------------------------------------


async def test_scheduler_dedups_equivalent_requests(clock: FakeClock) -> None:
    s = make_scheduler(clock)
    accepted = await s.add([
        Request("http://a.test/x?b=1&a=2"),
        Request("http://a.test/x?a=2&b=1#frag"),
        Request("http://A.TEST/x?a=2&b=1"),
        Request("http://a.test/y"),
    ])
    assert urls(accepted) == ["http://a.test/x?b=1&a=2", "http://a.test/y"]
    assert await s.add([Request("http://a.test/y")]) == []
    assert await s.pending() == 2


async def test_scheduler_dedup_distinguishes_method_and_body(clock: FakeClock) -> None:
    s = make_scheduler(clock)
    accepted = await s.add([
        Request("http://a.test/f"),
        Request("http://a.test/f", method="POST", body=b"1"),
        Request("http://a.test/f", method="POST", body=b"2"),
        Request("http://a.test/f", method="POST", body=b"1"),
    ])
    assert len(accepted) == 3


async def test_scheduler_dont_filter_bypasses_dedup(clock: FakeClock) -> None:
    s = make_scheduler(clock)
    assert len(await s.add([Request("http://a.test/")])) == 1
    again = await s.add([Request("http://a.test/", dont_filter=True),
                         Request("http://a.test/", dont_filter=True),
                         Request("http://a.test/")])
    assert [r.dont_filter for r in again] == [True, True]
    assert await s.pending() == 3


# -- Scheduler: politeness -----------------------------------------------------------------------


async def test_scheduler_per_host_limit_and_release(clock: FakeClock) -> None:
    s = make_scheduler(clock, per_host=2)
    await s.add([Request(f"http://a.test/{i}") for i in range(4)] + [Request("http://b.test/0")])
    first = sorted(await s.take(10), key=lambda r: r.url)
    assert urls(first) == ["http://a.test/0", "http://a.test/1", "http://b.test/0"]
    assert await s.take(10) == []  # a.test holds both slots
    assert await s.pending() == 2
    s.release(first[0])
    assert urls(await s.take(10)) == ["http://a.test/2"]
    assert await s.take(10) == []
    s.release(first[1])
    s.release(first[2])
    assert urls(await s.take(10)) == ["http://a.test/3"]
    assert await s.pending() == 0


async def test_scheduler_take_respects_limit(clock: FakeClock) -> None:
    s = make_scheduler(clock, per_host=8)
    await s.add([Request(f"http://a.test/{i}") for i in range(5)])
    assert len(await s.take(2)) == 2
    assert await s.take(0) == []
    assert len(await s.take(10)) == 3


async def test_scheduler_download_delay_spaces_requests_per_host(clock: FakeClock) -> None:
    s = make_scheduler(clock, per_host=8, delay=2.0)
    await s.add([Request(f"http://a.test/{i}") for i in range(3)] + [Request("http://b.test/0")])
    got = await s.take(10)
    assert urls(got) == ["http://a.test/0", "http://b.test/0"]  # one per host, then wait
    for r in got:
        s.release(r)
    assert await s.take(10) == []
    assert s.seconds_to_wake() == pytest.approx(2.0)
    clock.advance(1.5)
    assert await s.take(10) == []
    assert s.seconds_to_wake() == pytest.approx(0.5)
    clock.advance(0.5)
    assert urls(await s.take(10)) == ["http://a.test/1"]
    clock.advance(1.99)
    assert await s.take(10) == []
    clock.advance(0.01)
    assert urls(await s.take(10)) == ["http://a.test/2"]


async def test_a_request_answered_without_a_download_gives_its_delay_back(
        clock: FakeClock) -> None:
    s = make_scheduler(clock, per_host=8, delay=2.0)
    await s.add([Request(f"http://a.test/{i}") for i in range(4)])
    (r0,) = await s.take(10)
    s.skip_delay(r0)  # served from the cache: no download, no wait for the next one
    s.release(r0)
    (r1,) = await s.take(10)
    await s.pace(r1)  # a real download starts now: the next request waits for its delay
    s.release(r1)
    assert await s.take(10) == []
    clock.advance(2.0)
    (r2,) = await s.take(10)
    s.skip_delay(r2)  # a cached answer again: the one after it need not wait
    s.release(r2)
    assert urls(await s.take(10)) == ["http://a.test/3"]


async def test_scheduler_delay_counts_from_start_not_release(clock: FakeClock) -> None:
    s = make_scheduler(clock, per_host=1, delay=1.0)
    await s.add([Request("http://a.test/0"), Request("http://a.test/1")])
    (r0,) = await s.take(10)
    clock.advance(3.0)  # a slow download, longer than the delay
    s.release(r0)
    assert urls(await s.take(10)) == ["http://a.test/1"]


async def test_scheduler_host_delay_callback_and_extra_delay(clock: FakeClock) -> None:
    s = make_scheduler(clock, delay=0.5, host_delay=lambda h: 3.0 if h == "slow.test" else None)
    assert s.host_delay("slow.test") == 3.0
    assert s.host_delay("fast.test") == 0.5
    s.extra_delay["fast.test"] = 4.0
    assert s.host_delay("fast.test") == 4.0
    await s.add([Request("http://slow.test/0"), Request("http://slow.test/1")])
    (r,) = await s.take(10)
    s.release(r)
    clock.advance(2.9)
    assert await s.take(10) == []
    clock.advance(0.1)
    assert urls(await s.take(10)) == ["http://slow.test/1"]


async def test_scheduler_no_delay_means_no_wait(clock: FakeClock) -> None:
    s = make_scheduler(clock, per_host=8)
    await s.add([Request(f"http://a.test/{i}") for i in range(3)])
    assert len(await s.take(10)) == 3
    assert s.seconds_to_wake() is None


# -- Scheduler: retries (add_later) --------------------------------------------------------------


async def test_add_later_waits_and_bypasses_dedup(clock: FakeClock) -> None:
    s = make_scheduler(clock)
    assert len(await s.add([Request("http://a.test/")])) == 1
    (taken,) = await s.take(10)
    s.release(taken)
    assert s.seconds_to_wake() is None
    s.add_later(taken.replace(retries=1), 5.0)
    assert await s.pending() == 1
    assert s.seconds_to_wake() == pytest.approx(5.0)
    clock.advance(4.0)
    assert await s.take(10) == []
    assert s.seconds_to_wake() == pytest.approx(1.0)
    clock.advance(1.0)
    (again,) = await s.take(10)
    assert again.url == "http://a.test/" and again.retries == 1
    assert await s.pending() == 0
    assert s.seconds_to_wake() is None


async def test_add_later_orders_by_due_time(clock: FakeClock) -> None:
    s = make_scheduler(clock)
    s.add_later(Request("http://a.test/late"), 3.0)
    s.add_later(Request("http://b.test/soon"), 1.0)
    assert s.seconds_to_wake() == pytest.approx(1.0)
    clock.advance(1.0)
    assert urls(await s.take(10)) == ["http://b.test/soon"]
    assert s.seconds_to_wake() == pytest.approx(2.0)
    clock.advance(2.0)
    assert urls(await s.take(10)) == ["http://a.test/late"]


async def test_due_retry_still_waits_for_its_host(clock: FakeClock) -> None:
    s = make_scheduler(clock, per_host=1)
    await s.add([Request("http://a.test/busy")])
    (busy,) = await s.take(10)
    s.add_later(Request("http://a.test/retry"), 0.0)
    assert await s.take(10) == []  # due, but the host's only slot is taken
    assert await s.pending() == 1
    s.release(busy)
    assert urls(await s.take(10)) == ["http://a.test/retry"]


async def test_pending_counts_queue_and_timers(clock: FakeClock) -> None:
    s = make_scheduler(clock)
    assert await s.pending() == 0
    await s.add([Request("http://a.test/1"), Request("http://a.test/2")])
    s.add_later(Request("http://a.test/3"), 10)
    assert await s.pending() == 3
    await s.take(1)
    assert await s.pending() == 2


async def test_pace_applies_a_delay_learned_after_take(clock: FakeClock) -> None:
    """robots Crawl-delay becomes known only after the first requests were taken: ``pace``
    spaces their starts anyway, and later takes wait for the host too."""
    known: dict[str, float] = {}
    s = make_scheduler(clock, per_host=8, host_delay=known.get)
    await s.add([Request(f"http://a.test/{i}") for i in range(3)])
    first, second = await s.take(2)  # no delay known yet: both granted at once
    known["a.test"] = 0.2
    t0 = time.monotonic()
    await s.pace(first)
    assert time.monotonic() - t0 < 0.1  # the first start is not delayed
    await s.pace(second)
    assert time.monotonic() - t0 >= 0.15  # the second waits out the delay
    assert await s.take(10) == []  # the third: after the second's start + delay
    wake = s.seconds_to_wake()
    assert wake == pytest.approx(0.4)
    clock.advance(wake)  # type: ignore[arg-type]
    assert urls(await s.take(10)) == ["http://a.test/2"]


async def test_dupefilter_is_exact_across_table_growth() -> None:
    # 50,000 keys grow the table from 1,024 slots many times, within and between batches
    import hashlib

    fps = [hashlib.blake2b(str(i).encode(), digest_size=16).digest() for i in range(50_000)]
    df = MemoryDupeFilter()
    first = await df.add(fps[:30_000] + fps[:10])  # duplicates inside one batch too
    assert first == [True] * 30_000 + [False] * 10
    second = await df.add(fps[25_000:])
    assert second == [False] * 5_000 + [True] * 20_000
    assert await df.add(fps[::997]) == [False] * len(fps[::997])
    assert len(df) == 50_000
    assert df.nbytes <= 24 * 50_000 * 2  # the table stays between 1/3 and 2/3 full
