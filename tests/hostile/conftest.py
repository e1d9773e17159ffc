"""Fixtures for the hostile-site tests: a fresh hostile server per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hostile_site import HostileServer, brotli_bomb, deflate_bomb, gzip_bomb, start_hostile

ALIAS_HOST = "127.0.0.2"  # a second loopback address (works out of the box on Linux)


@pytest.fixture(autouse=True)
def _no_plugin_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed plugin (e.g. acrawl-sitemap) must not change what these tests observe.

    Set per test, not in ``os.environ`` at import: that would reach every test of the session
    (a test of tests/plugins that loads the plugin would run without it)."""
    monkeypatch.setenv("ACRAWL_DISABLE_PLUGIN_AUTOLOAD", "1")


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
