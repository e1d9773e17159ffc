"""Fixtures for the ``--state`` tests (helpers live in ``state_support.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from state_support import LOOPBACK

from acrawl.demo.site import LinkSite, ThreadedServer, run_in_thread


@pytest.fixture
def link_site() -> Iterator[Callable[..., ThreadedServer]]:
    """``link_site(pages=2000, latency=0.05)``: a LinkSite on 127.0.0.1 served by a thread of
    the test process for this test; ``.hits`` counts downloads per canonical URL across every
    crawler process of the test."""
    servers: list[ThreadedServer] = []

    def start(pages: int = 2000, latency: float = 0.0) -> ThreadedServer:
        srv = run_in_thread(LinkSite(pages=pages, latency=latency), host=LOOPBACK)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.close()
