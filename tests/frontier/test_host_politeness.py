"""acrawl.frontier.politeness.Politeness: per-host slots, delays (download_delay, the gates'
Crawl-delay, AutoThrottle), Retry-After pauses, on a fake clock. Against real servers:
tests/hostile/test_politeness.py; across Redis workers:
tests/frontier/redis/test_redis_frontier.py."""

from __future__ import annotations

import pytest

from acrawl.frontier.politeness import PAUSE_STATUSES, Politeness
from acrawl.policies.throttle import AutoThrottle
from acrawl.settings import Settings


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class DelayGate:
    """A gate that only asks for per-host delays (as robots.txt Crawl-delay does)."""

    def __init__(self, delays: dict[str, float]) -> None:
        self.delays = delays

    async def check(self, request: object) -> str | None:
        return None

    def delay(self, host: str) -> float | None:
        return self.delays.get(host)

    async def close(self) -> None:
        return None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_slots_per_host(clock: FakeClock) -> None:
    p = Politeness(per_host=2, clock=clock)
    claim = p.claimer(clock())
    assert [claim("a.test"), claim("a.test"), claim("a.test"), claim("b.test")] == [
        True, True, False, True]
    assert (p.in_flight("a.test"), p.in_flight("b.test")) == (2, 1)
    assert p.wake_at is None  # refused for its slots, not for a time: nothing to wake for
    p.release("a.test")
    assert p.claimer(clock())("a.test") is True
    for _ in range(3):
        p.release("a.test")
    assert p.in_flight("a.test") == 0  # (released more often than claimed: not negative)


def test_delay_spaces_claims_and_says_when_to_wake(clock: FakeClock) -> None:
    p = Politeness(per_host=8, download_delay=2.0, clock=clock)
    claim = p.claimer(clock())
    assert [claim("a.test"), claim("a.test"), claim("b.test")] == [True, False, True]
    assert p.wake_at == clock() + 2.0
    clock.advance(1.5)
    assert p.claimer(clock())("a.test") is False
    assert p.wake_at == pytest.approx(clock() + 0.5)
    clock.advance(0.5)
    claim = p.claimer(clock())
    assert claim("a.test") is True
    assert p.wake_at is None  # a new claimer starts afresh


def test_the_delay_is_the_largest_of_download_delay_gates_and_autothrottle(
        clock: FakeClock) -> None:
    throttle = AutoThrottle(target_concurrency=1.0, min_delay=0.5, max_delay=60.0)
    p = Politeness(download_delay=0.5, throttle=throttle, clock=clock)
    assert p.delay("a.test") == 0.5
    p.use_gates([DelayGate({"a.test": 3.0}), DelayGate({"a.test": 1.0, "b.test": 2.0})])
    assert (p.delay("a.test"), p.delay("b.test"), p.delay("c.test")) == (3.0, 2.0, 0.5)
    p.observe("c.test", latency=0.1, status=503)  # AutoThrottle backs off: at least 1 s
    assert p.delay("c.test") == throttle.delays["c.test"] == 1.0
    p.observe("a.test", latency=0.1, status=503)
    assert p.delay("a.test") == 3.0  # Crawl-delay is larger
    p.use_gates([])
    assert p.delay("a.test") == 1.0


def test_observe_without_autothrottle_changes_nothing(clock: FakeClock) -> None:
    p = Politeness(download_delay=0.25, clock=clock)
    p.observe("a.test", latency=5.0, status=503)
    p.observe("a.test", latency=5.0, status=None)
    assert p.delay("a.test") == 0.25


def test_started_spaces_the_starts_of_requests_already_claimed(clock: FakeClock) -> None:
    """Two requests claimed before the host's delay was known (robots.txt read with the first
    one): the second waits out the delay after the first's start."""
    known: dict[str, float] = {}
    p = Politeness(per_host=8, crawl_delay=known.get, clock=clock)
    claim = p.claimer(clock())
    assert claim("a.test") and claim("a.test")
    known["a.test"] = 0.5
    assert p.started("a.test") == 0.0
    assert p.started("a.test") == pytest.approx(0.5)
    # and the next claim waits for the second's start + the delay
    assert p.claimer(clock())("a.test") is False
    assert p.wake_at == pytest.approx(clock() + 1.0)


def test_started_without_a_delay_never_waits(clock: FakeClock) -> None:
    p = Politeness(clock=clock)
    assert [p.started("a.test") for _ in range(3)] == [0.0, 0.0, 0.0]


def test_a_pause_holds_the_host_and_only_that_host(clock: FakeClock) -> None:
    p = Politeness(per_host=8, clock=clock)
    assert p.claimer(clock())("a.test")  # in flight when the server says "later"
    p.pause("a.test", 5.0)
    claim = p.claimer(clock())
    assert claim("a.test") is False
    assert claim("b.test") is True
    assert p.wake_at == clock() + 5.0
    assert p.started("a.test") == 5.0  # a request claimed before the pause waits too
    assert p.pauses() == {"a.test": clock() + 5.0}
    clock.advance(5.0)
    assert p.claimer(clock())("a.test") is True
    assert p.pauses() == {}


def test_a_shorter_pause_does_not_cut_a_longer_one(clock: FakeClock) -> None:
    p = Politeness(clock=clock)
    p.pause("a.test", 10.0)
    p.pause("a.test", 1.0)
    p.pause("a.test", 0.0)
    p.pause("a.test", -3.0)
    assert p.pauses() == {"a.test": clock() + 10.0}
    clock.advance(9.0)
    assert p.claimer(clock())("a.test") is False
    p.pause("b.test", 0.0)  # nothing to wait for: no pause
    assert "b.test" not in p.pauses()


@pytest.mark.parametrize("status", [429, 503, 500, 502, 408])
def test_retry_after_pauses_the_host_on_429_and_503_only(clock: FakeClock, status: int) -> None:
    p = Politeness(clock=clock)
    p.retry_after("a.test", status, 3.0)
    assert p.claimer(clock())("a.test") is (status not in PAUSE_STATUSES)
    assert ("a.test" in p.pauses()) is (status in (429, 503))


def test_from_settings() -> None:
    settings = Settings.build(overrides={"per_host_concurrency": 3, "download_delay": 0.5})
    p = Politeness.from_settings(settings)
    assert (p.per_host, p.download_delay, p.throttle) == (3, 0.5, None)
