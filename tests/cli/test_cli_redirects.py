"""Redirects seen from the servers' side: credentials stay with their origin, a 302 after a
POST becomes a GET without the body, and a redirect passes robots.txt again."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import LOOPBACK, Runner, assert_ok, read_jsonl, write_module


class Recorder:
    """A stdlib HTTP server on 127.0.0.1 that records every request (method, path, headers,
    body) and answers from ``routes``: ``path -> (status, location or body)``."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.routes: dict[str, tuple[int, str]] = {}
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append({"method": self.command, "path": self.path,
                                          "headers": {k.lower(): v for k, v in
                                                      self.headers.items()},
                                          "body": body})
                status, value = recorder.routes.get(self.path, (404, "not found"))
                if 300 <= status < 400:
                    self.send_response(status)
                    self.send_header("Location", value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = value.encode()
                ctype = "text/plain" if self.path == "/robots.txt" else "text/html"
                self.send_response(status)
                self.send_header("Content-Type", f"{ctype}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_HEAD = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.base = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def seen(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorders() -> Iterator[tuple[Recorder, Recorder]]:
    a, b = Recorder(), Recorder()
    yield a, b
    a.close()
    b.close()


SPIDER = '''
    import acrawl

    SECRET = {"Authorization": "Bearer s3cret", "Cookie": "sid=42"}

    class Creds(acrawl.Spider):
        name = "creds"
        allowed_hosts = ["127.0.0.1"]
        settings = {"obey_robots": False, "cookies": False}

        def start_requests(self):
            yield acrawl.Request(self.a + "/cross", headers=SECRET)
            yield acrawl.Request(self.a + "/same", headers=SECRET)
            yield acrawl.Request(self.a + "/post", method="POST", body="x=1",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})

        def parse(self, response):
            yield {"url": response.url, "status": response.status}
'''


def test_credentials_stay_with_their_origin_and_post_becomes_get(
        acrawl: Runner, tmp_path: Path, recorders: tuple[Recorder, Recorder]) -> None:
    a, b = recorders
    a.routes.update({
        "/cross": (302, b.base + "/landing"),      # other port: another origin
        "/same": (302, "/landed"),
        "/landed": (200, "<title>same</title>"),
        "/post": (302, "/after-post"),
        "/after-post": (200, "<title>after</title>"),
    })
    b.routes["/landing"] = (200, "<title>b</title>")
    write_module(tmp_path, "creds.py", SPIDER)
    result = acrawl.run("creds.py", "-a", f"a={a.base}", "-o", "o.jsonl")
    assert_ok(result)
    assert {it["url"] for it in read_jsonl(tmp_path / "o.jsonl")} == {
        b.base + "/landing", a.base + "/landed", a.base + "/after-post"}
    (landing,) = b.seen("/landing")
    assert "authorization" not in landing["headers"], landing["headers"]
    assert "sid=42" not in landing["headers"].get("cookie", ""), landing["headers"]
    (landed,) = a.seen("/landed")
    assert landed["headers"].get("authorization") == "Bearer s3cret", "same origin keeps it"
    (post,) = a.seen("/post")
    assert post["method"] == "POST" and post["body"] == b"x=1"
    (after,) = a.seen("/after-post")
    assert after["method"] == "GET"
    assert after["body"] == b""
    assert "content-type" not in after["headers"]


def test_a_redirect_passes_robots_txt_again(acrawl: Runner, tmp_path: Path,
                                            recorders: tuple[Recorder, Recorder]) -> None:
    a, _b = recorders
    a.routes.update({
        "/robots.txt": (200, "User-agent: *\nDisallow: /private/\n"),
        "/": (200, "<html><title>home</title><a href='/go'>go</a></html>"),
        "/go": (301, "/private/page"),
        "/private/page": (200, "<title>private</title>"),
    })
    result = acrawl.run("links", "-a", f"url={a.base}/", "-o", "o.jsonl")
    assert_ok(result)
    assert a.seen("/go"), "the redirecting page was not fetched at all"
    assert not a.seen("/private/page"), "a redirect bypassed robots.txt"
    assert {it["url"] for it in read_jsonl(tmp_path / "o.jsonl")} == {a.base + "/"}
