"""The shared frontier (``--frontier redis://HOST:PORT/DB``): queue, dedup, leases and stats in
Redis, so any number of ``acrawl-run`` processes on any number of machines share one crawl.

Keys (prefix ``acrawl:<spider>:``, or ``?prefix=...`` in the URL):

==================  =========================================================================
``seq``             counter; request ids are its values as 12 hex digits (so FIFO sorts)
``req``             HASH id -> request (versioned JSON: ``frontier.codec.encode_request``)
``q:<host>``        ZSET of the host's pending ids, score ``-priority`` (FIFO among equals)
``hosts``           ZSET of hosts with pending work, score = when the host may start its next
                    request (µs); ``pop`` serves the ready hosts round-robin, least recently
                    served first, so one big host cannot starve the others
``next:<host>``     no request to the host starts while this key lives: ``delay`` ms after a
                    request was taken, or longer for a ``Retry-After`` pause
``delay``           HASH host -> per-host delay (µs) learned by any worker (robots
                    ``Crawl-delay``, autothrottle) when above ``download_delay``
``slots:<host>``    ZSET of the host's requests being downloaded (any worker), score = expiry:
                    the global per-host concurrency
``leases``          ZSET id -> lease expiry (µs); ``lease`` HASH id -> ``worker\\tscore\\thost``;
                    ``mine:<worker>`` SET of a worker's leased ids
``s:<2 bytes>``     dedup: 65,536 HASH buckets, field = the other 14 bytes of the fingerprint
                    (small hashes stay listpack-encoded: ~26 bytes per URL, docs/scaling.md);
                    a fingerprint is recorded by the script that queues its request
``stats``           HASH of crawl-wide counters (each worker adds its deltas on commit)
``meta``            HASH: ``started`` (first worker's start, unix time), ``workers`` (joined),
                    ``pages_counted`` (pages counted against ``max_pages``, when it is set)
``workers``         ZSET worker -> last heartbeat
``once:<worker>``   HASH: the results of the worker's last 1024 ``push``/``done``/``count_page``
                    calls, by call number, for a retry after a lost reply (deleted on close)
==================  =========================================================================

Every state change is one Lua script, so it is atomic: ``pop`` takes up to ``limit`` requests
whose hosts are ready (politeness across all workers) and leases them; ``done`` deletes the
request and its lease and adds this worker's stats deltas; leases are renewed by a heartbeat
every ``ttl/3`` and any worker returns expired leases to their host queues — at-least-once: a
killed worker's requests are crawled by the others. Nothing is pickled.

A Redis that goes away (a restart, a failover) is waited for: every call is retried with
backoff for up to ``redis_outage_timeout`` seconds (:meth:`RedisFrontier._redis`), the worker
keeping its leased and its finished-but-unacknowledged requests meanwhile. A call whose reply
was lost may have run: ``push``, ``done`` and ``count_page`` carry a token (results kept in
``once:<worker>``, :func:`_once`) so that running them again returns the first result, and
after an outage the requests Redis leased to this worker by a ``pop`` whose reply never came
are given back at once (:meth:`RedisFrontier._reconcile`), not when their lease expires.
Past the timeout the frontier gives up: :attr:`RedisFrontier.unavailable` is set,
``on_unavailable`` is called (the crawler stops the engine) and every call returns at once,
changing nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from ..errors import ConfigError, FrontierUnavailable, SerializationError
from ..urls import fingerprint
from .base import DupeFilter, OnInvalid, RequestQueue, report_invalid
from .codec import decode_request, encode_request

if TYPE_CHECKING:
    from ..http import Request
    from ..settings import Settings
    from ..spider import Spider
    from ..stats import Stats
    from .politeness import Politeness

__all__ = ["RedisFrontier"]

logger = logging.getLogger(__name__)

MIN_REDIS = (5, 0)  # ZPOPMIN; scripts replicated by effects (TIME before writes)
_US = 1_000_000

# -- Lua ------------------------------------------------------------------------------------------
# ARGV[1] is always the key prefix. Helpers shared by the scripts:
_LUA_COMMON = r"""
local P = ARGV[1]
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- free a host slot; a host parked because its slots were full becomes ready (or waits out
-- its delay)
local function free_slot(h, id, now)
  if redis.call('ZREM', P .. 'slots:' .. h, id) == 1 then
    local cur = redis.call('ZSCORE', P .. 'hosts', h)
    if cur then
      local target = now
      local pttl = redis.call('PTTL', P .. 'next:' .. h)
      if pttl > 0 then target = now + pttl * 1000 end
      if tonumber(cur) > target then redis.call('ZADD', P .. 'hosts', target, h) end
    end
  end
end
-- end a lease; return the request to its host queue if it still exists
local function requeue(id, now)
  redis.call('ZREM', P .. 'leases', id)
  local info = redis.call('HGET', P .. 'lease', id)
  if not info then return 0 end
  redis.call('HDEL', P .. 'lease', id)
  local w, score, h = string.match(info, '^([^\t]*)\t([^\t]*)\t(.*)$')
  redis.call('SREM', P .. 'mine:' .. w, id)
  free_slot(h, id, now)
  if redis.call('HEXISTS', P .. 'req', id) == 1 then
    redis.call('ZADD', P .. 'q:' .. h, score, id)
    redis.call('ZADD', P .. 'hosts', 'NX', now, h)
    return 1
  end
  return 0
end
"""

# ARGV: prefix, n, then n x (host, score, body, fingerprint or ''). A request with a fingerprint
# is recorded as seen and queued in one step -- or dropped if another worker recorded it first.
# So a worker killed between its dedup check and its push loses nothing. Returns how many were
# dropped.
_LUA_PUSH = _LUA_COMMON + r"""
local n = tonumber(ARGV[2])
local base = redis.call('INCRBY', P .. 'seq', n) - n
local now = now_us()
local dropped = 0
for i = 0, n - 1 do
  local h, score, body, fp = ARGV[3 + 4 * i], ARGV[4 + 4 * i], ARGV[5 + 4 * i], ARGV[6 + 4 * i]
  if fp == '' or redis.call('HSETNX', P .. 's:' .. string.sub(fp, 1, 2), string.sub(fp, 3),
                            '') == 1 then
    local id = string.format('%012x', base + i + 1)
    redis.call('HSET', P .. 'req', id, body)
    redis.call('ZADD', P .. 'q:' .. h, score, id)
    redis.call('ZADD', P .. 'hosts', 'NX', now, h)
  else
    dropped = dropped + 1
  end
