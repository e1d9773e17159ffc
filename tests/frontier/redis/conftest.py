"""The shared-frontier tests run against a real ``redis-server`` (fixtures ``redis_server``,
``redis_url``, ``redis_client`` from ``tests/redis_support.py``, registered in
``tests/conftest.py``): started once per session on a free loopback port (no persistence),
flushed before each test.

Without the binary the tests are skipped with the reason, except in CI (``CI`` set), where that
is a failure: ``.ci/run`` installs redis-server.
"""

from __future__ import annotations

import pytest

redis = pytest.importorskip("redis", reason="the redis client is not installed "
                            "(pip install -e '.[redis]')")
