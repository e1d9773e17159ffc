"""acrawl.frontier.memory: MemoryQueue and MemoryDupeFilter, beyond the frontier contract
(tests/frontier/test_contract.py): round-robin across hosts, one look at a busy host, packed
requests keep every field, and the dedup table stays exact as it grows."""

from __future__ import annotations

from acrawl.frontier.base import DupeFilter, RequestQueue
from acrawl.frontier.memory import MemoryDupeFilter, MemoryQueue
from acrawl.http import Request


def always(host: str) -> bool:
    return True


def urls(requests: list[Request]) -> list[str]:
    return [r.url for r in requests]


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
