"""Helpers for the ``--state`` tests: ``acrawl-run`` as a subprocess against a LinkSite served on
127.0.0.1 by a thread of the test process (so the server, and its per-URL hit counter, outlive
every crawler process that is killed and restarted).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import textwrap
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from w3lib.url import canonicalize_url

LOOPBACK = "127.0.0.1"
CONCURRENCY = 16  # the default `concurrency`
BATCH = 100  # the default `item_batch_size`


from cli_support import ACRAWL, wait_for  # noqa: E402, F401 - shared with tests/cli and tests/frontier/redis


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items()
           if k.lower() not in {"http_proxy", "https_proxy", "all_proxy", "pythonpath"}}
    out["NO_PROXY"] = out["no_proxy"] = "127.0.0.1,localhost"
    out["PYTHONUNBUFFERED"] = "1"
    out["PYTHONDONTWRITEBYTECODE"] = "1"
    out["ACRAWL_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return out


def start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*ACRAWL, *args], cwd=cwd, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def run(cwd: Path, *args: str, timeout: float = 80,
        env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ACRAWL, *args], cwd=cwd, env={**env(), **(env_extra or {})},
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[int, str, str, float]:
    """Wait for ``proc``; (exit code, stdout, stderr, seconds it took)."""
    t0 = time.monotonic()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"acrawl-run did not exit within {timeout}s\n{err[-3000:]}") from None
    return proc.returncode, out, err, time.monotonic() - t0


def kill9(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate()


def describe(code: int, err: str, out: str = "") -> str:
    return f"exit {code}\n--- stdout ---\n{out[-2000:]}\n--- stderr ---\n{err[-3000:]}"




def write_module(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


# -- outputs --------------------------------------------------------------------------------------

def canon(url: str) -> str:
    return canonicalize_url(url)


def output_urls(cwd: Path, output: str, *, partial: bool = False) -> list[str]:
    """The ``url`` of every item in ``output`` (an ``-o`` URI relative to ``cwd``), in order.

    ``partial``: the output of a killed run (a JSON array not closed, a last line cut)."""
    if output.startswith("sqlite:///"):
        path = cwd / output[len("sqlite:///"):]
        if not path.exists():
            return []
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT url FROM items ORDER BY rowid").fetchall()
        except sqlite3.OperationalError:  # table (or its url column) not created yet
            rows = []
        finally:
            conn.close()
        return [r[0] for r in rows]
    path = cwd / output
    if not path.exists():
        return []
    if output.endswith(".csv"):
        with path.open(newline="", encoding="utf-8") as fh:
            return [row["url"] for row in csv.DictReader(fh)]
    if output.endswith(".json") and not partial:
        return [item["url"] for item in json.loads(path.read_text(encoding="utf-8"))]
    if partial:  # one item a line in JSONL, and in the JSON array as acrawl writes it
        urls = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip().lstrip("[").rstrip(",")
            try:
                urls.append(json.loads(line)["url"])
            except (ValueError, KeyError, TypeError):
                continue
        return urls
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), f"{path}: last line cut: {data[-200:]!r}"
    return [json.loads(line)["url"] for line in data.decode("utf-8").splitlines()]


def output_has_items(cwd: Path, output: str) -> bool:
    try:
        if output.endswith(".json"):  # unclosed JSON array: look at the bytes
            return (cwd / output).stat().st_size > 2
        return bool(output_urls(cwd, output, partial=True))
    except (OSError, ValueError, KeyError, sqlite3.Error):
        return False


def extra_copies(urls: Iterable[str]) -> int:
    """How many items are repeats of an earlier item (same canonical URL)."""
    counts = Counter(canon(u) for u in urls)
    return sum(n - 1 for n in counts.values() if n > 1)


def refetches(hits: Counter[str], pages: set[str]) -> int:
    """Downloads beyond the first, over ``pages``."""
    return sum(hits[u] - 1 for u in pages if hits[u] > 1)


def stats(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
