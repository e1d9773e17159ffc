"""Shared by every test folder (the layout: ``tests/README.md``).

- Puts this folder on ``sys.path`` (pytest's default import mode does so for a conftest), so the
  support modules here (``cli_support``, ``redis_support``, ``inprocess_support``) can be
  imported by every folder.
- Registers the fixtures of in-process crawls against local aiohttp apps (``serve_app``,
  ``crawl``, ``page``, ``links``, ``closed_port``; ``inprocess_support.py``) and the session's
  redis-server fixtures (``redis_support.py``) for the folders that need one
  (tests/frontier/redis, the Redis backend of tests/frontier/test_contract.py), so one server
  serves them all.
- Turns plugin autoloading off for the tests of the package's modules (the folders in
  ``IN_PROCESS``); the other folders decide for themselves (tests/cli per ``acrawl-run``
  process, tests/plugins per test).
"""

from pathlib import Path

import pytest

from inprocess_support import closed_port, crawl, links, page, serve_app
from redis_support import redis_client, redis_server, redis_url

__all__ = ["closed_port", "crawl", "links", "page", "redis_client", "redis_server", "redis_url",
           "serve_app"]

TESTS = Path(__file__).resolve().parent

#: the folders (``.`` is this one) whose tests run the package's modules in-process, where an
#: installed plugin (e.g. acrawl-sitemap) must not change what they observe
IN_PROCESS = frozenset({".", "core", "download", "policies", "sinks", "ops", "demo"})


@pytest.fixture(autouse=True)
def _no_plugin_autoload(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ACRAWL_DISABLE_PLUGIN_AUTOLOAD=1`` for the tests under an ``IN_PROCESS`` folder."""
    parts = request.path.resolve().parent.relative_to(TESTS).parts
    if (parts[0] if parts else ".") in IN_PROCESS:
        monkeypatch.setenv("ACRAWL_DISABLE_PLUGIN_AUTOLOAD", "1")
