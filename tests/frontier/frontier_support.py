"""The frontier backends behind one harness (``Backend``), so one contract suite runs over all
of them; the fixtures that build them are in ``conftest.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from acrawl.frontier.base import DupeFilter, RequestQueue
from acrawl.spider import Spider

__all__ = ["ALL", "DURABLE", "Backend", "ContractSpider"]

ALL = ["memory", "sqlite", "redis"]
#: backends that keep requests outside the process: in flight until done, across a restart
DURABLE = ["sqlite", "redis"]


class ContractSpider(Spider):
    name = "contract"

    def parse(self, response: Any) -> None:
        return None

    def other(self, response: Any) -> None:
        return None


@attrs.define
class Backend:
    """One process's view of a frontier backend."""

    name: str
    queue: RequestQueue
    dupefilter: DupeFilter
    spider: Spider
    #: requests are stored encoded (callbacks by name; a lambda callback is refused)
    stores: bool
    #: ``restart()``: the same store opened again by a new process (durable backends only);
    #: what the old one had in flight and not done is pending again
    restart: Callable[[], Awaitable[Backend]] | None = None
