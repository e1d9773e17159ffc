"""The live view on a terminal (a pseudo-terminal here): the status line, a progress bar
towards ``--max-pages`` with an estimate, the table of the busiest hosts, and a last view that
shows the crawl's own rate."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from typing import Any

from e2e_support import ACRAWL, base_env

from acrawl.demo.site import LinkSite

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def run_on_a_terminal(args: list[str], cwd: str, timeout: float = 60) -> tuple[int, str]:
    """``acrawl-run ARGS`` with stderr (and stdout) on a pseudo-terminal: (exit code, what
    the terminal showed, escape sequences removed)."""
    master, slave = pty.openpty()
    env = {**base_env(), "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([*ACRAWL, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other side closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    code = proc.wait(10)
    return code, ANSI.sub("", b"".join(chunks).decode(errors="replace"))


def test_the_live_view_shows_the_bar_the_hosts_and_the_crawls_own_rate(
        tmp_path: Any, serve: Any) -> None:
    srv = serve(LinkSite(pages=3000, latency=0.005))
    code, shown = run_on_a_terminal(
        ["links", "-a", f"url={srv.base_url}/", "--max-pages", "400", "--concurrency", "4",
         "-o", "out.jsonl"], str(tmp_path))
    assert code == 0, shown[-3000:]
    assert re.search(r"━+.* \d[\d,]*/400 pages  \d+%  ETA \d+:\d\d:\d\d", shown), shown[-3000:]
    assert re.search(r"host +in flight +queued +delay +pages +errors", shown), shown[-3000:]
    host = srv.base_url.split("://")[1]
    assert re.search(rf"{re.escape(host)} +\d+ +[\d,]+ +0s +[\d,]+ +0", shown), shown[-3000:]
    assert "400/400 pages  100%" in shown
    assert re.search(r"pages [\d,]+ \([\d,]+/s\).* [\d.]+ (B|KiB|MiB)/s", shown)
    # the last status line gives the whole crawl's rate, as the summary does
    last = re.findall(r"pages 400 \(([\d,]+)/s\)", shown)
    summary = re.search(r"crawl finished in [\d.]+s: 400 pages \(([\d.]+)/s\)", shown)
    assert last and summary, shown[-3000:]
    assert abs(int(last[-1].replace(",", "")) - float(summary.group(1))) <= 1