end
return dropped
"""

# ARGV: prefix, worker, limit, per_host, default delay (µs), lease ttl (µs), k, k x (host, delay),
# m, m x (id, host) slots to free first (downloads finished since the last call),
# n, n x (host, pause µs) hosts a server asked to leave alone (Retry-After).
# Returns id1, body1, id2, body2, ..., then µs until the next host is ready ('-1': no host).
_LUA_POP = _LUA_COMMON + r"""
local W = ARGV[2]
local limit = tonumber(ARGV[3])
local per_host = tonumber(ARGV[4])
local default_delay = tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local k = tonumber(ARGV[7])
local now = now_us()
for i = 0, k - 1 do
  local h, d = ARGV[8 + 2 * i], ARGV[9 + 2 * i]
  if tonumber(d) <= default_delay then redis.call('HDEL', P .. 'delay', h)
  else redis.call('HSET', P .. 'delay', h, d) end
end
local m0 = 9 + 2 * k
local m = tonumber(ARGV[8 + 2 * k])
for i = m0, m0 + 2 * m - 1, 2 do
  if redis.call('SISMEMBER', P .. 'mine:' .. W, ARGV[i]) == 1 then
    free_slot(ARGV[i + 1], ARGV[i], now)
  end
end
local hk = P .. 'hosts'
local n0 = m0 + 2 * m
for i = n0 + 1, n0 + 2 * tonumber(ARGV[n0]), 2 do
  local h, pause = ARGV[i], tonumber(ARGV[i + 1])
  local ms = math.ceil(pause / 1000)
  if ms > 0 and redis.call('PTTL', P .. 'next:' .. h) < ms then
    redis.call('SET', P .. 'next:' .. h, '1', 'PX', ms)
    local cur = redis.call('ZSCORE', hk, h)
    if cur and tonumber(cur) < now + pause then redis.call('ZADD', hk, now + pause, h) end
  end
