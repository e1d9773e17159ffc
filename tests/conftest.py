"""Shared by every test folder: puts this folder on ``sys.path`` (pytest's default import mode
does so for a conftest), so helpers like ``cli_support`` can be imported by all of them; and
registers the session's redis-server fixtures (``redis_support.py``) for the folders that
need one (tests/redis, tests/frontier), so one server serves them all."""

from redis_support import redis_client, redis_server, redis_url

__all__ = ["redis_client", "redis_server", "redis_url"]
