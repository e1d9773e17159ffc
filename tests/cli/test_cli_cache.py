"""The replay cache seen from the server's side: ``acrawl-run --cache DIR`` twice, the second
time in replay mode, sends no request at all (robots.txt included) and writes the same items;
record mode revalidates with a 304; misses, expiry, ignored statuses, the size bound, damaged
entries and ``-s disable=cache`` (docs/cache.md)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    LOOPBACK,
    Runner,
    assert_ok,
    assert_usage_error,
    describe,
    read_jsonl,
    write_module,
)

LAST_MODIFIED = "Tue, 01 Jul 2025 10:00:00 GMT"


class Origin:
    """A stdlib HTTP server on 127.0.0.1 that logs every request and answers from ``pages``:
    ``path -> dict(status=, body=, headers=, etag=, last_modified=)``. A page with an ``etag``
    (or ``last_modified``) answers a matching ``If-None-Match`` (``If-Modified-Since``) with
    a 304, as a server that supports revalidation does."""

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []
        self.pages: dict[str, dict[str, Any]] = {}
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                origin.log.append({"path": self.path, "headers": headers})
                page = origin.pages.get(self.path)
                if page is None:
                    page = {"status": 404, "body": "not found"}
                etag, modified = page.get("etag"), page.get("last_modified")
                not_modified = (etag is not None and headers.get("if-none-match") == etag) or (
                    etag is None and modified is not None
                    and headers.get("if-modified-since") == modified)
                extra = dict(page.get("headers", {}))
                if etag is not None:
                    extra["ETag"] = etag
                if modified is not None:
                    extra["Last-Modified"] = modified
                if not_modified:
                    self.send_response(304)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = page["body"].encode()
                self.send_response(page["status"])
                extra.setdefault("Content-Type", "text/html; charset=utf-8")
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.base = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def page(self, path: str, body: str = "", status: int = 200, **extra: Any) -> None:
        self.pages[path] = {"status": status, "body": body, **extra}

    def paths(self) -> list[str]:
        return sorted(r["path"] for r in self.log)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def html(title: str, *links: str) -> str:
    anchors = "".join(f'<a href="{href}">{href}</a>' for href in links)
    return f"<html><head><title>{title}</title></head><body>{anchors}</body></html>"


@pytest.fixture
def origin() -> Iterator[Origin]:
    site = Origin()
    site.page("/robots.txt", "User-agent: *\nDisallow: /private\n",
              headers={"Content-Type": "text/plain"})
    site.page("/", html("home", "/a", "/b", "/old", "/private", "/missing"))
    site.page("/a", html("a v1", "/c"), etag='"a1"')
    site.page("/b", html("b v1"), last_modified=LAST_MODIFIED)
    site.page("/c", html("c"))
    site.page("/old", "", status=301, headers={"Location": "/new"})
    site.page("/new", html("new"))
    site.page("/private", html("private"))
    yield site
    site.close()


def crawl(acrawl: Runner, origin: Origin, cache: Path, *args: str, out: str = "items.jsonl",
          code: int = 0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``acrawl-run links`` over ``origin`` with ``--cache``; (items sorted by URL, stats)."""
    result = acrawl.run("links", "-a", f"url={origin.base}/", "--cache", str(cache),
                        "-o", out, "--overwrite", "--stats", "stats.json", "--no-progress",
                        *args)
    assert_ok(result, code)
    items = sorted(read_jsonl(acrawl.cwd / out), key=lambda i: i["url"])
    return items, json.loads((acrawl.cwd / "stats.json").read_text())


def without(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in i.items() if k != key} for i in items]


