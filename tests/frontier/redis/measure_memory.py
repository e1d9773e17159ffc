"""Redis memory per URL of the shared frontier (not a test; the figures in docs/scaling.md).

    python tests/frontier/redis/measure_memory.py redis://127.0.0.1:6399/0 [N] [--layout-only]

Empties the given Redis database (FLUSHDB), then schedules N distinct URLs (default 1,000,000)
through the frontier's dedup and queue in batches of 1,000, drops the queue, and reports the
dedup's ``used_memory`` delta / N; then
queues 100,000 requests (typical links-spider requests) and reports bytes per pending request.
``--layout-only`` writes the fingerprints straight into the same bucket layout (HSETNX, fast),
to see how the figure grows past the listpack limit (``hash-max-listpack-entries``).
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time

import redis

from acrawl.frontier.politeness import Politeness
from acrawl.frontier.redis import RedisFrontier
from acrawl.http import Request
from acrawl.spider import Spider
from acrawl.urls import fingerprint


class _Measure(Spider):
    name = "measure"


def used(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


_LAYOUT = """
for i = 2, #ARGV do
  redis.call('HSETNX', ARGV[1] .. string.sub(ARGV[i], 1, 2), string.sub(ARGV[i], 3), '')
end
"""


def layout_only(client: redis.Redis, n: int) -> None:
    client.flushdb()
    record = client.register_script(_LAYOUT)
    before = used(client)
    for start in range(0, n, 5000):
        record(args=[b"acrawl:measure:s:", *(
            hashlib.blake2b(f"https://example.com/p/{i}".encode(), digest_size=16).digest()
            for i in range(start, min(n, start + 5000)))])
    after = used(client)
    limit = client.config_get("hash-max-listpack-entries")
    encodings: dict[str, int] = {}
    for key in client.scan_iter(match=b"acrawl:measure:s:*", count=1000):
        enc = client.object("encoding", key).decode()
        encodings[enc] = encodings.get(enc, 0) + 1
    print(f"layout: {n:,} fingerprints, {limit}, {encodings}, "
          f"{(after - before) / n:.1f} bytes/URL ({(after - before) / 2**20:.1f} MiB)")
    client.flushdb()


async def main(url: str, n: int) -> None:
    client = redis.Redis.from_url(url)
    if "--layout-only" in sys.argv:
        layout_only(client, n)
        return
    client.flushdb()
    f = RedisFrontier(url=url, prefix="acrawl:measure:", spider=_Measure(),
                      politeness=Politeness())
    f._known_max = 0  # measure Redis, not the worker's cache
    before = used(client)
    started = time.perf_counter()
    for start in range(0, n, 1000):
        reqs = [Request(f"https://example.com/p/{i}") for i in range(start, min(n, start + 1000))]
        flags = await f.dupefilter.add([fingerprint(r) for r in reqs])
        await f.queue.push([r for r, new in zip(reqs, flags, strict=True) if new])
        if start % 100_000 == 0 or start + 1000 >= n:  # keep only the dedup buckets
            client.delete("acrawl:measure:req", "acrawl:measure:q:example.com",
                          "acrawl:measure:hosts", "acrawl:measure:seq")
    took = time.perf_counter() - started
    client.delete("acrawl:measure:meta", "acrawl:measure:workers")
    after = used(client)
    buckets = client.dbsize()
    encodings: dict[str, int] = {}
    for key in client.scan_iter(match=b"acrawl:measure:s:*", count=1000):
        enc = client.object("encoding", key).decode()
        encodings[enc] = encodings.get(enc, 0) + 1
    print(f"dedup: {n:,} fingerprints, {buckets:,} bucket hashes {encodings}, "
          f"{(after - before) / n:.1f} bytes/URL ({(after - before) / 2**20:.1f} MiB), "
          f"{n / took:,.0f} URLs/s scheduled in batches of 1,000 (one worker)")
    client.flushdb()
    before = used(client)
    m = 100_000
    for start in range(0, m, 500):
        await f.queue.push([Request(f"https://host{i % 50}.example.com/p/{i}?q={i % 7}",
                                    depth=3, referer="https://host1.example.com/p/1")
                            for i in range(start, start + 500)])
    after = used(client)
    print(f"queue: {m:,} pending requests on 50 hosts, {(after - before) / m:.1f} bytes/request")
    await f.close()
    client.flushdb()
    client.close()


if __name__ == "__main__":
    numbers = [a for a in sys.argv[2:] if a.isdigit()]
    asyncio.run(main(sys.argv[1], int(numbers[0]) if numbers else 1_000_000))
