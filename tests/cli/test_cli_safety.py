"""Safety and politeness a user can count on, checked from the outside: schemes, host filters
on redirects, loopback addresses the user did not name, robots.txt, timeouts, sizes, depth.

Only loopback addresses are used: the crawl's own site on 127.0.0.1 and, as the "address the
user did not ask for", a second server on 127.0.0.2.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from e2e_support import PagesSite, Runner, assert_ok, describe, read_jsonl, write_module

from acrawl.demo.site import LinkSite, Reply, ThreadedServer, run_in_thread

OTHER_LOOPBACK = "127.0.0.2"


@pytest.fixture
def other_host() -> ThreadedServer:
    """A server on 127.0.0.2 (another loopback address) that no test should reach unless it
    names it; ``.hits`` shows whether it was."""
    site = PagesSite({"/secret": "<html><title>secret</title></html>", "/": "<title>o</title>"})
    try:
        srv = run_in_thread(site, host=OTHER_LOOPBACK)
    except OSError as exc:  # pragma: no cover - a system without the 127/8 loopback net
        pytest.skip(f"cannot bind {OTHER_LOOPBACK}: {exc}")
    yield srv
    srv.close()


def _stats(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "stats.json").read_text())


def test_non_http_links_are_dropped_and_counted(acrawl: Runner, tmp_path: Path, serve) -> None:
    site = PagesSite({"/": """<html><title>home</title>
        <a href="mailto:someone@example.com">m</a>
        <a href="file:///etc/passwd">f</a>
        <a href="ftp://127.0.0.1/x">ftp</a>
        <a href="javascript:alert(1)">js</a>
        <a href="data:text/html,hello">data</a>
        <a href="/ok">ok</a></html>""", "/ok": "<html><title>ok</title></html>"})
    base = serve(site).base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-o", "o.jsonl", "--stats", "stats.json")
    assert_ok(result)
    assert {it["url"] for it in read_jsonl(tmp_path / "o.jsonl")} == {base + "/", base + "/ok"}
    stats = _stats(tmp_path)
    counted = sum(v for k, v in stats.items() if "scheme" in k and isinstance(v, int))
    assert counted == 5, f"non-http(s) links not counted in stats: {stats}"


def test_redirect_to_a_host_not_allowed_is_filtered(acrawl: Runner, tmp_path: Path, serve,
                                                    other_host: ThreadedServer) -> None:
    target = other_host.base_url + "/secret"
    site = PagesSite({"/": "<html><title>home</title><a href='/go'>go</a></html>",
                      "/go": Reply(301, "", location=target)})
    base = serve(site).base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-o", "o.jsonl", "--stats", "stats.json")
    assert_ok(result)
    assert sum(other_host.hits.values()) == 0, "the redirect left the allowed host"
    assert {it["url"] for it in read_jsonl(tmp_path / "o.jsonl")} == {base + "/"}
    stats = _stats(tmp_path)
    assert any(k.startswith("filtered/") and v for k, v in stats.items()), stats


def test_allowed_second_host_is_crawled(acrawl: Runner, tmp_path: Path, serve,
                                        other_host: ThreadedServer) -> None:
    """The positive control: naming the host (``-a allow=``) lets the crawl reach it."""
    target = other_host.base_url + "/secret"
    site = PagesSite({"/": f"<html><title>home</title><a href='{target}'>x</a></html>"})
    base = serve(site).base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-a",
                        f"allow=127.0.0.1,{OTHER_LOOPBACK}", "-o", "o.jsonl")
    assert_ok(result)
    assert {it["url"] for it in read_jsonl(tmp_path / "o.jsonl")} == {base + "/", target}
    assert other_host.hits[target] == 1


OPEN_SPIDER = '''
    import acrawl

    class Open(acrawl.Spider):
        """No allowed_hosts: every host passes the filter; only the start host is trusted."""
        name = "open"

        def start_requests(self):
            yield acrawl.Request(self.url)

        def parse(self, response):
            yield {"url": response.url}
            yield from response.follow_all(response.css("a::attr(href)").getall())
'''


@pytest.mark.parametrize("robots", ["robots", "no-robots"])
@pytest.mark.parametrize("how", ["link", "redirect"])
def test_loopback_address_not_named_is_refused(acrawl: Runner, tmp_path: Path, serve,
                                               other_host: ThreadedServer, how: str,
                                               robots: str) -> None:
    """The spider allows every host but names only 127.0.0.1: 127.0.0.2 is refused at connect
    time (robots.txt included), promptly, and reported as a blocked address."""
    target = other_host.base_url + "/secret"
    site = PagesSite({
        "/": "<html><title>home</title><a href='/ok'>ok</a>"
             + (f"<a href='{target}'>x</a>" if how == "link" else "<a href='/go'>go</a>")
             + "</html>",
        "/ok": "<title>ok</title>",
        "/go": Reply(301, "", location=target),
    })
    base = serve(site).base_url
    write_module(tmp_path, "open_spider.py", OPEN_SPIDER)
    result = acrawl.run("open_spider.py", "-a", f"url={base}/", "-o", "o.jsonl",
                        "--stats", "stats.json", *(["--no-robots"] if robots == "no-robots"
                                                   else []))
    assert result.returncode in (0, 1), describe(result)
    assert sum(other_host.hits.values()) == 0, f"{OTHER_LOOPBACK} was reached via a {how}"
    assert {it["url"] for it in read_jsonl(tmp_path / "o.jsonl")} == {base + "/", base + "/ok"}
    stats = _stats(tmp_path)
    blocked = {k: v for k, v in stats.items() if "blocked" in k.lower()}
    assert blocked, f"the refusal is not reported as a blocked address: {stats}"
    # a refused address is final: not retried with backoff (robots.txt included)
    assert stats["elapsed_seconds"] < 2.5, stats


def test_robots_txt_is_obeyed_unless_disabled(acrawl: Runner, tmp_path: Path, serve) -> None:
    site = PagesSite({"/": "<html><title>home</title><a href='/private/x'>p</a>"
                           "<a href='/public'>q</a></html>",
                      "/private/x": "<title>private</title>", "/public": "<title>public</title>"},
                     robots="User-agent: *\nDisallow: /private/\n")
    srv = serve(site)
    base = srv.base_url
    result = acrawl.run("links", "-a", f"url={base}/", "-o", "a.jsonl", "--stats", "stats.json")
    assert_ok(result)
    assert {it["url"] for it in read_jsonl(tmp_path / "a.jsonl")} == {base + "/", base + "/public"}
    assert srv.hits[base + "/private/x"] == 0
    assert srv.hits[base + "/robots.txt"] == 1
    assert any("robots" in k for k in _stats(tmp_path)), _stats(tmp_path)
    result = acrawl.run("links", "-a", f"url={base}/", "-o", "b.jsonl", "--no-robots")
    assert_ok(result)
    assert base + "/private/x" in {it["url"] for it in read_jsonl(tmp_path / "b.jsonl")}


def test_a_stalling_server_costs_at_most_the_timeout(acrawl: Runner, tmp_path: Path,
                                                     site_process) -> None:
    site = site_process("links", "--pages", "10", "--latency", "30")
    t0 = time.monotonic()
    result = acrawl.run("links", "-a", f"url={site.base_url}/", "--timeout", "0.5",
                        "-s", "retry_times=1", "--no-robots", "-o", "o.jsonl",
                        "--stats", "stats.json", timeout=30)
    took = time.monotonic() - t0
    assert result.returncode in (0, 1), describe(result)
    assert took < 8, f"took {took:.1f}s with --timeout 0.5 and one retry"
    stats = _stats(tmp_path)
    assert stats.get("retries", 0) == 1, stats
    assert any(k.startswith("failed/") for k in stats), stats
    assert read_jsonl(tmp_path / "o.jsonl") == []


def test_oversized_responses_are_cut_and_reported(acrawl: Runner, tmp_path: Path,
                                                  serve) -> None:
    srv = serve(LinkSite(pages=10))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "-s", "max_response_size=2000",
                        "-o", "o.jsonl", "--stats", "stats.json")
    assert result.returncode in (0, 1), describe(result)
    stats = _stats(tmp_path)
    assert stats.get("responses/truncated", 0) >= 1, stats


def test_max_depth(acrawl: Runner, tmp_path: Path, serve) -> None:
    srv = serve(LinkSite(pages=300))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "--max-depth", "1",
                        "-o", "o.jsonl", "--stats", "stats.json")
    assert_ok(result)
    items = read_jsonl(tmp_path / "o.jsonl")
    depths = {it["depth"] for it in items}
    assert depths == {0, 1}
    assert 1 < len(items) < 300
    assert _stats(tmp_path).get("dropped/max_depth", 0) > 0
