"""acrawl.core.scheduler.Scheduler over the in-memory frontier: dedup, politeness when
requests are taken (held by acrawl.frontier.politeness.Politeness), retries. The backends
themselves: tests/frontier."""

from __future__ import annotations

import asyncio
import time

import pytest

from acrawl.core.scheduler import Scheduler
from acrawl.frontier.memory import MemoryDupeFilter, MemoryQueue
from acrawl.frontier.politeness import Politeness
from acrawl.http import Request


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def urls(requests: list[Request]) -> list[str]:
    return [r.url for r in requests]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_scheduler(clock: FakeClock, **politeness: object) -> Scheduler:
    """A scheduler over the memory backends; ``politeness``: :class:`Politeness` arguments."""
    return Scheduler(queue=MemoryQueue(), dupefilter=MemoryDupeFilter(),
                     politeness=Politeness(clock=clock, **politeness))  # type: ignore[arg-type]


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
    s = make_scheduler(clock, per_host=8, download_delay=2.0)
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
    s = make_scheduler(clock, per_host=8, download_delay=2.0)
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
    s = make_scheduler(clock, per_host=1, download_delay=1.0)
    await s.add([Request("http://a.test/0"), Request("http://a.test/1")])
    (r0,) = await s.take(10)
    clock.advance(3.0)  # a slow download, longer than the delay
    s.release(r0)
    assert urls(await s.take(10)) == ["http://a.test/1"]


class FixedThrottle:
    """An AutoThrottle stand-in: ``observe`` sets the delay it was told for a host."""

    def __init__(self, delays: dict[str, float]) -> None:
        self.delays = delays

    def observe(self, host: str, *, latency: float, status: int | None) -> float:
        return self.delays.get(host, 0.0)


async def test_scheduler_delay_is_crawl_delay_or_autothrottle_when_larger(clock: FakeClock) -> None:
    s = make_scheduler(clock, download_delay=0.5,
                       crawl_delay=lambda h: 3.0 if h == "slow.test" else None,
                       throttle=FixedThrottle({"fast.test": 4.0}))
    polite = s.politeness
    assert polite.delay("slow.test") == 3.0
    assert polite.delay("fast.test") == 0.5
    polite.observe("fast.test", latency=0.1, status=200)  # AutoThrottle's delay, stored
    assert polite.delay("fast.test") == 4.0
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
    s = make_scheduler(clock, per_host=8, crawl_delay=known.get)
    await s.add([Request(f"http://a.test/{i}") for i in range(3)])
    first, second = await s.take(2)  # no delay known yet: both granted at once
    known["a.test"] = 0.2
    t0 = time.monotonic()
    await s.pace(first)
    assert time.monotonic() - t0 < 0.1  # the first start is not delayed
    s.sent(first)  # (the downloader says so when its connection is ready)
    await s.pace(second)
    assert time.monotonic() - t0 >= 0.15  # the second waits out the delay
    assert await s.take(10) == []  # the third: after the second's start + delay
    wake = s.seconds_to_wake()
    assert wake == pytest.approx(0.4)
    clock.advance(wake)  # type: ignore[arg-type]
    assert urls(await s.take(10)) == ["http://a.test/2"]


async def test_the_delay_counts_from_when_the_previous_request_was_sent(
        clock: FakeClock) -> None:
    """A first request whose new connection takes 0.3 s to open is sent 0.3 s after
    ``pace`` let it go: the host's next start is the delay after *that*."""
    s = make_scheduler(clock, per_host=1, download_delay=1.0)
    await s.add([Request("http://a.test/0"), Request("http://a.test/1")])
    (first,) = await s.take(10)
    await s.pace(first)
    clock.advance(0.3)  # DNS, TCP, TLS
    s.sent(first)
    s.release(first)
    clock.advance(0.7)  # 1 s after pace, 0.7 s after it was sent
    assert await s.take(10) == []
    assert s.seconds_to_wake() == pytest.approx(0.3)
    clock.advance(0.3)
    (second,) = await s.take(10)
    t0 = time.monotonic()
    await s.pace(second)
    assert time.monotonic() - t0 < 0.1  # the delay after the first was sent has passed


async def test_pace_waits_for_the_previous_request_of_the_host_to_be_sent() -> None:
    """With two slots and a delay, the second request is not let go until the first was
    sent (then the delay): the first's slow connection cannot make the second overtake it.
    A request that finishes without being sent (its connection failed) is not waited for."""
    s = Scheduler(queue=MemoryQueue(), dupefilter=MemoryDupeFilter(),
                  politeness=Politeness(per_host=2, download_delay=0.1))
    first, second, third = (Request(f"http://a.test/{i}") for i in range(3))
    await s.pace(first)
    waiting = asyncio.ensure_future(s.pace(second))
    await asyncio.sleep(0.3)  # longer than the delay: still waiting for the first to be sent
    assert not waiting.done()
    sent_at = time.monotonic()
    s.sent(first)
    await asyncio.wait_for(waiting, 2)
    assert time.monotonic() - sent_at >= 0.1 - 0.01
    s.release(second)  # never sent: the next one does not wait for it
    await asyncio.wait_for(s.pace(third), 2)


async def test_without_a_delay_pace_waits_for_nothing() -> None:
    s = Scheduler(queue=MemoryQueue(), dupefilter=MemoryDupeFilter(),
                  politeness=Politeness(per_host=8))
    requests = [Request(f"http://a.test/{i}") for i in range(4)]
    for r in requests:
        await asyncio.wait_for(s.pace(r), 0.5)  # none is ever sent: none is waited for


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
