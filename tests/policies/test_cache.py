"""The replay cache's parts on their own: the entry files (format, atomic writes, damage, the
size bound), the freshness policies and the middleware's modes (docs/cache.md)."""

from __future__ import annotations

import json
import os
import time
from email.utils import formatdate
from pathlib import Path

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from acrawl.errors import CacheMiss, ConfigError
from acrawl.http import Request, Response
from acrawl.policies.cache import CacheMiddleware
from acrawl.policies.cache_policy import (
    DummyPolicy,
    Rfc9111Policy,
    conditional_headers,
    parse_cache_control,
    refreshed_headers,
)
from acrawl.policies.cache_storage import FORMAT, MARKER, CorruptEntry, Entry, FileStore
from acrawl.stats import Stats
from acrawl.urls import fingerprint

URL = "http://127.0.0.1:9/page"


def entry(url: str = URL, *, status: int = 200, headers: dict[str, str] | None = None,
          body: bytes = b"<h1>hi</h1>", stored: float | None = None, method: str = "GET",
          ) -> Entry:
    request = Request(url, method=method)
    return Entry(fingerprint=fingerprint(request), method=method, request_url=url, url=url,
                 status=status, headers=tuple((headers or {}).items()), body=body,
                 stored=time.time() if stored is None else stored)


def response(request: Request, status: int = 200, headers: dict[str, str] | None = None,
             body: bytes = b"<h1>live</h1>") -> Response:
    return Response(url=request.url, status=status,
                    headers=CIMultiDictProxy(CIMultiDict(headers or {})), body=body,
                    request=request)


# -- storage ---------------------------------------------------------------------------------------

def test_an_entry_round_trips_through_its_file(tmp_path: Path) -> None:
    store = FileStore.open_dir(tmp_path / "c", create=True)
    e = Entry(fingerprint=fingerprint(Request(URL)), method="GET", request_url=URL, url=URL,
              status=200, headers=(("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")),
              body=b"\x00\xffbytes", stored=1234.5, truncated=True)
    assert store.save(e)
    assert store.load(e.fingerprint) == e
    path = store.path(e.fingerprint)
    assert path.parent.name == e.fingerprint.hex()[:2]
    assert path.read_bytes().startswith(FORMAT)
    assert (tmp_path / "c" / MARKER).is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_a_missing_entry_is_none(tmp_path: Path) -> None:
    store = FileStore.open_dir(tmp_path / "c", create=True)
    assert store.load(b"\x01" * 16) is None


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    head_end = data.index(b"\n", len(FORMAT))
    head = json.loads(data[len(FORMAT):head_end])
    body = data[head_end + 1:]
    if how == "truncated":
        path.write_bytes(data[:-3])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "flipped":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif how == "garbage":
        path.write_bytes(b"\x80\x04\x95 a pickle, say")
    elif how == "bad_json":
        path.write_bytes(FORMAT + b"{not json\n" + body)
    elif how == "other_request":
        head["fingerprint"] = "00" * 16
        path.write_bytes(FORMAT + json.dumps(head).encode() + b"\n" + body)
    elif how == "file_url":
        head["url"] = "file:///etc/passwd"
        path.write_bytes(FORMAT + json.dumps(head).encode() + b"\n" + body)
    elif how == "bad_status":
        head["status"] = "200"
        path.write_bytes(FORMAT + json.dumps(head).encode() + b"\n" + body)
    elif how == "bad_headers":
        head["headers"] = [["Content-Type", 5]]
        path.write_bytes(FORMAT + json.dumps(head).encode() + b"\n" + body)
    elif how == "not_an_object":
        path.write_bytes(FORMAT + b"[1, 2]\n" + body)
    else:  # pragma: no cover
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated", "empty", "flipped", "garbage", "bad_json",
                                 "other_request", "file_url", "bad_status", "bad_headers",
                                 "not_an_object"])
def test_a_damaged_entry_is_a_corrupt_entry(tmp_path: Path, how: str) -> None:
    store = FileStore.open_dir(tmp_path / "c", create=True)
    e = entry()
    store.save(e)
    _corrupt(store.path(e.fingerprint), how)
    with pytest.raises(CorruptEntry):
        store.load(e.fingerprint)