def test_a_replay_crawl_sends_no_request_and_writes_the_same_items(
        acrawl: Runner, origin: Origin, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, stats = crawl(acrawl, origin, cache, out="first.jsonl")
    assert {i["url"].removeprefix(origin.base) for i in first} == {
        "/", "/a", "/b", "/c", "/new", "/missing"}  # /private: robots.txt
    assert "/robots.txt" in origin.paths() and "/private" not in origin.paths()
    assert stats["cache/store"] == len(origin.log)  # robots.txt and the 301 hop too
    origin.log.clear()

    replayed, stats = crawl(acrawl, origin, cache, "--cache-mode", "replay", out="replay.jsonl")
    assert origin.log == []
    assert replayed == first
    assert stats["cache/hit"] == 8 and "requests/downloaded" not in stats
    assert stats["filtered/robots"] == 1  # robots.txt obeyed from the cache
    assert stats["redirects"] == 1  # the cached 301 followed by the redirect component

    # a record crawl (the default mode) is served from the cache as well: no entry expires
    again, stats = crawl(acrawl, origin, cache, out="again.jsonl")
    assert origin.log == [] and again == first


def test_replay_works_with_the_server_gone(acrawl: Runner, origin: Origin,
                                           tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, _ = crawl(acrawl, origin, cache, out="first.jsonl")
    origin.close()
    replayed, stats = crawl(acrawl, origin, cache, "--cache-mode", "replay", out="replay.jsonl")
    assert replayed == first
    assert not any(k.startswith("failed/") for k in stats)


def test_record_revalidates_an_unchanged_page_and_refetches_a_changed_one(
        acrawl: Runner, origin: Origin, tmp_path: Path) -> None:
    origin.page("/old", "", status=301, headers={"Location": "/new"}, etag='"o1"')
    cache = tmp_path / "cache"
    crawl(acrawl, origin, cache, out="first.jsonl")
    origin.log.clear()
    origin.page("/c", html("c v2"))  # changed, and has no validator: fetched anew
    origin.page("/b", html("b v2"), last_modified="Wed, 02 Jul 2025 10:00:00 GMT")  # changed
    items, stats = crawl(acrawl, origin, cache, "-s", "cache_expiration_secs=0.001")
    by_path = {r["path"]: r for r in origin.log}
    # every stale entry with a validator was asked about with it
    assert by_path["/a"]["headers"]["if-none-match"] == '"a1"'
    assert by_path["/b"]["headers"]["if-modified-since"] == LAST_MODIFIED
    assert "if-none-match" not in by_path["/c"]["headers"]
    assert by_path["/old"]["headers"]["if-none-match"] == '"o1"'  # a 304 for the 301
    assert "if-none-match" not in by_path["/new"]["headers"]  # not carried over the redirect
    titles = {i["url"].removeprefix(origin.base): i["title"] for i in items}
    assert titles["/a"] == "a v1"  # unchanged: a 304, the cached body reached the callback
    assert titles["/b"] == "b v2" and titles["/c"] == "c v2"
    assert {i["status"] for i in items if i["url"].endswith("/a")} == {200}
    assert stats["http/304"] == stats["cache/revalidated"] == 2  # /a and /old
    # and the fresh answers are what the cache holds now
    origin.log.clear()
    replayed, _ = crawl(acrawl, origin, cache, "--cache-mode", "replay", out="replay.jsonl")
    assert origin.log == []
    assert {i["url"]: i["title"] for i in replayed} == {i["url"]: i["title"] for i in items}


def test_the_rfc9111_policy_follows_cache_control(acrawl: Runner, origin: Origin,
                                                  tmp_path: Path) -> None:
    origin.page("/a", html("a v1", "/c"), etag='"a1"', headers={"Cache-Control": "max-age=3600"})
    origin.page("/c", html("c"), etag='"c1"', headers={"Cache-Control": "no-cache"})
    origin.page("/b", html("b"), headers={"Cache-Control": "no-store"})
    cache = tmp_path / "cache"
    crawl(acrawl, origin, cache, "-s", "cache_policy=rfc9111")
    origin.log.clear()
    _, stats = crawl(acrawl, origin, cache, "-s", "cache_policy=rfc9111")
    asked = origin.paths()
    assert "/a" not in asked  # max-age: fresh for an hour
    assert "/c" in asked and "/b" in asked  # no-cache: revalidated; no-store: never stored
    assert stats["cache/revalidated"] == 1  # /c, by its ETag


def test_entries_expire(acrawl: Runner, origin: Origin, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    crawl(acrawl, origin, cache)
    first = len(origin.log)
    origin.log.clear()
    crawl(acrawl, origin, cache, "-s", "cache_expiration_secs=3600")
    assert origin.log == []
    crawl(acrawl, origin, cache, "-s", "cache_expiration_secs=0.001")
    assert len(origin.log) == first  # every entry stale: each asked again


def test_a_replay_miss_is_an_error_for_that_request_only(acrawl: Runner, origin: Origin,
                                                         tmp_path: Path) -> None:
    spider = write_module(tmp_path, "misses.py", f'''
        import acrawl

        class Misses(acrawl.Spider):
            name = "misses"
            start_urls = ["{origin.base}/a", "{origin.base}/c"]

            def start_requests(self):
                for url in self.start_urls:
                    yield acrawl.Request(url, errback=self.failed)

            def parse(self, response):
                yield {{"url": response.url, "cached": "cached" in response.flags}}

            def failed(self, failure):
                yield {{"url": failure.request.url, "error": type(failure.value).__name__,
                        "reason": failure.value.reason,
                        "is_download_error": isinstance(failure.value, acrawl.DownloadError)}}
    ''')
    cache = tmp_path / "cache"
    result = acrawl.run(str(spider), "--cache", str(cache), "-s", "disable=robots",
                        "-o", "first.jsonl", "--no-progress")
    assert_ok(result)
    base = origin.base
    spider.write_text(spider.read_text().replace(f'"{base}/c"]', f'"{base}/c", "{base}/b"]'))
    origin.log.clear()
    result = acrawl.run(str(spider), "--cache", str(cache), "--cache-mode", "replay",
                        "-s", "disable=robots", "-o", "replay.jsonl", "--stats", "stats.json",
                        "--no-progress")
    assert_ok(result)  # the crawl ends normally
    assert origin.log == []
    items = {i["url"].removeprefix(origin.base): i for i in read_jsonl(tmp_path / "replay.jsonl")}
    assert items["/a"]["cached"] is True and items["/c"]["cached"] is True
    assert items["/b"] == {"url": f"{origin.base}/b", "error": "CacheMiss",
                           "reason": "cache_miss", "is_download_error": True}
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["failed/CacheMiss"] == 1 and stats["cache/miss"] == 1
    assert "not in the cache" in result.stderr and "/b" in result.stderr


def test_ignored_status_codes_are_not_stored(acrawl: Runner, origin: Origin,
                                             tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    crawl(acrawl, origin, cache, "-s", "cache_ignore_http_codes=404")
    origin.log.clear()
    items, stats = crawl(acrawl, origin, cache)
    assert origin.paths() == ["/missing"]  # the only page not stored: asked again
    assert {i["url"].removeprefix(origin.base): i["status"] for i in items}["/missing"] == 404
    assert stats["cache/store"] == 1  # (this time it is stored)


def _entry_files(cache: Path) -> list[Path]:
    return [p for p in cache.glob("??/*") if not p.name.startswith(".")]


def test_the_cache_stays_within_its_size_bound(acrawl: Runner, origin: Origin,
                                               tmp_path: Path) -> None:
    for n in range(40):
        origin.page(f"/p{n}", html(f"page {n}") + "x" * 4000)
    origin.page("/", html("home", *(f"/p{n}" for n in range(40))))
    cache = tmp_path / "cache"
    bound = 0.05  # MiB: room for about a dozen of the 4 KB pages
    _, stats = crawl(acrawl, origin, cache, "-s", f"cache_max_size_mb={bound}",
                     "--concurrency", "1")
    sizes = sum(p.stat().st_size for p in _entry_files(cache))
    assert 0 < sizes <= bound * 1024 * 1024
    assert stats["cache/evicted"] == stats["cache/store"] - len(_entry_files(cache)) > 0
    # the newest entries stayed: a replay of the last pages fetched finds them
    assert len(_entry_files(cache)) >= 8


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:  # poisoned: a header that is not JSON (a pickle, say), with the body kept
        path.write_bytes(b"acrawl-cache 1\n\x80\x04\x95cos\nsystem\n" + data[-50:])


def test_a_damaged_entry_is_refetched_in_record_mode_and_an_error_in_replay(
        acrawl: Runner, origin: Origin, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, _ = crawl(acrawl, origin, cache)
    from acrawl.http import Request
    from acrawl.urls import fingerprint

    def entry_of(path: str) -> Path:
        name = fingerprint(Request(origin.base + path)).hex()
        return cache / name[:2] / name

    _corrupt(entry_of("/a"), "truncated")
    _corrupt(entry_of("/b"), "poisoned")
    origin.log.clear()
    replayed, stats = crawl(acrawl, origin, cache, "--cache-mode", "replay", out="replay.jsonl")
    assert origin.log == []
    assert stats["cache/corrupt"] == 2 and stats["failed/CacheMiss"] == 2
    # /a and /b failed, and /c (linked from /a only) was never asked for
    lost = {i["url"] for i in first} - {i["url"] for i in replayed}
    assert lost == {origin.base + "/a", origin.base + "/b", origin.base + "/c"}

    items, stats = crawl(acrawl, origin, cache, out="record.jsonl")
    assert origin.paths() == ["/a", "/b"]  # refetched, and rewritten
    assert stats["cache/corrupt"] == 2 and items == first
    origin.log.clear()
    replayed, stats = crawl(acrawl, origin, cache, "--cache-mode", "replay", out="replay2.jsonl")
    assert replayed == first and "cache/corrupt" not in stats


def test_refresh_fetches_everything_and_stores_it(acrawl: Runner, origin: Origin,
                                                  tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    crawl(acrawl, origin, cache)
    count = len(origin.log)
    origin.log.clear()
    origin.page("/c", html("c v2"))
    crawl(acrawl, origin, cache, "--cache-mode", "refresh")
    assert len(origin.log) == count
    assert not any("if-none-match" in r["headers"] for r in origin.log)
    origin.log.clear()
    items, _ = crawl(acrawl, origin, cache, "--cache-mode", "replay", out="replay.jsonl")
    assert origin.log == [] and "c v2" in {i["title"] for i in items}


def test_disable_cache_turns_it_off(acrawl: Runner, origin: Origin, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, _ = crawl(acrawl, origin, cache)
    count = len(origin.log)
    origin.log.clear()
    items, stats = crawl(acrawl, origin, cache, "-s", "disable=cache", out="off.jsonl")
    assert len(origin.log) == count and items == first
    assert not any(k.startswith("cache/") for k in stats)
    listed = acrawl.run("links", "-a", f"url={origin.base}/", "--cache", str(cache),
                        "--list-components")
    assert_ok(listed)
    assert [line.split()[2] for line in listed.stdout.splitlines()
            if line.startswith("middleware")][-1] == "cache", describe(listed)


def test_cache_usage_errors(acrawl: Runner, origin: Origin, tmp_path: Path) -> None:
    url = f"url={origin.base}/"
    assert_usage_error(acrawl.run("links", "-a", url, "--cache-mode", "replay"),
                       "cache_mode=replay", "--cache DIR")
    assert_usage_error(acrawl.run("links", "-a", url, "--cache", str(tmp_path / "none"),
                                  "--cache-mode", "replay"), "does not exist")
    (tmp_path / "notes.txt").write_text("mine")
    assert_usage_error(acrawl.run("links", "-a", url, "--cache", str(tmp_path)),
                       "not an acrawl cache directory")
    assert_usage_error(acrawl.run("links", "-a", url, "--cache", str(tmp_path / "c"),
                                  "--cache-mode", "replay", "-s", "disable=cache"),
                       "disable=cache")
    assert_usage_error(acrawl.run("links", "-a", url, "-s", "cache_policy=rfc2616"),
                       "cache_policy", "dummy, rfc9111")
    assert origin.log == []


def test_the_cookies_of_a_cached_response_are_kept(acrawl: Runner, origin: Origin,
                                                   tmp_path: Path) -> None:
    """A session cookie set by a page the cache serves is sent with the pages fetched live."""
    origin.page("/", html("home", "/a"), headers={"Set-Cookie": "sid=42; Path=/",
                                                 "Cache-Control": "max-age=3600"})
    cache = tmp_path / "cache"
    crawl(acrawl, origin, cache, "-s", "cache_policy=rfc9111")
    origin.log.clear()
    crawl(acrawl, origin, cache, "-s", "cache_policy=rfc9111")
    asked = {r["path"]: r["headers"] for r in origin.log}
    assert "/" not in asked  # served from the cache (max-age)
    assert asked["/a"].get("cookie") == "sid=42"  # fetched live (no freshness), with it


def test_a_replay_without_a_recorded_robots_txt_obeys_nothing(acrawl: Runner, origin: Origin,
                                                              tmp_path: Path) -> None:
    """Recorded with --no-robots, replayed with robots.txt on: there is no robots.txt to obey
    offline, so every recorded page is replayed (and nothing is asked of the server)."""
    cache = tmp_path / "cache"
    first, _ = crawl(acrawl, origin, cache, "--no-robots", out="first.jsonl")
    assert "/private" in origin.paths() and "/robots.txt" not in origin.paths()
    origin.log.clear()
    replayed, stats = crawl(acrawl, origin, cache, "--cache-mode", "replay", out="replay.jsonl")
    assert origin.log == [] and replayed == first
    assert stats["cache/miss"] == 1  # robots.txt
    assert not any(k.startswith(("filtered/", "failed/")) and "allowed_hosts" not in k
                   for k in stats)