end
local exp = now + ttl
local out = {}
local taken = 0
local bump = 0
while taken < limit do
  local ready = redis.call('ZRANGEBYSCORE', hk, '-inf', now, 'LIMIT', 0, limit - taken)
  if #ready == 0 then break end
  local cands = {}
  for i, h in ipairs(ready) do
    local d = tonumber(redis.call('HGET', P .. 'delay', h) or default_delay)
    if d < default_delay then d = default_delay end
    local pttl = redis.call('PTTL', P .. 'next:' .. h)
    if pttl > 0 then
      redis.call('ZADD', hk, now + pttl * 1000, h)  -- waiting out its delay or a pause
    else
      local sk = P .. 'slots:' .. h
      redis.call('ZREMRANGEBYSCORE', sk, '-inf', now)
      local cap = per_host - redis.call('ZCARD', sk)
      if cap <= 0 then
        local first = redis.call('ZRANGE', sk, 0, 0, 'WITHSCORES')
        redis.call('ZADD', hk, first[2], h)  -- parked until a slot is freed or expires
      else
        local head = redis.call('ZRANGE', P .. 'q:' .. h, 0, 0, 'WITHSCORES')
        if #head == 0 then
          redis.call('ZREM', hk, h)
        else
          if d > 0 then cap = 1 end
          cands[#cands + 1] = {h, cap, tonumber(head[2]), i, d, 0}
        end
      end
    end
  end
  -- among the ready hosts, the highest priority head first, then the least recently served
  table.sort(cands, function(a, b)
    if a[3] ~= b[3] then return a[3] < b[3] end
    return a[4] < b[4]
  end)
  local progress = true
  while progress and taken < limit do  -- round-robin: one request per host per round
    progress = false
    for _, c in ipairs(cands) do
      if taken >= limit then break end
      if c[2] > 0 then
        local h = c[1]
        local popped = redis.call('ZPOPMIN', P .. 'q:' .. h)
        if #popped == 0 then
          c[2] = 0
        else
          local id, score = popped[1], popped[2]
          local body = redis.call('HGET', P .. 'req', id)
          if body then
            redis.call('ZADD', P .. 'leases', exp, id)
            redis.call('HSET', P .. 'lease', id, W .. '\t' .. score .. '\t' .. h)
            redis.call('SADD', P .. 'mine:' .. W, id)
            redis.call('ZADD', P .. 'slots:' .. h, exp, id)
            out[#out + 1] = id
            out[#out + 1] = body
            taken = taken + 1
            c[2] = c[2] - 1
            c[6] = c[6] + 1
          end
          progress = true
        end
      end
    end
  end
  for _, c in ipairs(cands) do
    local h = c[1]
    if c[6] > 0 and c[5] > 0 then
      redis.call('SET', P .. 'next:' .. h, '1', 'PX', math.ceil(c[5] / 1000))
    end
    if redis.call('EXISTS', P .. 'q:' .. h) == 0 then
      redis.call('ZREM', hk, h)
    elseif c[6] > 0 then
      if c[5] > 0 then
        redis.call('ZADD', hk, now + c[5], h)
      elseif c[2] <= 0 then
        local first = redis.call('ZRANGE', P .. 'slots:' .. h, 0, 0, 'WITHSCORES')
        redis.call('ZADD', hk, first[2], h)
      else
        bump = bump + 1
        redis.call('ZADD', hk, now + bump, h)  -- to the back of the line
      end
    end
  end
end
local nxt = redis.call('ZRANGE', hk, 0, 0, 'WITHSCORES')
if nxt[2] then out[#out + 1] = tostring(tonumber(nxt[2]) - now) else out[#out + 1] = '-1' end
return out
"""

# ARGV: prefix, worker, n, n ids, then (stat, delta) pairs. Returns the number acknowledged.
_LUA_DONE = _LUA_COMMON + r"""
local W = ARGV[2]
local n = tonumber(ARGV[3])
local now = now_us()
local acked = 0
for i = 4, 3 + n do
  local id = ARGV[i]
  if redis.call('SREM', P .. 'mine:' .. W, id) == 1 then
    local info = redis.call('HGET', P .. 'lease', id)
    redis.call('HDEL', P .. 'lease', id)
    redis.call('ZREM', P .. 'leases', id)
    redis.call('HDEL', P .. 'req', id)
    if info then
      local h = string.match(info, '^[^\t]*\t[^\t]*\t(.*)$')
      free_slot(h, id, now)
    end
    acked = acked + 1
  end
end
for i = 4 + n, #ARGV - 1, 2 do
  redis.call('HINCRBY', P .. 'stats', ARGV[i], ARGV[i + 1])
end
return acked
"""

# ARGV: prefix, worker, then (id, host) pairs: downloads finished, free their host slots
_LUA_RELEASE = _LUA_COMMON + r"""
local now = now_us()
for i = 3, #ARGV - 1, 2 do
  if redis.call('SISMEMBER', P .. 'mine:' .. ARGV[2], ARGV[i]) == 1 then
    free_slot(ARGV[i + 1], ARGV[i], now)
  end
end
return 0
"""

# ARGV: prefix, worker, ttl (µs), then (id, host or '' when its slot was released) pairs.
# Returns the ids that are no longer this worker's.
_LUA_HEARTBEAT = _LUA_COMMON + r"""
local W = ARGV[2]
local now = now_us()
local exp = now + tonumber(ARGV[3])
local lost = {}
redis.call('ZADD', P .. 'workers', now, W)
for i = 4, #ARGV - 1, 2 do
  local id, h = ARGV[i], ARGV[i + 1]
  if redis.call('SISMEMBER', P .. 'mine:' .. W, id) == 1 then
    redis.call('ZADD', P .. 'leases', 'XX', exp, id)
    if h ~= '' then redis.call('ZADD', P .. 'slots:' .. h, 'XX', exp, id) end
  else
    lost[#lost + 1] = id
  end
end
return lost
"""

# ARGV: prefix, max. Expired leases (any worker's) back to their queues; returns how many.
_LUA_RECLAIM = _LUA_COMMON + r"""
local now = now_us()
local ids = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', now, 'LIMIT', 0,
                       tonumber(ARGV[2]))
for _, id in ipairs(ids) do requeue(id, now) end
return #ids
"""

# ARGV: prefix, worker, ids. This worker's leases back to their queues (refused, or stopping).
_LUA_GIVE_BACK = _LUA_COMMON + r"""
local W = ARGV[2]
local now = now_us()
local n = 0
for i = 3, #ARGV do
  if redis.call('SISMEMBER', P .. 'mine:' .. W, ARGV[i]) == 1 then
    n = n + requeue(ARGV[i], now)
  end
end
return n
"""

# ARGV: prefix, worker. Requests stored (pending or leased anywhere) minus this worker's leases:
# pending work plus what other workers (alive or not yet reclaimed) still hold.
_LUA_SIZE = r"""
local P = ARGV[1]
return redis.call('HLEN', P .. 'req') - redis.call('SCARD', P .. 'mine:' .. ARGV[2])
"""

# ARGV: prefix, limit. Counts one more page unless ``limit`` are counted: its number, or 0.
_LUA_COUNT_PAGE = r"""
local key = ARGV[1] .. 'meta'
local n = tonumber(redis.call('HGET', key, 'pages_counted') or '0')
if n >= tonumber(ARGV[2]) then return 0 end
return redis.call('HINCRBY', key, 'pages_counted', 1)
"""

# ARGV: bucket prefix, fingerprints. 1 = recorded as seen, 0 = not (yet).
_LUA_SEEN = r"""
local B = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local fp = ARGV[i]
  out[i - 1] = redis.call('HEXISTS', B .. string.sub(fp, 1, 2), string.sub(fp, 3))
end
return out
"""


# ARGV: prefix, worker, then the ids this worker knows it holds. Every other request leased to
# it (by a pop whose reply was lost) goes back to its queue now. Returns how many, then the
# known ids that are not leased to it any more (expired and reclaimed, or lost by Redis).
_LUA_ORPHANS = _LUA_COMMON + r"""
local W = ARGV[2]
local known = {}
for i = 3, #ARGV do known[ARGV[i]] = true end
local now = now_us()
local n = 0
local mine = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'mine:' .. W)) do
  mine[id] = true
  if not known[id] then
    requeue(id, now)
    n = n + 1
  end
end
local out = {n}
for i = 3, #ARGV do
  if not mine[ARGV[i]] then out[#out + 1] = ARGV[i] end
end
return out
"""


#: results of a worker's last calls kept for a retry (per worker: a bounded ring)
ONCE_RING = 1024


def _once(script: str) -> str:
    """``script`` (one returning an integer) run at most once per token: called again with the
    same token -- a retry after the reply was lost -- it returns the first result instead of
    running again. ``KEYS[1]`` is the worker's ring of results (a HASH, slot = token modulo
    :data:`ONCE_RING`: far more than the calls a worker has on their way at once), ``KEYS[2]``
    the token (the worker's call number)."""
    return (f"local function once_body()\n{script}\nend\n"
            f"local slot = tostring(tonumber(KEYS[2]) % {ONCE_RING})\n"
            "local prev = redis.call('HGET', KEYS[1], slot)\n"
            "if prev then\n"
            "  local token, result = string.match(prev, '^(%d+):(-?%d+)$')\n"
            "  if token == KEYS[2] then return tonumber(result) end\n"
            "end\n"
            "local result = once_body()\n"
            "redis.call('HSET', KEYS[1], slot, KEYS[2] .. ':' .. tostring(result))\n"
            "redis.call('EXPIRE', KEYS[1], 86400)\n"
            "return result\n")


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = f"{parts.username}:***@" if parts.username else ":***@"
        return urlunsplit(parts._replace(netloc=user + netloc))
    return url


SENTINEL = "redis+sentinel"


def parse_frontier_url(url: str, spider_name: str) -> tuple[str, str]:
    """``(client URL, key prefix)`` from ``redis://HOST:PORT/DB[?prefix=P]`` (or
    ``rediss://``, ``unix://``, ``redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB]``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix", SENTINEL):
        raise ConfigError(f"--frontier {_redacted(url)}: expected redis://HOST:PORT/DB "
                          "(or rediss://, unix://, redis+sentinel://)")
    db = parts.path.strip("/")
    if parts.scheme == SENTINEL:
        service, _, db = db.partition("/")
        if not service or not _sentinels(parts.netloc):
            raise ConfigError(f"--frontier {_redacted(url)}: expected redis+sentinel://"
                              "HOST:PORT[,HOST:PORT...]/SERVICE[/DB]")
    if parts.scheme != "unix" and db and not db.isdigit():
        raise ConfigError(f"--frontier {_redacted(url)}: the database must be a number "
                          f"(redis://HOST:PORT/0), not {db!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = f"acrawl:{spider_name}:"
    rest = []
    for key, value in query:
        if key == "prefix":
            if not value:
                raise ConfigError("--frontier: ?prefix= must not be empty")
            prefix = value if value.endswith(":") else value + ":"
        else:
            rest.append((key, value))
    return urlunsplit(parts._replace(query=urlencode(rest))), prefix


def _sentinels(netloc: str) -> list[tuple[str, int]]:
    """``"a:26379,b"`` (after any ``user:password@``) -> ``[("a", 26379), ("b", 26379)]``;
    [] if a port is not a number."""
    out = []
    for entry in netloc.rpartition("@")[2].split(","):
        host, _, port = entry.strip().rpartition(":") if ":" in entry else (entry, "", "")
        if not host.strip("[]") or (port and not port.isdigit()):
            return []
        out.append((host.strip("[]"), int(port or 26379)))
    return out


def connect(url: str, *, asynchronous: bool, **options: Any) -> Any:
    """A redis-py client for a URL that :func:`parse_frontier_url` returned: ``from_url``,
    or for ``redis+sentinel://`` the current master of the service, as the sentinels tell
    (and tell again after a failover, on the next connection)."""
    redis = _import_redis()
    parts = urlsplit(url)
    if parts.scheme != SENTINEL:
        cls = redis.asyncio.Redis if asynchronous else redis.Redis
        return cls.from_url(url, **options)
    import redis.asyncio.sentinel
    import redis.sentinel

    userinfo = parts.netloc.rpartition("@")[0]
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    service, _, db = parts.path.strip("/").partition("/")
    timeouts = {k: options[k] for k in ("socket_timeout", "socket_connect_timeout")
                if k in options}
    module = redis.asyncio.sentinel if asynchronous else redis.sentinel
    sentinel = module.Sentinel(_sentinels(parts.netloc), sentinel_kwargs=timeouts)
    return sentinel.master_for(service, db=int(db or 0), username=unquote(username) or None,
                               password=unquote(password) or None, **options)


def _import_redis() -> Any:
    try:
        import redis.asyncio
    except ImportError:
        raise ConfigError("--frontier needs the redis client: pip install acrawl[redis]") from None
    return redis


class RedisFrontier:
    """One worker's view of a shared crawl; ``.queue`` and ``.dupefilter`` implement the
    frontier interfaces (:mod:`acrawl.frontier.base`). Build it with :meth:`from_url`.

    ``politeness`` is the worker's (the scheduler's): its ``per_host`` and ``download_delay``
    are enforced for all workers together, and the per-host delays and pauses it learns
    (robots.txt ``Crawl-delay``, AutoThrottle, ``Retry-After``) are passed on to the others
    with the next ``pop``."""

    poll_max = 0.2  # how often an idle worker asks again at most (others add work)
    #: longest wait between two attempts while Redis is unreachable
    backoff_max = 1.0

    def __init__(
        self,
        *,
        url: str,
        prefix: str,
        spider: Spider,
        politeness: Politeness,
        lease_ttl: float = 60.0,
        outage_timeout: float = 60.0,
        worker: str | None = None,
        client: Any = None,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.spider = spider
        self.politeness = politeness
        self.lease_ttl = lease_ttl
        self.outage_timeout = outage_timeout
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.crawl_stats: dict[str, Any] | None = None  # the whole crawl's, after close()
        self._client = client
        self._scripts: dict[str, Any] = {}
        self._prefix_b = prefix.encode()
        self._leased: dict[int, tuple[Request, str]] = {}  # id(request) -> (request, rid)
        self._slots: dict[str, str] = {}  # rid -> host, until released
        self._sent_delay: dict[str, float] = {}  # host -> delay last told to Redis
        self._delay_updates: dict[str, float] = {}
        self._sent_pause: dict[str, float] = {}  # host -> end of the pause told to Redis
        self._encoded: dict[int, tuple[Request, bytes]] = {}
        self._known: set[bytes] = set()  # fingerprints known to be in Redis
        self._checked: set[bytes] = set()  # new by add(), recorded by the push that follows
        self.late_duplicates = 0  # new at add(), but another worker queued them first
        self._known_max = 1 << 18
        self._pushed: Counter[str] = Counter()
        self._stats: Stats | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._releases: list[str] = []  # id, host, id, host...: slots to free
        self._release_timer: asyncio.TimerHandle | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._hint: float | None = None
        self._started = False
        self._closed = False
        # -- outages (see _redis) --
        #: set once Redis stayed away past outage_timeout: every call then returns at once
        self.unavailable: FrontierUnavailable | None = None
        #: called (once) with :attr:`unavailable` when the frontier gives up
        self.on_unavailable: Callable[[FrontierUnavailable], None] | None = None
        self._down_since: float | None = None  # monotonic start of the current outage
        self._outages = 0  # outages so far ...
        self._reconciled = 0  # ... and how many of them _reconcile has cleaned up after
        self._tokens = 0
        self._pop_lock = asyncio.Lock()
        self.queue = _RedisQueue(self)
        self.dupefilter = _RedisSeen(self)

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_url(cls, url: str, *, spider: Spider, settings: Settings,
                 politeness: Politeness) -> RedisFrontier:
        """Check that Redis answers (ConfigError, one line, if not) and build the frontier."""
        redis = _import_redis()
        client_url, prefix = parse_frontier_url(url, spider.name)
        shown = _redacted(url)
        try:
            probe = connect(client_url, asynchronous=False, socket_connect_timeout=5,
                            socket_timeout=10, protocol=2)
            try:
                version = str(probe.info("server").get("redis_version", "0"))
            finally:
                probe.close()
        except (redis.RedisError, OSError, ValueError) as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            raise ConfigError(f"--frontier {shown}: cannot use Redis: {message}") from None
        found = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
        if found < MIN_REDIS:
            raise ConfigError(f"--frontier {shown}: Redis {version} is too old "
                              f"(needs {'.'.join(map(str, MIN_REDIS))} or later)")
        return cls(url=client_url, prefix=prefix, spider=spider, politeness=politeness,
                   lease_ttl=settings["redis_lease_ttl"],
                   outage_timeout=settings["redis_outage_timeout"])

    def bind_stats(self, stats: Stats) -> None:
        """Count this worker's Redis outages in ``stats``."""
        self._stats = stats

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            _import_redis()
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # RESP2 (what every redis-py >= 5 and Redis >= 5 speak alike). No retries inside
            # redis-py: _redis retries every call itself, knowing which calls may have run
            # (a retry hidden in the client would re-run a pop whose reply was lost unseen)
            self._client = connect(self.url, asynchronous=True, socket_connect_timeout=5,
                                   socket_timeout=10, protocol=2, retry=Retry(NoBackoff(), 0))
        return self._client

    async def _run(self, name: str, args: Sequence[Any], *, gone: Any = None) -> Any:
        """Run script ``name`` through :meth:`_redis` (``gone``: its result once the frontier
        gave up)."""
        script = self._scripts.get(name)
        if script is None:
            source = _SCRIPTS[name]
            if name in _ONCE:
                source = _once(source)
            script = self._scripts[name] = self.client.register_script(source)
        keys: list[str] = []
        if name in _ONCE:  # one token for every attempt of this call
            self._tokens += 1
            keys = [f"{self.prefix}once:{self.worker}", str(self._tokens)]
        argv = [self.prefix, *args]
        return await self._redis(name, lambda: script(keys=keys, args=argv), gone=gone)

    async def _redis(self, what: str, make: Callable[[], Any], *, gone: Any = None) -> Any:
        """Await ``make()`` (one Redis call, built afresh for each attempt), retrying while
        Redis is unreachable -- refused or reset connections, timeouts, a Redis loading its
        data set or a read-only replica after a failover -- for up to ``outage_timeout``
        seconds from the start of the outage. Past that (or once the frontier has given up)
        it returns ``gone``."""
        if self.unavailable is not None:
            return gone
        transient = _transient_errors()
        attempt = 0
        while True:
            try:
                result = await _call(make())
            except transient as exc:
                attempt += 1
                if not await self._outage(what, exc, attempt):
                    return gone
                continue
            if self._down_since is not None:
                self._back()
            return result

    async def _outage(self, what: str, exc: BaseException, attempt: int) -> bool:
        """A call failed for want of Redis: wait before its next attempt (True), or give up
        (False) once the outage is older than ``outage_timeout``."""
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
            self._outages += 1
            if self._stats is not None:
                self._stats.inc("frontier/outages")
            logger.warning("shared frontier: Redis %s unreachable (%s); retrying for up to "
                           "%gs (redis_outage_timeout)", _redacted(self.url), _describe(exc),
                           self.outage_timeout)
        if self.unavailable is not None:
            return False
        down = now - self._down_since
        if down >= self.outage_timeout:
            self.unavailable = FrontierUnavailable(
                f"shared frontier: Redis {_redacted(self.url)} unreachable for {down:.0f}s "
                f"(redis_outage_timeout={self.outage_timeout:g}): {_describe(exc)}")
            logger.debug("shared frontier: giving up (%s failed)", what)
            if self.on_unavailable is not None:
                self.on_unavailable(self.unavailable)
            return False
        wait = min(self.backoff_max, 0.05 * 2 ** min(attempt, 8)) * random.uniform(0.5, 1.0)
        await asyncio.sleep(min(wait, max(0.0, self.outage_timeout - down) + 0.01))
        return True

    def _back(self) -> None:
        """Redis answers again. It may have lost its last writes (a replica promoted before it
        had them, a crash with ``appendfsync everysec``): the fingerprints this worker knew to
        be recorded are asked again, so that none whose record was lost is dropped."""
        assert self._down_since is not None
        down = time.monotonic() - self._down_since
        self._down_since = None
        self._known.clear()
        if self._stats is not None:
            self._stats.inc("frontier/outage_ms", round(down * 1000))
        logger.warning("shared frontier: Redis is back after %.1fs", down)

    async def _reconcile(self) -> None:
        """After an outage, make this worker's leases and Redis's agree: give back the
        requests Redis leased to it that it does not know of (a pop whose reply was lost)
        instead of leaving them leased until their lease expires, and forget those it holds
        that Redis no longer leases to it (expired and reclaimed, or lost by a Redis that came
        back without its last writes: their ids may be given to new requests, which an
        acknowledgement of the old ones must not delete). Called by :meth:`pop`, under its
        lock (no pop reply is on its way)."""
        outages = self._outages
        known = [rid for _req, rid in self._leased.values()]
        reply = await self._run("orphans", [self.worker, *known])
        if reply is None:  # the frontier gave up
            return
        if self._outages == outages and self.unavailable is None:
            self._reconciled = outages
        n = int(reply[0])
        if n:
            logger.warning("shared frontier: %d requests leased by a pop whose reply was lost "
                           "returned to the queue", n)
        lost = {rid.decode() for rid in reply[1:]}
        if lost:
            for key, (_req, rid) in list(self._leased.items()):
                if rid in lost:
                    del self._leased[key]
                    self._slots.pop(rid, None)
            logger.warning("shared frontier: %d requests of this worker are no longer leased "
                           "to it (expired, or lost by Redis): left to the other workers",
                           len(lost))

    async def _start(self) -> None:
        if self._started:
            return
        self._started = True
        c = self.client
        meta = self.prefix + "meta"

        def join() -> Any:
            pipe = c.pipeline(transaction=True)
            pipe.hsetnx(meta, "started", repr(time.time()))
            pipe.hincrby(meta, "workers", 1)
            pipe.zadd(self.prefix + "workers", {self.worker: time.time() * _US})
            return pipe.execute()

        await self._redis("start", join)
        self._heartbeat = asyncio.get_running_loop().create_task(
            self._beat(), name="acrawl-redis-heartbeat")

    async def _beat(self) -> None:
        """Every ttl/3: renew this worker's leases, return expired ones (any worker's).
        Stopped by :attr:`_stopping` (cancelling alone is not relied on, see :func:`_call`)."""
        interval = self.lease_ttl / 3
        stopping = self._stopping
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), interval)
                return
            except TimeoutError:
                pass
            try:
                await self.renew()
                await self.reclaim()
            except Exception as exc:  # (an outage is waited out inside _redis)
                logger.warning("shared frontier: heartbeat failed: %s", exc)

    async def renew(self) -> int:
        """Extend this worker's leases (and the host slots of its downloads) by the TTL;
        returns how many were lost (expired and taken back by another worker)."""
        args: list[Any] = [self.worker, int(self.lease_ttl * _US)]
        for _req, rid in self._leased.values():
            args += [rid, self._slots.get(rid, "")]
        gone = {rid.decode() for rid in await self._run("heartbeat", args, gone=[])}
        # (acknowledged meanwhile is not lost)
        lost = sum(1 for _req, rid in self._leased.values() if rid in gone)
        if lost:
            logger.warning("shared frontier: %d leases of this worker expired and were given "
                           "to other workers (was it paused longer than redis_lease_ttl?)",
                           lost)
        return lost

    async def reclaim(self, limit: int = 1000) -> int:
        """Return expired leases (of any worker) to the queue; how many."""
        n = int(await self._run("reclaim", [limit], gone=0))
        if n:
            logger.info("shared frontier: %d expired leases returned to the queue", n)
        return n

    def _stats_delta(self) -> list[Any]:
        if self._stats is None:
            return []
        if self.late_duplicates:  # counted as scheduled by the engine, dropped by push
            self._stats.inc("dropped/duplicate", self.late_duplicates)
            self._stats.inc("requests/scheduled", -self.late_duplicates)
            self.late_duplicates = 0
        out: list[Any] = []
        pushed = self._pushed
        for key, value in self._stats.counters.items():
            delta = value - pushed.get(key, 0)
            if delta:
                out += [key, delta]
                pushed[key] = value  # at once: concurrent calls must not send it twice
        return out

    def _stats_unsent(self, delta: list[Any]) -> None:
        """The call carrying ``delta`` failed: send it with the next one."""
        for i in range(0, len(delta), 2):
            self._pushed[delta[i]] -= delta[i + 1]

    # -- the queue ------------------------------------------------------------------------------
    def encode(self, request: Request) -> bytes:
        key = id(request)
        cached = self._encoded.get(key)
        if cached is not None and cached[0] is request:
            return cached[1]
        data = encode_request(request, self.spider)
        if len(self._encoded) >= 4096:
            self._encoded.clear()
        self._encoded[key] = (request, data)
        return data

    async def add_unseen(
        self,
        requests: Sequence[Request],
        fingerprints: Sequence[bytes | None],
        on_invalid: Callable[[Request, Exception], None] | None,
    ) -> list[Request]:
        """Dedup (:meth:`seen_add`) and queue (:meth:`push`); a request whose fingerprint this
        worker already knows as seen is dropped without being encoded (most links on a page),
        one that cannot be stored is reported and not marked seen. ``None``: ``dont_filter``."""
        known, checked = self._known, self._checked
        valid: list[Request] = []
        fps: list[bytes] = []
        invalid: list[tuple[Request, Exception]] = []
        for req, fp in zip(requests, fingerprints, strict=True):
            if fp is not None and (fp in known or fp in checked):
                continue
            try:
                self.encode(req)
            except SerializationError as exc:
                invalid.append((req, exc))
                continue
            valid.append(req)
            if fp is not None:
                fps.append(fp)
        flags = iter(await self.seen_add(fps) if fps else ())
        accepted = [r for r in valid if r.dont_filter or next(flags)]
        await self.push(accepted)
        report_invalid(invalid, on_invalid)
        return accepted

    async def push(self, requests: Sequence[Request]) -> None:
        if not requests:
            return
        await self._start()
        for start in range(0, len(requests), 500):
            chunk = requests[start:start + 500]
            args: list[Any] = [len(chunk)]
            recorded: list[bytes] = []
            for r in chunk:
                fp = b""
                if not r.dont_filter and self._checked:  # else a retry: no dedup
                    key = fingerprint(r)
                    if key in self._checked:
                        fp = key
                        recorded.append(key)
                args += [r.host, -r.priority, self.encode(r), fp]
            dropped = int(await self._run("push", args, gone=0))
            self.late_duplicates += dropped
            for fp in recorded:
                self._checked.discard(fp)
            self._remember(recorded)
        self._encoded.clear()

    async def pop(self, limit: int, claim: Callable[[str], bool]) -> list[Request]:
        if limit <= 0:
            return []
        async with self._pop_lock:
            # after an outage: before this pop (stale leases out of the way) and after it
            # (if its own reply was lost)
            if self._reconciled != self._outages and self.unavailable is None:
                await self._reconcile()
            out = await self._pop(limit, claim)
            if self._reconciled != self._outages and self.unavailable is None:
                await self._reconcile()
        return out

    async def _pop(self, limit: int, claim: Callable[[str], bool]) -> list[Request]:
        await self._start()
        polite = self.politeness
        updates = self._delay_updates
        self._delay_updates = {}
        args: list[Any] = [self.worker, limit, polite.per_host, int(polite.download_delay * _US),
                           int(self.lease_ttl * _US), len(updates)]
        for host, d in updates.items():
            args += [host, int(d * _US)]
        releases, self._releases = self._releases, []
        args += [len(releases) // 2, *releases]
        pauses = self._new_pauses()
        args += [len(pauses) // 2, *pauses]
        reply = await self._run("pop", args)
        if reply is None:  # the frontier gave up
            return []
        hint = float(reply[-1])
        self._hint = None if hint < 0 else hint / _US
        out: list[Request] = []
        refused: list[str] = []
        unreadable: list[str] = []
        for i in range(0, len(reply) - 1, 2):
            rid = reply[i].decode()
            try:
                req = decode_request(reply[i + 1])
            except (SerializationError, ValueError, KeyError, TypeError) as exc:
                logger.error("shared frontier: dropping unreadable request %s: %s", rid, exc)
                unreadable.append(rid)
                continue
            host = req.host
            if not claim(host):
                refused.append(rid)
                continue
            self._leased[id(req)] = (req, rid)
            self._slots[rid] = host
            out.append(req)
            self._note_delay(host)
        if unreadable:
            await self._run("done", [self.worker, len(unreadable), *unreadable])
        if refused:
            await self._run("give_back", [self.worker, *refused])
        return out

    def _note_delay(self, host: str) -> None:
        """Tell Redis (with the next pop) when this host's effective delay changed."""
        polite = self.politeness
        d = polite.delay(host)
        last = self._sent_delay.get(host, polite.download_delay)
        if abs(d - last) > max(0.01, 0.1 * last):
            self._sent_delay[host] = d
            self._delay_updates[host] = d

    def _new_pauses(self) -> list[Any]:
        """(host, µs left) of the pauses this worker's politeness took since the last pop."""
        paused = self.politeness.pauses()
        sent = self._sent_pause
        if not paused and not sent:
            return []
        now = self.politeness.clock()
        out: list[Any] = []
        for host, until in paused.items():
            if sent.get(host) != until:
                sent[host] = until
                out += [host, int((until - now) * _US)]
        for host in [h for h in sent if h not in paused]:  # over
            del sent[host]
        return out

    def release(self, request: Request) -> None:
        lease = self._leased.get(id(request))
        if lease is None:
            return
        rid = lease[1]
        host = self._slots.pop(rid, None)
        if host is None or self._closed:
            return
        # batched: sent with the next pop (which usually follows at once), else within 10 ms
        self._releases += [rid, host]
        if self._release_timer is None:
            self._release_timer = asyncio.get_running_loop().call_later(
                0.01, self._flush_releases)

    def _flush_releases(self) -> None:
        self._release_timer = None
        if self._releases and not self._closed:
            task = asyncio.get_running_loop().create_task(self._release())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _release(self) -> None:
        releases, self._releases = self._releases, []
        if not releases:
            return
        try:
            await self._run("release", [self.worker, *releases], gone=0)
        except Exception as exc:  # the slots expire with the leases
            logger.debug("shared frontier: releasing %d slots failed: %s", len(releases) // 2,
                         exc)

    async def done(self, requests: Sequence[Request], stats: Stats | None = None) -> None:
        """Acknowledge ``requests`` (and add ``stats``' new counts to the crawl's), atomically."""
        if stats is not None:
            self._stats = stats
        leased = self._leased
        rids = [lease[1] for lease in (leased.get(id(r)) for r in requests) if lease is not None]
        delta = self._stats_delta()
        if rids or delta:
            try:
                acked = await self._run("done", [self.worker, len(rids), *rids, *delta])
            except Exception:  # (cancelled: the shielded call still runs, see _call)
                self._stats_unsent(delta)
                raise
            if acked is None:  # the frontier gave up: the leases expire, others crawl them
                return
        # forgotten only once acknowledged: if that call fails or is cancelled they are still
        # renewed, and handed back by close() (a no-op for those Redis did acknowledge)
        for req in requests:
            lease = leased.pop(id(req), None)
            if lease is not None:
                self._slots.pop(lease[1], None)

    async def size(self) -> int:
        await self._start()
        return max(0, int(await self._run("size", [self.worker], gone=0)))

    async def queued_by_host(self, hosts: Sequence[str]) -> dict[str, int]:
        """How many requests of each of ``hosts`` are pending, crawl-wide (the live view)."""
        def count() -> Any:
            pipe = self.client.pipeline(transaction=False)
            for host in hosts:
                pipe.zcard(f"{self.prefix}q:{host}")
            return pipe.execute()

        replies = await self._redis("queued", count, gone=None) if hosts else []
        return dict(zip(hosts, replies, strict=True)) if replies is not None else {}

    async def count_page(self, limit: int) -> int:
        """Count a page that is to reach a callback against ``max_pages`` (``limit``), for the
        whole crawl, all workers and runs together: its number, or 0 if ``limit`` pages are
        counted already (the page is not crawled)."""
        await self._start()
        return int(await self._run("count_page", [limit], gone=0))

    @property
    def poll_interval(self) -> float:
        hint = self._hint
        if hint is None:
            return self.poll_max
        return min(self.poll_max, max(0.02, hint))

    # -- dedup ----------------------------------------------------------------------------------
    async def seen_add(self, fingerprints: Sequence[bytes]) -> list[bool]:
        """New (``True``) unless recorded in Redis, or already answered new by this worker.

        A new fingerprint is recorded by the :meth:`push` of its request, in the same script
        that queues it: "seen" never gets ahead of "queued", so a worker that dies between the
        two loses nothing. (Two workers may both be told "new"; the second push drops it.)"""
        known, checked = self._known, self._checked
        out = [False] * len(fingerprints)
        ask: list[bytes] = []
        where: list[int] = []
        batch: set[bytes] = set()
        for i, fp in enumerate(fingerprints):
            if fp not in known and fp not in checked and fp not in batch:
                batch.add(fp)
                ask.append(fp)
                where.append(i)
        if ask:
            flags = await self._run_seen(ask)
            seen = []
            for i, fp, flag in zip(where, ask, flags, strict=True):
                if flag:
                    seen.append(fp)
                elif fp not in checked:  # (unless a concurrent add took it meanwhile)
                    checked.add(fp)
                    out[i] = True
            self._remember(seen)
        return out

    def _remember(self, fps: Sequence[bytes]) -> None:
        """Fingerprints now recorded in Redis: answered locally from now on (bounded)."""
        known = self._known
        if len(known) + len(fps) > self._known_max:
            known.clear()
        known.update(fps)

    async def _run_seen(self, fps: list[bytes]) -> list[int]:
        script = self._scripts.get("seen")
        if script is None:
            script = self._scripts["seen"] = self.client.register_script(_LUA_SEEN)
        argv = [self._prefix_b + b"s:", *fps]
        result: list[int] = await self._redis("seen", lambda: script(args=argv),
                                              gone=[1] * len(fps))  # (gone: nothing new)
        return result

    # -- lifecycle ------------------------------------------------------------------------------
    async def commit(self, requests: Sequence[Request], stats: Stats) -> None:
        await self.done(requests, stats)

    async def close(self) -> None:
        """Stop the heartbeat, hand unfinished leases back, push the last stats, read the
        crawl's stats into :attr:`crawl_stats`. Idempotent."""
        if self._closed or self._client is None:
            self._closed = True
            return
        self._closed = True
        self._stopping.set()
        if self.unavailable is not None:  # nothing more to tell Redis: its leases expire
            if self._heartbeat is not None:
                self._heartbeat.cancel()
            await _quiet_close(self.client)
            return
        if self._heartbeat is not None:
            _done, running = await asyncio.wait({self._heartbeat}, timeout=15)
            for task in running:
                task.cancel()
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release_timer = None
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        try:
            await self._release()
            if self._leased:
                rids = [rid for _req, rid in self._leased.values()]
                back = await self._run("give_back", [self.worker, *rids])
                if back:
                    logger.info("shared frontier: %d unfinished requests returned to the queue",
                                back)
                self._leased.clear()
            await self._run("done", [self.worker, 0, *self._stats_delta()])
            if self._started and self.unavailable is None:
                self.crawl_stats = await self._read_crawl_stats()
                await self._redis("leave", self._leave)
        finally:
            await _quiet_close(self.client)

    def _leave(self) -> Any:
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(self.prefix + "workers", self.worker)
        pipe.delete(f"{self.prefix}once:{self.worker}")
        return pipe.execute()

    async def _read_crawl_stats(self) -> dict[str, Any] | None:
        def read() -> Any:
            pipe = self.client.pipeline(transaction=True)
            pipe.hgetall(self.prefix + "stats")
            pipe.hgetall(self.prefix + "meta")
            return pipe.execute()

        replies = await self._redis("read stats", read)
        if replies is None:
            return None
        counters_raw, meta_raw = replies
        counters = {k.decode(): int(v) for k, v in counters_raw.items()}
        meta = {k.decode(): v.decode() for k, v in meta_raw.items()}
        started = float(meta.get("started", time.time()))
        elapsed = max(time.time() - started, 1e-9)
        pages = counters.get("pages", 0)
        return {
            **dict(sorted(counters.items())),
            "workers": int(meta.get("workers", 1)),
            "elapsed_seconds": round(elapsed, 3),
            "pages_per_second": round(pages / elapsed, 2),
            "started_at": started,
        }

    def __repr__(self) -> str:
        return (f"<RedisFrontier {_redacted(self.url)} prefix={self.prefix!r} "
                f"worker={self.worker!r} leased={len(self._leased)}>")


async def _call(aw: Any) -> Any:
    """Await a redis-py call in a task of its own, shielded.

    A task cancelled while inside a redis-py command can lose the cancellation on Python
    3.11 (redis-py sends with ``asyncio.wait_for``, which swallows a cancel that lands as the
    send completes: CPython gh-86296), so the engine's or our own ``task.cancel()`` might never
    take effect. Awaited through ``shield``, the caller is cancelled reliably; the command
    itself runs to completion (bounded by the client's timeouts)."""
    task = asyncio.ensure_future(aw)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_retrieve)
        raise


def _transient_errors() -> tuple[type[BaseException], ...]:
    """The redis-py errors that mean "Redis is not there (yet)": retried by ``_redis``."""
    import redis

    # ConnectionError covers BusyLoadingError (LOADING, a restart reading its AOF); a
    # ReadOnlyError comes from a former master that a failover made a replica
    return (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, OSError)


def _describe(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


async def _quiet_close(client: Any) -> None:
    sentinels = getattr(getattr(client.connection_pool, "sentinel_manager", None),
                        "sentinels", ())
    try:
        async with asyncio.timeout(5):
            await client.aclose()
            for sentinel in sentinels:
                await sentinel.aclose()
    except Exception as exc:  # (TimeoutError included) nothing is lost: the sockets go
        logger.debug("shared frontier: closing the client: %s", exc)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" warning


_SCRIPTS = {
    "push": _LUA_PUSH, "pop": _LUA_POP, "done": _LUA_DONE, "release": _LUA_RELEASE,
    "heartbeat": _LUA_HEARTBEAT, "reclaim": _LUA_RECLAIM, "give_back": _LUA_GIVE_BACK,
    "size": _LUA_SIZE, "count_page": _LUA_COUNT_PAGE, "orphans": _LUA_ORPHANS,
}
#: the scripts that must not run twice when retried after a lost reply (see _once)
_ONCE = frozenset({"push", "done", "count_page"})


class _RedisQueue(RequestQueue):
    """The RequestQueue of a :class:`RedisFrontier`."""

    shared = True

    def __init__(self, frontier: RedisFrontier) -> None:
        self.frontier = frontier

    @property
    def poll_interval(self) -> float:
        return self.frontier.poll_interval

    def encode(self, request: Request) -> bytes:
        return self.frontier.encode(request)

    async def push(self, requests: Sequence[Request]) -> None:
        await self.frontier.push(requests)

    async def add_unseen(self, requests: Sequence[Request], fingerprints: Sequence[bytes | None],
                         dupefilter: DupeFilter, on_invalid: OnInvalid | None = None,
                         ) -> list[Request]:
        """Dedup against the shared store (``dupefilter`` is this frontier's) and queue."""
        return await self.frontier.add_unseen(requests, fingerprints, on_invalid)

    async def pop(self, limit: int, claim: Callable[[str], bool]) -> list[Request]:
        return await self.frontier.pop(limit, claim)

    def release(self, request: Request) -> None:
        self.frontier.release(request)

    async def count_page(self, limit: int) -> int:
        return await self.frontier.count_page(limit)

    async def queued_by_host(self, hosts: Sequence[str]) -> dict[str, int]:
        return await self.frontier.queued_by_host(hosts)

    async def done(self, requests: Sequence[Request]) -> None:
        await self.frontier.done(requests)

    async def size(self) -> int:
        return await self.frontier.size()

    async def close(self) -> None:
        await self.frontier.close()

    def __repr__(self) -> str:
        return f"<RedisQueue of {self.frontier!r}>"


class _RedisSeen(DupeFilter):
    """The DupeFilter of a :class:`RedisFrontier`."""

    def __init__(self, frontier: RedisFrontier) -> None:
        self.frontier = frontier

    async def add(self, fingerprints: Sequence[bytes]) -> list[bool]:
        return await self.frontier.seen_add(fingerprints)

    async def close(self) -> None:
        return None
