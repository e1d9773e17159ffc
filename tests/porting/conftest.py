"""Fixtures for the porting tests: a quotes site on 127.0.0.1 (helpers in ``quotes_site.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from quotes_site import QuotesServer


@pytest.fixture
def quotes() -> Iterator[QuotesServer]:
    """A fresh quotes site (hit counters, CSRF tokens, sessions) for one test."""
    with QuotesServer() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        yield server


@pytest.fixture(autouse=True)
def _no_plugin_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed plugin (e.g. acrawl-sitemap) must not change what these tests observe."""
    monkeypatch.setenv("ACRAWL_DISABLE_PLUGIN_AUTOLOAD", "1")