def test_the_size_bound_evicts_the_oldest_entries(tmp_path: Path) -> None:
    one = len(FileStore.open_dir(tmp_path / "probe", create=True).encode(entry(body=b"x" * 1000)))
    store = FileStore.open_dir(tmp_path / "c", create=True, max_bytes=3 * one + one // 2)
    entries = [entry(f"{URL}/{n}", body=b"x" * 1000) for n in range(5)]
    for e in entries:
        store.save(e)
    kept = [e for e in entries if store.load(e.fingerprint) is not None]
    assert kept == entries[2:]
    assert store.total <= store.max_bytes
    # re-storing an entry makes it the newest; a new store object reads the index from disk
    # (oldest first by modification time, set here as a coarse file-system clock could not)
    store.save(entries[2])
    for age, e in ((30, entries[3]), (20, entries[4]), (10, entries[2])):
        os.utime(store.path(e.fingerprint), (time.time() - age, time.time() - age))
    again = FileStore.open_dir(tmp_path / "c", create=True, max_bytes=store.max_bytes)
    assert again.total == store.total
    again.save(entry(f"{URL}/new", body=b"x" * 1000))
    assert again.load(entries[3].fingerprint) is None
    assert again.load(entries[2].fingerprint) is not None


def test_an_entry_larger_than_the_bound_is_not_stored(tmp_path: Path) -> None:
    store = FileStore.open_dir(tmp_path / "c", create=True, max_bytes=500)
    big = entry(body=b"x" * 1000)
    assert store.save(big) is False
    assert store.load(big.fingerprint) is None


def test_a_cache_directory_must_be_one(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "pyproject.toml").write_text("")
    with pytest.raises(ConfigError, match="not an acrawl cache directory"):
        FileStore.open_dir(tmp_path / "project", create=True)
    with pytest.raises(ConfigError, match="does not exist"):
        FileStore.open_dir(tmp_path / "nowhere", create=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="not a directory"):
        FileStore.open_dir(tmp_path / "file", create=True)
    FileStore.open_dir(tmp_path / "empty", create=True)
    FileStore.open_dir(tmp_path / "empty", create=False)  # has its marker now


# -- policies --------------------------------------------------------------------------------------

def test_parse_cache_control() -> None:
    assert parse_cache_control('max-age=60, No-Cache, private="x, y", max-age=5') == {
        "max-age": "60", "no-cache": None, "private": "x, y"}
    assert parse_cache_control(None) == {}


def test_the_dummy_policy_stores_everything_and_expires_by_age() -> None:
    request = Request(URL)
    policy = DummyPolicy(expiration_secs=60, ignore_http_codes=[503])
    assert policy.should_store(request, response(request, 404))
    assert policy.should_store(request, response(request, 200, {"Cache-Control": "no-store"}))
    assert not policy.should_store(request, response(request, 503))
    assert not policy.should_store(request, response(request, 304))
    now = time.time()
    assert policy.is_fresh(entry(stored=now - 59), request, now)
    assert not policy.is_fresh(entry(stored=now - 61), request, now)
    assert DummyPolicy().is_fresh(entry(stored=0), request, now)  # 0: never expires


def _date(offset: float, now: float) -> str:
    return formatdate(now + offset, usegmt=True)


def test_the_rfc9111_policy_freshness() -> None:
    now = time.time()
    request = Request(URL)
    policy = Rfc9111Policy()

    def fresh(headers: dict[str, str], age: float = 10, status: int = 200,
              req: Request = request) -> bool:
        return policy.is_fresh(entry(headers=headers, stored=now - age, status=status), req, now)

    assert fresh({"Cache-Control": "max-age=60"})
    assert not fresh({"Cache-Control": "max-age=60"}, age=61)
    assert fresh({"Cache-Control": "max-age=5, s-maxage=60"})  # s-maxage first
    assert not fresh({"Cache-Control": "max-age=60", "Age": "55"})  # 55 + 10 >= 60
    assert fresh({"Date": _date(-10, now), "Expires": _date(3600, now)})
    assert not fresh({"Date": _date(-10, now), "Expires": "0"})  # an invalid date: stale
    assert not fresh({"Cache-Control": "max-age=60, no-cache"})
    assert not fresh({})  # no freshness information, no heuristic without Last-Modified
    # heuristic: 10% of the time since Last-Modified (100 days -> capped at a week)
    lm = {"Date": _date(-10, now), "Last-Modified": _date(-10 * 3600, now)}
    assert fresh(lm, age=10)  # fresh for an hour
    assert not fresh(lm, age=3700)
    assert not fresh(lm, status=500)  # not heuristically cacheable
    old = {"Date": _date(0, now), "Last-Modified": _date(-100 * 86400, now)}
    assert fresh(old, age=6 * 86400) and not fresh(old, age=8 * 86400)
    # the request can ask for a fresh answer
    assert not fresh({"Cache-Control": "max-age=60"},
                     req=Request(URL, headers={"cache-control": "no-cache"}))
    assert not fresh({"Cache-Control": "max-age=60"},
                     req=Request(URL, headers={"Cache-Control": "max-age=0"}))
    assert not fresh({"Cache-Control": "max-age=60"},
                     req=Request(URL, headers={"Pragma": "no-cache"}))
    # cache_expiration_secs bounds every entry
    assert not Rfc9111Policy(expiration_secs=5).is_fresh(
        entry(headers={"Cache-Control": "max-age=60"}, stored=now - 10), request, now)


def test_the_rfc9111_policy_does_not_store_no_store() -> None:
    request = Request(URL)
    policy = Rfc9111Policy()
    assert not policy.should_store(request, response(request, 200, {"Cache-Control": "no-store"}))
    assert not policy.should_store(Request(URL, headers={"Cache-Control": "no-store"}),
                                   response(request))
    assert policy.should_store(request, response(request, 200, {"Cache-Control": "private"}))


def test_conditional_and_refreshed_headers() -> None:
    e = entry(headers={"ETag": '"v1"', "Last-Modified": "Tue, 01 Jul 2025 10:00:00 GMT",
                       "Content-Type": "text/html", "Date": "old"})
    assert conditional_headers(e) == {"If-None-Match": '"v1"',
                                      "If-Modified-Since": "Tue, 01 Jul 2025 10:00:00 GMT"}
    assert conditional_headers(entry()) == {}
    merged = dict(refreshed_headers(e.headers, {"Date": "new", "ETag": '"v1"',
                                                "Content-Type": "application/octet-stream",
                                                "Content-Length": "0"}))
    assert merged["Date"] == "new"
    assert merged["Content-Type"] == "text/html"  # the stored body's own headers stay
    assert "Content-Length" not in merged


# -- the middleware --------------------------------------------------------------------------------

def middleware(tmp_path: Path, mode: str = "record", policy: DummyPolicy | None = None,
               max_response_size: int = 1 << 20) -> CacheMiddleware:
    return CacheMiddleware(store=FileStore.open_dir(tmp_path / "c", create=True),
                           policy=policy or DummyPolicy(), mode=mode, stats=Stats(),
                           max_response_size=max_response_size)


async def test_record_stores_then_serves(tmp_path: Path) -> None:
    cache = middleware(tmp_path)
    request = Request(URL)
    assert cache.process_request(request, None) is None  # a miss: download
    live = response(request, headers={"Content-Type": "text/html"})
    assert await cache.process_response(request, live, None) is live
    again = Request(URL + "#frag")
    hit = cache.process_request(again, None)
    assert isinstance(hit, Response)
    assert (hit.status, hit.body, hit.flags, hit.url) == (200, b"<h1>live</h1>", ["cached"],
                                                          again.url)
    assert hit.headers["content-type"] == "text/html"  # case-insensitive, as a live one
    assert hit.request is again
    assert await cache.process_response(again, hit, None) is hit  # not stored again
    assert cache.stats.get("cache/store") == 1 and cache.stats.get("cache/hit") == 1
    # a retry asks the server again
    assert cache.process_request(Request(URL, retries=1), None) is None


async def test_a_stale_entry_is_revalidated_and_a_304_serves_its_body(tmp_path: Path) -> None:
    cache = middleware(tmp_path, policy=DummyPolicy(expiration_secs=60))
    request = Request(URL)
    cache.store.save(entry(headers={"ETag": '"v1"', "X-Old": "1"}, stored=time.time() - 120))
    assert cache.process_request(request, None) is None
    assert request.headers == {"If-None-Match": '"v1"'}
    not_modified = response(request, 304, {"ETag": '"v1"', "X-Old": "2"}, b"")
    served = await cache.process_response(request, not_modified, None)
    assert (served.status, served.body, served.flags) == (200, b"<h1>hi</h1>", ["cached"])
    assert served.headers["X-Old"] == "2"
    assert request.headers == {}  # the validator does not follow the request (a redirect)
    stored = cache.store.load(fingerprint(request))
    assert stored is not None and time.time() - stored.stored < 5  # fresh again
    assert cache.stats.get("cache/revalidated") == 1
    # a server error does not replace the stored page (retry deals with the error)
    cache.store.save(entry(headers={"ETag": '"v1"'}, stored=time.time() - 120))
    failing = Request(URL)
    assert cache.process_request(failing, None) is None
    error = response(failing, 503, {}, b"busy")
    assert await cache.process_response(failing, error, None) is error
    kept = cache.store.load(fingerprint(failing))
    assert kept is not None and kept.body == b"<h1>hi</h1>"
    # a changed page: the new one is stored and passed on
    cache.store.save(entry(headers={"ETag": '"v1"'}, stored=time.time() - 120))
    second = Request(URL)
    assert cache.process_request(second, None) is None
    changed = response(second, 200, {"ETag": '"v2"'}, b"<h1>new</h1>")
    assert await cache.process_response(second, changed, None) is changed
    stored = cache.store.load(fingerprint(second))
    assert stored is not None and stored.body == b"<h1>new</h1>"


async def test_the_users_own_validator_is_left_alone(tmp_path: Path) -> None:
    cache = middleware(tmp_path, policy=DummyPolicy(expiration_secs=60))
    cache.store.save(entry(headers={"ETag": '"v1"'}, stored=time.time() - 120))
    request = Request(URL, headers={"if-none-match": '"mine"'})
    assert cache.process_request(request, None) is None
    assert request.headers == {"if-none-match": '"mine"'}
    cache.process_exception(request, CacheMiss("x"), None)
    assert request.headers == {"if-none-match": '"mine"'}


def test_replay_never_misses_silently(tmp_path: Path) -> None:
    cache = middleware(tmp_path, mode="replay", policy=DummyPolicy(expiration_secs=1))
    with pytest.raises(CacheMiss) as info:
        cache.process_request(Request(URL), None)
    assert info.value.reason == "cache_miss" and URL in str(info.value)
    e = entry(stored=0)  # long expired: replay serves it all the same
    cache.store.save(e)
    assert isinstance(cache.process_request(Request(URL), None), Response)
    _corrupt(cache.store.path(e.fingerprint), "truncated")
    with pytest.raises(CacheMiss) as info:
        cache.process_request(Request(URL), None)
    assert info.value.reason == "cache_corrupt"
    assert cache.stats.get("cache/corrupt") == 1 and cache.stats.get("cache/miss") == 1


async def test_record_refetches_a_damaged_entry(tmp_path: Path) -> None:
    cache = middleware(tmp_path)
    e = entry()
    cache.store.save(e)
    _corrupt(cache.store.path(e.fingerprint), "bad_json")
    request = Request(URL)
    assert cache.process_request(request, None) is None
    await cache.process_response(request, response(request), None)
    stored = cache.store.load(e.fingerprint)
    assert stored is not None and stored.body == b"<h1>live</h1>"


async def test_refresh_always_fetches_and_stores(tmp_path: Path) -> None:
    cache = middleware(tmp_path, mode="refresh")
    cache.store.save(entry())
    request = Request(URL)
    assert cache.process_request(request, None) is None
    await cache.process_response(request, response(request, body=b"<h1>now</h1>"), None)
    stored = cache.store.load(fingerprint(request))
    assert stored is not None and stored.body == b"<h1>now</h1>"


def test_a_cached_body_is_cut_at_max_response_size(tmp_path: Path) -> None:
    cache = middleware(tmp_path, max_response_size=4)
    cache.store.save(entry(body=b"0123456789"))
    hit = cache.process_request(Request(URL), None)
    assert isinstance(hit, Response)
    assert (hit.body, hit.truncated) == (b"0123", True)
    assert cache.stats.get("responses/truncated") == 1


async def test_dont_cache_keeps_a_request_out_of_a_record_crawl(tmp_path: Path) -> None:
    cache = middleware(tmp_path)
    cache.store.save(entry())
    request = Request(URL, meta={"dont_cache": True})
    assert cache.process_request(request, None) is None  # not served
    await cache.process_response(request, response(request, body=b"<h1>now</h1>"), None)
    stored = cache.store.load(fingerprint(request))
    assert stored is not None and stored.body == b"<h1>hi</h1>"  # not stored either
    replay = middleware(tmp_path, mode="replay")
    assert isinstance(replay.process_request(request, None), Response)  # still no network


async def test_a_truncated_entry_is_refetched_under_a_larger_limit(tmp_path: Path) -> None:
    cache = middleware(tmp_path, max_response_size=100)
    cut = entry(body=b"x" * 50)
    cache.store.save(Entry(**{**{a.name: getattr(cut, a.name) for a in Entry.__attrs_attrs__},
                              "truncated": True}))
    assert cache.process_request(Request(URL), None) is None
    same = middleware(tmp_path, max_response_size=50)  # the limit it was cut at: served
    assert isinstance(same.process_request(Request(URL), None), Response)
