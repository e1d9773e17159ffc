"""acrawl.frontier.redis.RedisFrontier against a real redis-server: queue order and fairness,
politeness across workers, leases, dedup, stats, and the configuration errors."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from acrawl.core.scheduler import Scheduler
from acrawl.crawler import Crawler
from acrawl.demo.site import LinkSite, run_in_thread
from acrawl.demo.spiders import LinksSpider
from acrawl.errors import ConfigError, SerializationError
from acrawl.frontier import redis as redisfrontier
from acrawl.frontier.base import DupeFilter, RequestQueue
from acrawl.frontier.politeness import Politeness
from acrawl.frontier.redis import RedisFrontier, parse_frontier_url
from acrawl.http import Request
from acrawl.settings import Settings
from acrawl.spider import Spider
from acrawl.stats import Stats
from acrawl.urls import fingerprint

pytestmark = pytest.mark.redis

PREFIX = "acrawl:t:"


class Dummy(Spider):
    name = "t"

    def parse(self, response: Any) -> None:
        return None

    def other(self, response: Any) -> None:
        return None


def always(host: str) -> bool:
    return True


def urls(requests: list[Request]) -> list[str]:
    return [r.url for r in requests]


def hosts(requests: list[Request]) -> list[str]:
    return [r.host for r in requests]


MakeFrontier = Callable[..., RedisFrontier]


@pytest.fixture
async def make(redis_url: str) -> AsyncIterator[MakeFrontier]:
    """``make(per_host=2, delay=0.0, crawl_delay=None, lease_ttl=60.0)``: a frontier (a
    worker, with its own :class:`Politeness`) on the test's Redis; all are closed at the end
    of the test."""
    made: list[RedisFrontier] = []

    def build(*, per_host: int = 100, delay: float = 0.0,
              crawl_delay: Callable[[str], float | None] | None = None,
              **kw: Any) -> RedisFrontier:
        politeness = Politeness(per_host=per_host, download_delay=delay,
                                crawl_delay=crawl_delay)
        f = RedisFrontier(url=redis_url, prefix=PREFIX, spider=Dummy(), politeness=politeness,
                          **kw)
        made.append(f)
        return f

    yield build
    for f in made:
        await f.close()


async def die(f: RedisFrontier) -> None:
    """Simulate a killed worker: no heartbeat, no goodbye."""
    if f._heartbeat is not None:
        f._heartbeat.cancel()
        await asyncio.gather(f._heartbeat, return_exceptions=True)
    f._leased.clear()
    f._closed = True
    await f.client.aclose()


# -- protocol, order, fairness --------------------------------------------------------------------


async def test_implements_the_frontier_protocols(make: MakeFrontier) -> None:
    f = make()
    assert isinstance(f.queue, RequestQueue)
    assert isinstance(f.dupefilter, DupeFilter)
    assert f.queue.shared
    assert f.queue.poll_interval is not None and 0 < f.queue.poll_interval <= 0.2
    assert callable(f.queue.release) and callable(f.queue.encode)


async def test_pops_by_priority_then_fifo(make: MakeFrontier) -> None:
    f = make()
    await f.queue.push([
        Request("http://a.test/low1", priority=-1),
        Request("http://a.test/mid1"),
        Request("http://a.test/high1", priority=5),
        Request("http://a.test/mid2"),
    ])
    await f.queue.push([
        Request("http://a.test/mid3"),
        Request("http://a.test/high2", priority=5),
        Request("http://a.test/low2", priority=-1),
    ])
    assert await f.queue.size() == 7
    got = await f.queue.pop(3, always)
    assert urls(got) == ["http://a.test/high1", "http://a.test/high2", "http://a.test/mid1"]
    got = await f.queue.pop(10, always)
    assert urls(got) == ["http://a.test/mid2", "http://a.test/mid3", "http://a.test/low1",
                         "http://a.test/low2"]
    assert await f.queue.pop(10, always) == []


async def test_requests_round_trip_with_callbacks_by_name(make: MakeFrontier) -> None:
    f = make()
    spider = f.spider
    req = Request("http://a.test/x?q=1", callback=spider.other, errback="other", method="POST",
                  headers={"X-A": "1"}, body=b"\x00\xffdata", meta={"k": [1, "two"]},
                  cb_kwargs={"n": 3}, priority=2, depth=4, referer="http://a.test/")
    await f.queue.push([req])
    [back] = await f.queue.pop(1, always)
    assert (back.url, back.callback, back.errback, back.method, back.body, back.meta,
            back.cb_kwargs, back.priority, back.depth, back.referer) == (
        req.url, "other", "other", "POST", b"\x00\xffdata", {"k": [1, "two"]}, {"n": 3}, 2, 4,
        "http://a.test/")
    assert back.headers.get("X-A") == "1"


async def test_one_big_host_does_not_starve_the_others(make: MakeFrontier) -> None:
    f = make()
    await f.queue.push([Request(f"http://big.test/{i}") for i in range(200)])
    await f.queue.push([Request(f"http://small{k}.test/{i}") for k in range(3) for i in range(2)])
    first = await f.queue.pop(4, always)
    assert sorted(hosts(first)) == ["big.test", "small0.test", "small1.test", "small2.test"]
    second = await f.queue.pop(4, always)
    assert sorted(hosts(second)) == ["big.test", "small0.test", "small1.test", "small2.test"]
    rest = await f.queue.pop(10, always)
    assert hosts(rest) == ["big.test"] * 10


async def test_ready_hosts_are_served_round_robin(make: MakeFrontier) -> None:
    f = make()
    await f.queue.push([Request(f"http://{h}.test/{i}") for i in range(3) for h in "abc"])
    order = []
    for _ in range(6):
        [r] = await f.queue.pop(1, always)
        order.append(r.host)
    assert order == ["a.test", "b.test", "c.test"] * 2


# -- politeness across workers ---------------------------------------------------------------------


async def test_per_host_concurrency_is_global(make: MakeFrontier) -> None:
    one, two = make(per_host=2), make(per_host=2)
    await one.queue.push([Request(f"http://a.test/{i}") for i in range(6)]
                         + [Request("http://b.test/1")])
    got1 = await one.queue.pop(10, always)
    assert sorted(hosts(got1)) == ["a.test", "a.test", "b.test"]
    assert await two.queue.pop(10, always) == []  # a.test is busy, everywhere
    one.queue.release(got1[0])  # sent within 10 ms (or with one's next pop)
    await asyncio.sleep(0.1)
    got2 = await two.queue.pop(10, always)
    assert hosts(got2) == ["a.test"]
    assert await one.queue.pop(10, always) == []
    two.queue.release(got2[0])
    got3 = await two.queue.pop(10, always)
    assert hosts(got3) == ["a.test"]  # freed by the same call
    assert await one.queue.pop(10, always) == []
    # done (without an explicit release) frees the slot too
    await two.queue.done(got3)
    assert hosts(await one.queue.pop(10, always)) == ["a.test"]


async def test_a_refused_claim_returns_the_request(make: MakeFrontier) -> None:
    f = make()
    await f.queue.push([Request("http://a.test/1"), Request("http://b.test/1")])
    got = await f.queue.pop(10, lambda host: host == "b.test")
    assert urls(got) == ["http://b.test/1"]
    assert await f.queue.size() == 1
    assert urls(await f.queue.pop(10, always)) == ["http://a.test/1"]


async def test_download_delay_is_kept_across_workers(make: MakeFrontier) -> None:
    one, two = make(delay=0.4), make(delay=0.4)
    await one.queue.push([Request(f"http://a.test/{i}") for i in range(3)]
                         + [Request("http://b.test/1")])
    assert sorted(hosts(await one.queue.pop(10, always))) == ["a.test", "b.test"]
    assert await two.queue.pop(10, always) == []  # slots free, but a.test waits its delay
    assert two.queue.poll_interval is not None
    assert 0.02 <= two.queue.poll_interval <= 0.2  # woken early enough for it
    await asyncio.sleep(0.45)
    assert hosts(await two.queue.pop(10, always)) == ["a.test"]
    assert await one.queue.pop(10, always) == []


async def test_a_host_delay_learned_by_one_worker_applies_to_all(make: MakeFrontier) -> None:
    one = make(crawl_delay=lambda host: 0.5 if host == "slow.test" else 0.0)
    two = make()
    await one.queue.push([Request(f"http://slow.test/{i}") for i in range(5)])
    assert len(await one.queue.pop(1, always)) == 1  # learns the delay (e.g. Crawl-delay)
    assert len(await one.queue.pop(1, always)) == 1  # ...and tells Redis: delay starts now
    assert await two.queue.pop(10, always) == []
    assert await one.queue.pop(10, always) == []
    await asyncio.sleep(0.55)
    assert len(await two.queue.pop(10, always)) == 1


async def test_a_pause_taken_by_one_worker_holds_for_all(make: MakeFrontier) -> None:
    """A 429/503 with Retry-After seen by one worker pauses the host for every worker (sent
    with that worker's next pop); other hosts go on."""
    one, two = make(), make()
    await one.queue.push([Request(f"http://a.test/{i}") for i in range(3)]
                         + [Request(f"http://b.test/{i}") for i in range(3)])
    one.politeness.retry_after("a.test", 503, 0.6)
    assert hosts(await one.queue.pop(1, lambda host: host == "b.test")) == ["b.test"]
    assert hosts(await two.queue.pop(10, always)) == ["b.test", "b.test"]  # a.test: paused
    assert two.queue.poll_interval is not None and two.queue.poll_interval <= 0.2
    one.politeness.retry_after("a.test", 503, 0.1)  # a shorter one does not cut it short
    assert await one.queue.pop(10, always) == []
    await asyncio.sleep(0.65)
    assert hosts(await two.queue.pop(10, always)) == ["a.test"] * 3


# -- leases ---------------------------------------------------------------------------------------


async def test_done_acknowledges(make: MakeFrontier, redis_client: Any) -> None:
    f = make()
    await f.queue.push([Request("http://a.test/1"), Request("http://a.test/2")])
    got = await f.queue.pop(10, always)
    assert len(got) == 2
    assert redis_client.hlen(PREFIX + "req") == 2
    assert redis_client.zcard(PREFIX + "leases") == 2
    await f.queue.done(got[:1])
    assert redis_client.hlen(PREFIX + "req") == 1
    assert redis_client.zcard(PREFIX + "leases") == 1
    await f.queue.done(got)  # again for the first: a no-op
    assert redis_client.hlen(PREFIX + "req") == 0
    assert redis_client.zcard(PREFIX + "leases") == 0
    assert await f.queue.size() == 0


async def test_size_counts_pending_and_other_workers_leases(make: MakeFrontier) -> None:
    one, two = make(), make()
    await one.queue.push([Request(f"http://a.test/{i}") for i in range(3)])
    assert await one.queue.size() == 3 and await two.queue.size() == 3
    got = await one.queue.pop(2, always)
    # one's own leases are its in-flight work; for two they are outstanding
    assert await one.queue.size() == 1
    assert await two.queue.size() == 3
    await one.queue.done(got)
    assert await two.queue.size() == 1


async def test_expired_leases_of_a_dead_worker_return(make: MakeFrontier) -> None:
    dead, alive = make(lease_ttl=0.6), make(lease_ttl=0.6)
    await dead.queue.push([Request(f"http://a.test/{i}") for i in range(3)])
    assert len(await dead.queue.pop(2, always)) == 2
    await die(dead)
    assert await alive.queue.size() == 3  # the crawl is not over while they are leased
    assert await alive.reclaim() == 0
    await asyncio.sleep(0.7)
    await alive.reclaim()  # any worker does it, also in its heartbeat (every ttl/3)
    assert await alive.reclaim() == 0
    again = await alive.queue.pop(10, always)
    assert sorted(urls(again)) == [f"http://a.test/{i}" for i in range(3)]
    await alive.queue.done(again)
    assert await alive.queue.size() == 0


async def test_a_live_worker_keeps_its_leases(make: MakeFrontier) -> None:
    worker, other = make(lease_ttl=0.6), make(lease_ttl=0.6)
    await worker.queue.push([Request("http://a.test/1")])
    got = await worker.queue.pop(1, always)
    await asyncio.sleep(1.5)  # heartbeats every ttl/3
    assert await other.reclaim() == 0
    assert await other.queue.pop(10, always) == []
    await worker.queue.done(got)
    assert await other.queue.size() == 0


async def test_a_reclaimed_lease_is_not_acknowledged_by_its_old_owner(
        make: MakeFrontier) -> None:
    slow, other = make(lease_ttl=0.5), make(lease_ttl=0.5)
    await slow.queue.push([Request("http://a.test/1")])
    got = await slow.queue.pop(1, always)
    slow._heartbeat.cancel()  # type: ignore[union-attr]  # paused past its lease
    await asyncio.sleep(0.6)
    assert await other.reclaim() == 1
    taken = await other.queue.pop(1, always)
    await slow.queue.done(got)  # too late: the request now belongs to `other`
    assert await slow.queue.size() == 1
    await other.queue.done(taken)
    assert await slow.queue.size() == 0


async def test_close_hands_unfinished_leases_back(make: MakeFrontier) -> None:
    leaving, staying = make(), make()
    await leaving.queue.push([Request(f"http://a.test/{i}") for i in range(3)])
    got = await leaving.queue.pop(3, always)
    await leaving.queue.done(got[:1])
    await leaving.close()
    assert await staying.queue.size() == 2
    assert len(await staying.queue.pop(10, always)) == 2


# -- dedup ----------------------------------------------------------------------------------------


async def test_dedup_batch_semantics(make: MakeFrontier) -> None:
    one, two = make(), make()
    a, b, c = b"\x00" * 16, b"\xff\x00\n\r" + b"\x00" * 12, bytes(range(16))
    assert await one.dupefilter.add([a, b, a]) == [True, True, False]
    assert await one.dupefilter.add([a, c, c]) == [False, True, False]
    assert await one.dupefilter.add([]) == []
    # recorded in Redis only by the push that queues the request (see below)
    assert await two.dupefilter.add([a, a]) == [True, False]


async def test_dedup_is_shared_and_compact(make: MakeFrontier, redis_client: Any) -> None:
    one, two = make(), make()
    reqs = [Request(f"http://a.test/{i}") for i in range(50)]
    fps = [fingerprint(r) for r in reqs]
    assert await one.dupefilter.add(fps) == [True] * 50
    await one.queue.push(reqs)
    assert await two.dupefilter.add([*fps, fps[0]]) == [False] * 51
    assert await one.dupefilter.add(fps) == [False] * 50  # (answered locally)
    # 65,536 buckets keyed by the first 2 bytes, the other 14 bytes as the field; small hashes
    # stay listpack-encoded
    bucket = PREFIX.encode() + b"s:" + fps[0][:2]
    assert fps[0][2:] in redis_client.hkeys(bucket)
    assert redis_client.object("encoding", bucket) == b"listpack"
    assert redis_client.hget(bucket, fps[0][2:]) == b""


async def test_two_workers_finding_the_same_url_queue_it_once(make: MakeFrontier) -> None:
    one, two = make(), make()
    fp = fingerprint(Request("http://a.test/x"))
    assert await one.dupefilter.add([fp]) == [True]
    assert await two.dupefilter.add([fp]) == [True]  # both told "new"...
    await one.queue.push([Request("http://a.test/x")])
    await two.queue.push([Request("http://a.test/x#frag")])
    assert await one.queue.size() == 1  # ...queued once
    stats = Stats()
    stats.inc("requests/scheduled")
    await two.commit([], stats)  # the engine counted it as scheduled: corrected
    assert (stats["requests/scheduled"], stats["dropped/duplicate"]) == (0, 1)


async def test_a_worker_killed_between_dedup_and_push_loses_nothing(
        make: MakeFrontier) -> None:
    dead, alive = make(), make()
    fp = fingerprint(Request("http://a.test/x"))
    assert await dead.dupefilter.add([fp]) == [True]
    await die(dead)  # before its push
    assert await alive.dupefilter.add([fp]) == [True]


async def test_retries_and_dont_filter_bypass_dedup(make: MakeFrontier) -> None:
    f = make()
    r = Request("http://a.test/x")
    assert await f.dupefilter.add([fingerprint(r)]) == [True]
    await f.queue.push([r])
    [taken] = await f.queue.pop(1, always)
    await f.queue.push([taken.replace(retries=1), Request("http://a.test/x", dont_filter=True)])
    await f.queue.done([taken])
    assert await f.queue.size() == 2


async def test_scheduler_over_the_shared_frontier(make: MakeFrontier) -> None:
    f = make(per_host=1)
    sched = Scheduler(queue=f.queue, dupefilter=f.dupefilter, politeness=f.politeness)
    invalid: list[Request] = []
    accepted = await sched.add([
        Request("http://a.test/"), Request("http://a.test/#x"), Request("http://b.test/"),
        Request("http://a.test/bad", callback=lambda r: None),
    ], lambda r, exc: invalid.append(r))
    assert urls(accepted) == ["http://a.test/", "http://b.test/"]
    assert urls(invalid) == ["http://a.test/bad"]
    # the unstorable request was not marked as seen
    assert len(await sched.add([Request("http://a.test/bad")])) == 1
    taken = await sched.take(10)
    assert sorted(urls(taken)) == ["http://a.test/", "http://b.test/"]
    for r in taken:
        sched.release(r)
    await sched.done(taken)
    assert await sched.pending() == 1


async def test_known_duplicates_are_dropped_without_being_encoded(
        make: MakeFrontier, monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = make(), make()
    s1 = Scheduler(queue=one.queue, dupefilter=one.dupefilter, politeness=one.politeness)
    s2 = Scheduler(queue=two.queue, dupefilter=two.dupefilter, politeness=two.politeness)
    assert len(await s1.add([Request("http://a.test/1"), Request("http://a.test/2")])) == 2
    encoded: list[str] = []
    real = redisfrontier.encode_request

    def spy(request: Request, spider: Any) -> bytes:
        encoded.append(request.url)
        return real(request, spider)

    monkeypatch.setattr(redisfrontier, "encode_request", spy)
    again = [Request("http://a.test/1"), Request("http://a.test/2#top"),
             Request("http://a.test/3")]
    assert urls(await s1.add(again)) == ["http://a.test/3"]
    assert encoded == ["http://a.test/3"]  # what this worker queued is known locally
    encoded.clear()
    # another worker learns from Redis that they are seen (encoding them once), then knows
    assert await s2.add(again) == []
    assert await s2.add(again) == []
    assert len(encoded) == 3
    assert await one.queue.size() == 3


async def test_encode_refuses_what_it_cannot_store(make: MakeFrontier) -> None:
    f = make()
    with pytest.raises(SerializationError):
        f.queue.encode(Request("http://a.test/", callback=lambda r: None))
    with pytest.raises(SerializationError):
        f.queue.encode(Request("http://a.test/", meta={"x": object()}))


# -- stats ----------------------------------------------------------------------------------------


async def test_workers_add_their_stats_to_the_crawls(make: MakeFrontier) -> None:
    one, two = make(), make()
    s1, s2 = Stats(), Stats()
    await one.queue.push([Request("http://a.test/1"), Request("http://a.test/2")])
    r1 = await one.queue.pop(1, always)
    r2 = await two.queue.pop(1, always)
    s1.inc("pages")
    s1.inc("items", 3)
    await one.commit(r1, s1)
    s1.inc("items", 2)  # counted after the last commit: pushed on close
    s2.inc("pages")
    s2.inc("errors/callback")
    await two.commit(r2, s2)
    await one.close()
    await two.close()
    assert two.crawl_stats is not None
    assert {k: two.crawl_stats[k] for k in ("pages", "items", "errors/callback", "workers")} == {
        "pages": 2, "items": 5, "errors/callback": 1, "workers": 2}
    assert two.crawl_stats["pages_per_second"] > 0



async def test_pages_are_counted_against_max_pages_for_the_whole_crawl(
        make: MakeFrontier) -> None:
    """Concurrent workers: exactly ``limit`` pages get a number (1..limit), the rest get 0,
    and a higher limit later counts on from where the crawl stopped."""
    workers = [make() for _ in range(3)]
    got = await asyncio.gather(*(w.queue.count_page(10) for w in workers for _ in range(6)))
    assert sorted(n for n in got if n) == list(range(1, 11))
    assert got.count(0) == 8
    assert await workers[0].queue.count_page(10) == 0
    assert await workers[1].queue.count_page(12) == 11


# -- configuration --------------------------------------------------------------------------------


def test_url_and_prefix() -> None:
    assert parse_frontier_url("redis://h:1/2", "books") == ("redis://h:1/2", "acrawl:books:")
    assert parse_frontier_url("redis://h:1/2?prefix=x&db=3", "books") == (
        "redis://h:1/2?db=3", "x:")
    with pytest.raises(ConfigError, match="redis://"):
        parse_frontier_url("http://h:1/2", "books")


def test_from_url_checks_the_connection(unused_port: int) -> None:
    settings = Settings.build()
    with pytest.raises(ConfigError) as info:
        RedisFrontier.from_url(f"redis://:secret@127.0.0.1:{unused_port}/0", spider=Dummy(),
                               settings=settings, politeness=Politeness())
    message = str(info.value)
    assert "cannot use Redis" in message and "\n" not in message
    assert "secret" not in message


def test_from_url_builds_from_settings(redis_url: str) -> None:
    """The lease TTL from the settings; per-host concurrency and delay from the politeness the
    crawler builds from them -- the same object its scheduler uses."""
    overrides = {"redis_lease_ttl": "3", "per_host_concurrency": 3, "download_delay": 0.5}
    crawler = Crawler.create(Dummy, settings=overrides, entry_points=False,
                             frontier_url=redis_url + "?prefix=mine")
    f = crawler.frontier
    assert isinstance(f, RedisFrontier)
    assert (f.lease_ttl, f.politeness.per_host, f.politeness.download_delay, f.prefix) == (
        3.0, 3, 0.5, "mine:")
    assert f.politeness is crawler.politeness


def test_a_missing_redis_client_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigError, match=r"pip install acrawl\[redis\]"):
        RedisFrontier.from_url("redis://127.0.0.1:1/0", spider=Dummy(),
                               settings=Settings.build(), politeness=Politeness())


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- whole crawls ---------------------------------------------------------------------------------


async def test_two_crawlers_share_one_crawl(redis_url: str, tmp_path: Any) -> None:
    site = LinkSite(pages=150)
    with run_in_thread(site, host="127.0.0.1") as srv:
        crawlers = [
            Crawler.create(LinksSpider, spider_args={"url": srv.base_url + "/"},
                           settings={"timeout": 10, "obey_robots": False},
                           outputs=[str(tmp_path / f"{n}.jsonl")], entry_points=False,
                           frontier_url=redis_url)
            for n in range(2)]
        results = await asyncio.gather(*(c.crawl() for c in crawlers))
        assert srv.hits and all(n == 1 for n in srv.hits.values())  # every page once
        assert len(srv.hits) == 150
    assert [r.reason for r in results] == ["finished", "finished"]
    assert sum(r.stats["pages"] for r in results) == 150
    for c in crawlers:
        assert c.frontier.crawl_stats["pages"] == 150
        assert c.frontier.crawl_stats["workers"] == 2
