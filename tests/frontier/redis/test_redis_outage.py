"""The shared frontier when Redis goes away: an outage waited out, replies lost after their
command ran (no request stuck in a lease, no stats counted twice, no request queued twice),
and the clean give-up past ``redis_outage_timeout``. Faults come from a proxy on 127.0.0.1
in front of the test's real redis-server (``faults.FaultyProxy``)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faults import FaultyProxy

from acrawl.errors import FrontierUnavailable
from acrawl.frontier import redis as redisfrontier
from acrawl.frontier.politeness import Politeness
from acrawl.frontier.redis import RedisFrontier
from acrawl.http import Request
from acrawl.spider import Spider
from acrawl.stats import Stats
from acrawl.urls import fingerprint

pytestmark = pytest.mark.redis

P = "acrawl:t:"


class Dummy(Spider):
    name = "t"


def always(host: str) -> bool:
    return True


async def loaded(frontier: RedisFrontier, source: str) -> bytes:
    """``source`` loaded into Redis (so its next call is one EVALSHA that runs), and its SHA."""
    await frontier.client.script_load(source)
    return hashlib.sha1(source.encode()).hexdigest().encode()


def once(frontier: RedisFrontier, source: str) -> str:
    return redisfrontier._once(source)


@pytest.fixture
async def proxy(redis_server: Any, redis_url: str) -> AsyncIterator[FaultyProxy]:
    p = FaultyProxy(redis_server.port)
    await p.start()
    yield p
    await p.close()


@pytest.fixture
async def frontier(proxy: FaultyProxy) -> AsyncIterator[RedisFrontier]:
    f = RedisFrontier(url=proxy.url, prefix=P, spider=Dummy(),
                      politeness=Politeness(), lease_ttl=60,
                      outage_timeout=10, worker="w1")
    f.bind_stats(Stats())
    yield f
    await f.close()


def requests(n: int) -> list[Request]:
    return [Request(f"http://h{i}.test/") for i in range(n)]


async def test_a_pop_whose_reply_was_lost_leaves_nothing_leased(
        frontier: RedisFrontier, proxy: FaultyProxy, redis_client: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    await frontier.push(requests(5))
    proxy.lose_reply(await loaded(frontier, redisfrontier._LUA_POP))
    with caplog.at_level(logging.WARNING, "acrawl.frontier.redis"):
        got = await frontier.pop(2, always)
    assert proxy.lost == 1  # the first pop ran in Redis and leased 2 requests, unseen
    assert len(got) == 2
    mine = {m.decode() for m in redis_client.smembers(P + "mine:w1")}
    held = {rid for _req, rid in frontier._leased.values()}
    assert mine == held and len(mine) == 2  # the unseen leases were given back at once
    assert redis_client.zcard(P + "leases") == 2
    assert "2 requests leased by a pop whose reply was lost returned" in caplog.text
    rest = await frontier.pop(10, always)
    assert sorted(r.url for r in got + rest) == sorted(r.url for r in requests(5))
    await frontier.done(got + rest)
    assert redis_client.hlen(P + "req") == 0 and redis_client.zcard(P + "leases") == 0


async def test_a_done_whose_reply_was_lost_counts_its_stats_once(
        frontier: RedisFrontier, proxy: FaultyProxy, redis_client: Any) -> None:
    await frontier.push(requests(3))
    got = await frontier.pop(3, always)
    stats = Stats()
    stats.inc("pages", 3)
    stats.inc("items", 7)
    proxy.lose_reply(await loaded(frontier, once(frontier, redisfrontier._LUA_DONE)))
    await frontier.done(got, stats)
    assert proxy.lost == 1  # the first attempt ran: the second returned its result
    counted = {k.decode(): int(v) for k, v in redis_client.hgetall(P + "stats").items()}
    assert counted["pages"] == 3 and counted["items"] == 7
    assert redis_client.hlen(P + "req") == 0 and redis_client.scard(P + "mine:w1") == 0


async def test_a_push_whose_reply_was_lost_queues_once(frontier: RedisFrontier,
                                                        proxy: FaultyProxy,
                                                        redis_client: Any) -> None:
    proxy.lose_reply(await loaded(frontier, once(frontier, redisfrontier._LUA_PUSH)))
    # dont_filter requests are queued without dedup: only the token keeps them single
    await frontier.push([Request("http://a.test/", dont_filter=True)])
    assert proxy.lost == 1
    assert redis_client.hlen(P + "req") == 1


async def test_an_outage_is_waited_out(frontier: RedisFrontier, proxy: FaultyProxy,
                                       caplog: pytest.LogCaptureFixture) -> None:
    new = requests(4)
    await frontier.add_unseen(new, [fingerprint(r) for r in new], None)  # dedup, then queue
    assert len(frontier._known) == 4  # known to be recorded: not asked again ...
    first = await frontier.pop(1, always)
    proxy.down()

    async def back_later() -> None:
        await asyncio.sleep(1.5)
        proxy.up()

    restore = asyncio.create_task(back_later())
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, "acrawl.frontier.redis"):
        stats = Stats()
        stats.inc("pages")
        await frontier.done(first, stats)  # waits for Redis, then acknowledges
        got = await frontier.pop(10, always)
    await restore
    assert time.monotonic() - t0 >= 1.4
    assert len(got) == 3 and frontier.unavailable is None
    assert "unreachable" in caplog.text and "retrying for up to 10s" in caplog.text
    back = re.search(r"Redis is back after ([\d.]+)s", caplog.text)
    assert back and float(back.group(1)) >= 1.4, caplog.text
    assert frontier._stats is not None and frontier._stats["frontier/outages"] == 1
    assert not frontier._known  # ... until Redis went away (it may have lost records)
    assert await frontier.size() == 0


async def test_past_the_timeout_it_gives_up_at_once_and_changes_nothing(
        proxy: FaultyProxy, redis_client: Any) -> None:
    f = RedisFrontier(url=proxy.url, prefix=P, spider=Dummy(),
                      politeness=Politeness(), lease_ttl=60,
                      outage_timeout=1, worker="w2")
    gave_up: list[FrontierUnavailable] = []
    f.on_unavailable = gave_up.append
    await f.push(requests(3))
    leased = await f.pop(2, always)
    proxy.down()
    t0 = time.monotonic()
    assert await f.pop(5, always) == []
    assert 1.0 <= time.monotonic() - t0 < 5
    assert len(gave_up) == 1 and f.unavailable is gave_up[0]
    assert "unreachable for 1s (redis_outage_timeout=1)" in str(f.unavailable)
    # from now on every call returns at once
    t1 = time.monotonic()
    await f.done(leased)
    await f.push(requests(2))
    assert await f.size() == 0 and await f.count_page(10) == 0
    await f.close()
    assert time.monotonic() - t1 < 1
    assert len(gave_up) == 1
    proxy.up()
    # Redis still holds the leases: they expire and are reclaimed as after a crash
    assert redis_client.scard(P + "mine:w2") == 2 and redis_client.hlen(P + "req") == 3


async def test_the_password_is_never_shown(proxy: FaultyProxy,
                                           caplog: pytest.LogCaptureFixture) -> None:
    url = proxy.url.replace("redis://", "redis://crawler:s3cr3t-pw@")
    f = RedisFrontier(url=url, prefix=P, spider=Dummy(),
                      politeness=Politeness(), outage_timeout=0.5, worker="w3")
    proxy.down()
    with caplog.at_level(logging.DEBUG):
        await f.size()
    assert f.unavailable is not None
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in str(f.unavailable)
    assert "crawler:***@" in str(f.unavailable) and "s3cr3t" not in repr(f)
    await f.close()


async def test_queued_by_host_counts_each_hosts_pending_requests(
        frontier: RedisFrontier) -> None:
    await frontier.push([Request(f"http://a.test/{i}") for i in range(3)]
                        + [Request("http://b.test/")])
    assert await frontier.queue.queued_by_host(["a.test", "b.test", "c.test"]) == {
        "a.test": 3, "b.test": 1, "c.test": 0}
    await frontier.pop(2, always)  # one of each host (round-robin)
    assert await frontier.queued_by_host(["a.test", "b.test"]) == {"a.test": 2, "b.test": 0}


async def test_the_results_kept_for_retries_are_bounded_and_go_with_the_worker(
        proxy: FaultyProxy, redis_client: Any) -> None:
    f = RedisFrontier(url=proxy.url, prefix=P, spider=Dummy(),
                      politeness=Politeness(), worker="w4")
    for i in range(redisfrontier.ONCE_RING + 100):  # one push (one token) each
        await f.push([Request(f"http://a.test/{i}")])
    assert redis_client.hlen(P + "once:w4") == redisfrontier.ONCE_RING
    assert 0 < redis_client.ttl(P + "once:w4") <= 86400
    await f.close()
    assert not redis_client.exists(P + "once:w4")


async def test_a_lease_redis_lost_is_forgotten_so_its_reused_id_is_not_acknowledged(
        frontier: RedisFrontier, proxy: FaultyProxy, redis_client: Any) -> None:
    """Redis came back without its last writes (a crash, a failover to a lagging replica):
    a request this worker holds is not leased to it any more, and its id is given to a new
    request. Acknowledging the old one must not delete the new one."""
    await frontier.push(requests(1))
    [old] = await frontier.pop(1, always)
    [(_, rid)] = frontier._leased.values()
    # what a Redis that lost the last second looks like: the request, its lease, the counter
    redis_client.delete(P + "seq", P + "q:h0.test")
    for key in ("req", "lease"):
        redis_client.hdel(P + key, rid)
    redis_client.zrem(P + "leases", rid)
    redis_client.srem(P + "mine:w1", rid)
    proxy.down()  # (the restart that lost them)
    proxy.up()
    await frontier.push([Request("http://new.test/")])  # gets the same id again
    assert redis_client.hexists(P + "req", rid)
    [new] = await frontier.pop(5, always)
    assert new.url == "http://new.test/"
    await frontier.done([old])  # forgotten: acknowledges nothing
    assert redis_client.hexists(P + "req", rid)
    await frontier.done([new])
    assert not redis_client.hexists(P + "req", rid)
