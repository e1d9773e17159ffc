"""Running ``acrawl-run`` as a user does: the console script of this venv, a clean env."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["ACRAWL", "ACRAWL_DEV", "clean_env", "wait_for"]


def _acrawl_command(script: str = "acrawl-run", module: str = "acrawl.cli.main") -> list[str]:
    """The console script of this venv (next to the interpreter), else PATH."""
    here = Path(sys.executable).parent / script
    if here.is_file():
        return [str(here)]
    found = shutil.which(script)
    if found:
        return [found]
    # the same entry point the console script calls
    return [sys.executable, "-c", f"from {module} import main; raise SystemExit(main())"]


ACRAWL = _acrawl_command()
#: the ``acrawl`` command (subcommands: run, new, genspider, shell, fetch, parse, ...)
ACRAWL_DEV = _acrawl_command("acrawl", "acrawl.cli.acrawl")


def clean_env(*, keep_pythonpath: bool = False) -> dict[str, str]:
    """This process's environment without proxy variables (and PYTHONPATH unless kept),
    loopback excluded from proxying, unbuffered output."""
    drop = {"http_proxy", "https_proxy", "all_proxy"} | (
        set() if keep_pythonpath else {"pythonpath"})
    env = {k: v for k, v in os.environ.items() if k.lower() not in drop}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
