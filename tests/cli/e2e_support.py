"""Helpers for the end-to-end tests: ``acrawl-run`` as a subprocess against real servers on
127.0.0.1.

Every test runs the installed console script (never ``python -m``) in its own ``tmp_path``
working directory, with ``ACRAWL_DISABLE_PLUGIN_AUTOLOAD=1`` unless it tests entry points,
proxy variables removed, and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acrawl.demo.site import NOT_FOUND, Reply

LOOPBACK = "127.0.0.1"


from cli_support import (  # noqa: E402, F401 - shared with tests/frontier/state, tests/frontier/redis
    ACRAWL,
    ACRAWL_DEV,
    wait_for,
)


def base_env(*, autoload: bool = False, pythonpath: list[Path] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in {"http_proxy", "https_proxy", "all_proxy", "pythonpath"}}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("ACRAWL_DISABLE_PLUGIN_AUTOLOAD", None)
    if not autoload:
        env["ACRAWL_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    env["COLUMNS"] = "200"
    return env


class Runner:
    """Runs ``acrawl-run`` (or ``command``) in ``cwd``; ``run(...)`` waits, ``start(...)`` runs
    it in the background."""

    def __init__(self, cwd: Path, command: list[str] | None = None) -> None:
        self.cwd = cwd
        self.command = command or ACRAWL
        self._started: list[Started] = []

    def close(self) -> None:
        """Kill what ``start`` started and is still running; remove its logs."""
        for started in self._started:
            started.cleanup()

    def _env(self, autoload: bool, pythonpath: list[Path] | None,
             extra_env: Mapping[str, str] | None) -> dict[str, str]:
        env = base_env(autoload=autoload, pythonpath=pythonpath)
        env.update(extra_env or {})
        return env

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 60,
            autoload: bool = False, pythonpath: list[Path] | None = None,
            env: Mapping[str, str] | None = None,
            stdin_text: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run to the end; ``stdin_text`` is its standard input (default: none)."""
        stdin = {"input": stdin_text} if stdin_text is not None else {"stdin": subprocess.DEVNULL}
        return subprocess.run(
            [*self.command, *args], cwd=cwd or self.cwd, env=self._env(autoload, pythonpath, env),
            capture_output=True, text=True, timeout=timeout, **stdin,  # type: ignore[call-overload]
        )

    def start(self, *args: str, cwd: Path | None = None, autoload: bool = False,
              pythonpath: list[Path] | None = None,
              env: Mapping[str, str] | None = None) -> Started:
        """Start ``acrawl-run`` in the background; its stdout and stderr go to files (not
        pipes, which would block a chatty process nobody reads)."""
        where = cwd or self.cwd
        logs = Path(tempfile.mkdtemp(prefix="acrawl-e2e-logs-"))
        with open(logs / "stdout", "wb") as out, open(logs / "stderr", "wb") as err:
            proc = subprocess.Popen(
                [*self.command, *args], cwd=where, env=self._env(autoload, pythonpath, env),
                stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            )
        started = Started(proc, logs)
        self._started.append(started)
        return started


class Started:
    """A background ``acrawl-run``: ``.proc`` (Popen), ``.finish(timeout)``, ``.kill()``."""

    def __init__(self, proc: subprocess.Popen[bytes], logs: Path) -> None:
        self.proc, self._logs = proc, logs

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def poll(self) -> int | None:
        return self.proc.poll()

    @property
    def stdout(self) -> str:
        return (self._logs / "stdout").read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return (self._logs / "stderr").read_text(errors="replace")

    def finish(self, timeout: float) -> tuple[int, float]:
        """Wait for the exit: (exit code, seconds waited); AssertionError on a timeout."""
        t0 = time.monotonic()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"acrawl-run did not exit within {timeout}s\n"
                                 f"{self.stderr[-3000:]}") from None
        return code, time.monotonic() - t0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self._logs, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# assertions and readers
# ------------------------------------------------------------------------------------------------


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return (f"exit {result.returncode}\n--- stdout ---\n{result.stdout[-3000:]}"
            f"\n--- stderr ---\n{result.stderr[-3000:]}")


def assert_ok(result: subprocess.CompletedProcess[str], code: int = 0) -> None:
    assert result.returncode == code, describe(result)


def assert_usage_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, exactly one non-empty stderr line, no traceback, naming every needle."""
    assert result.returncode == 2, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected a one-line error, got {len(lines)} lines\n" + describe(
        result)
    for needle in needles:
        assert needle.lower() in lines[0].lower(), f"{needle!r} not named\n" + describe(result)
    return lines[0]


def assert_failure(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 1, exactly one non-empty stderr line, no traceback, naming every needle."""
    assert result.returncode == 1, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected a one-line error, got {len(lines)} lines\n" + describe(
        result)
    for needle in needles:
        assert needle.lower() in lines[0].lower(), f"{needle!r} not named\n" + describe(result)
    return lines[0]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line of ``path``: complete (newline-terminated) and valid JSON objects."""
    data = path.read_bytes()
    if not data:
        return []
    assert data.endswith(b"\n"), f"{path}: last line is not terminated: {data[-200:]!r}"
    out = []
    for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{path}:{n}: not valid JSON ({exc}): {line[:200]!r}") from None
        assert isinstance(obj, dict), f"{path}:{n}: not an object: {line[:200]!r}"
        out.append(obj)
    return out


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def write_module(folder: Path, name: str, source: str) -> Path:
    """Write ``source`` (dedented) to ``folder/name`` and return the path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------
# sites
# ------------------------------------------------------------------------------------------------


class PagesSite:
    """A tiny site from a ``{path: html or Reply}`` mapping (acrawl.demo.site's Site protocol);
    ``robots`` is served as /robots.txt."""

    def __init__(self, pages: Mapping[str, str | Reply], robots: str = "User-agent: *\nAllow: /\n",
                 latency: float = 0.0) -> None:
        self.pages = dict(pages)
        self.robots = robots
        self.latency = latency

    def render(self, path: str, query: Mapping[str, str], base: str) -> Reply:
        if path == "/robots.txt":
            return Reply(200, self.robots, "text/plain; charset=utf-8")
        page = self.pages.get(path)
        if page is None or query:
            return NOT_FOUND
        return page if isinstance(page, Reply) else Reply(200, page)

    def page_urls(self, base: str) -> set[str]:
        return {base.rstrip("/") + p for p in self.pages}


class SiteProcess:
    def __init__(self, proc: subprocess.Popen[str], base_url: str) -> None:
        self.proc, self.base_url = proc, base_url


def start_site_process(*args: str) -> SiteProcess:
    """``python -m acrawl.demo.site ARGS`` in a child process; returns once it prints its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "acrawl.demo.site", *args], stdout=subprocess.PIPE, text=True,
        env=base_env(), stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith(f"http://{LOOPBACK}:"):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"site did not start: {url!r}")
    return SiteProcess(proc, url)


def stop_site_process(site: SiteProcess) -> None:
    site.proc.terminate()
    try:
        site.proc.wait(1)
    except subprocess.TimeoutExpired:
        site.proc.kill()
        site.proc.wait()


