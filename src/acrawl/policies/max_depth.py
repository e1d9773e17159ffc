"""Built-in spider-output component ``max_depth``: requests a callback yields deeper than
``max_depth`` are dropped (``dropped/max_depth``), as Scrapy's ``DEPTH_LIMIT``. Installed only
when ``max_depth`` is set. Start requests have depth 0; a redirect keeps its request's depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..http import Request

if TYPE_CHECKING:
    from ..http import Response

__all__ = ["DepthLimit"]


class DepthLimit:
    name = "max_depth"

    def __init__(self, *, max_depth: int, drop: Callable[[Request, str], None]) -> None:
        self.max_depth = max_depth
        self._drop = drop

    def process_spider_output(self, response: Response | None, result: Iterable[Any],
                              spider: Any) -> Iterator[Any]:
        limit = self.max_depth
        for out in result:
            if isinstance(out, Request) and out.depth > limit:
                self._drop(out, "dropped/max_depth")
                continue
            yield out
