"""Fixtures for the tests of ``acrawl.core`` (helpers live in ``core_support.py``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_plugin_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed plugin (e.g. acrawl-sitemap) must not change what these tests observe."""
    monkeypatch.setenv("ACRAWL_DISABLE_PLUGIN_AUTOLOAD", "1")
