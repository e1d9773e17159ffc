"""Fixtures for the end-to-end tests (helpers live in ``e2e_support.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    ACRAWL_DEV,
    LOOPBACK,
    Runner,
    SiteProcess,
    start_site_process,
    stop_site_process,
)

from acrawl.demo.site import LinkSite, ThreadedServer, run_in_thread


@pytest.fixture
def acrawl(tmp_path: Path) -> Iterator[Runner]:
    """Runs ``acrawl-run`` with ``tmp_path`` as its working directory."""
    runner = Runner(tmp_path)
    yield runner
    runner.close()


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Runner]:
    """Runs ``acrawl COMMAND ...`` (the developer's loop) with ``tmp_path`` as its working
    directory."""
    runner = Runner(tmp_path, command=ACRAWL_DEV)
    yield runner
    runner.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve() -> Iterator[Callable[[Any], ThreadedServer]]:
    """``serve(site)``: serve a site on 127.0.0.1 in a thread for this test."""
    servers: list[ThreadedServer] = []

    def start(site: Any) -> ThreadedServer:
        srv = run_in_thread(site, host=LOOPBACK)
        assert srv.base_url.startswith(f"http://{LOOPBACK}:")
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.close()


@pytest.fixture(scope="module")
def link_site_1000() -> Iterator[ThreadedServer]:
    """A LinkSite of 1000 pages served in a thread for the module (hits are shared)."""
    with run_in_thread(LinkSite(pages=1000), host=LOOPBACK) as srv:
        yield srv


@pytest.fixture
def site_process() -> Iterator[Callable[..., SiteProcess]]:
    """``site_process("links", "--pages", "5000", "--latency", "0.2")``: a site served by a
    child process (``python -m acrawl.demo.site``), stopped after the test."""
    started: list[SiteProcess] = []

    def start(*args: str) -> SiteProcess:
        site = start_site_process(*args)
        started.append(site)
        return site

    yield start
    for site in started:
        stop_site_process(site)
