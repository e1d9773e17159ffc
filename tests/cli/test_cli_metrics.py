"""``acrawl-run --metrics-port``: a plain HTTP GET of the endpoint during a real crawl."""

from __future__ import annotations

import re
import time
import urllib.request
from typing import Any

from e2e_support import Runner, wait_for

from acrawl.demo.site import LinkSite


def _scrape(url: str) -> dict[str, float]:
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=5) as r:
        assert r.status == 200
        text = r.read().decode()
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in text.splitlines() if line and line[0] != "#")}


def test_metrics_counters_grow_during_a_crawl(acrawl: Runner, serve: Any) -> None:
    srv = serve(LinkSite(pages=5000, latency=0.05))
    run = acrawl.start("links", "-a", f"url={srv.base_url}/", "--concurrency", "4",
                       "--metrics-port", "0", "--close-timeout", "20", "-o", "out.jsonl")
    found: list[str] = []

    def announced() -> bool:
        found[:] = re.findall(r"metrics on (http://127\.0\.0\.1:\d+/metrics)", run.stderr)
        return bool(found) or run.poll() is not None

    assert wait_for(announced, 20) and found, run.stderr
    assert wait_for(lambda: _scrape(found[0]).get("acrawl_pages_total", 0) >= 5, 20)
    first = _scrape(found[0])
    time.sleep(1.0)
    second = _scrape(found[0])
    run.send_signal(2)  # SIGINT: stop
    code, _ = run.finish(30)
    assert code == 130, run.stderr
    for name in ("acrawl_pages_total", "acrawl_items_total", "acrawl_response_bytes_total",
                 "acrawl_downloads_total", 'acrawl_responses_total{status="200"}'):
        assert second[name] > first[name] > 0, name
    assert "acrawl_queue_depth" in second and "acrawl_in_flight" in second
