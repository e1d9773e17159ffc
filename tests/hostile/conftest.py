"""Fixtures for the hostile-site tests: a fresh hostile server per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from hostile_site import HostileServer, brotli_bomb, deflate_bomb, gzip_bomb, start_hostile

# An installed plugin (e.g. acrawl-sitemap) must not change what these tests observe.
os.environ.setdefault("ACRAWL_DISABLE_PLUGIN_AUTOLOAD", "1")

ALIAS_HOST = "127.0.0.2"  # a second loopback address (works out of the box on Linux)


@pytest.fixture(scope="session", autouse=True)
def _payloads() -> None:
    """Build the bombs once, before any test measures memory."""
    gzip_bomb()
    deflate_bomb()
    brotli_bomb()


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    """The hostile site on 127.0.0.1 (any free port) and, if bindable, on 127.0.0.2."""
    server = await start_hostile("127.0.0.1", 0, alias_host=ALIAS_HOST)
    try:
        yield server
    finally:
        await server.close()
