"""Built-in component ``retry``: retries connection errors, timeouts and the statuses in
``retry_http_codes``, up to ``retry_times`` (per request: ``meta["max_retry_times"]``;
``meta["dont_retry"]`` turns it off for one request).

A retry is a request whose ``retries`` grew: the engine holds it back for the response's
``Retry-After`` (capped by ``max_retry_after``) or an exponential backoff with jitter, then
queues it outside dedup. A user's middleware retries the same way, with the same budget, by
returning :func:`get_retry_request` — for instance for a 200 "captcha page"::

    class BanRetry:
        def process_response(self, request, response, spider):
            if b"captcha" in response.body:
                return acrawl.get_retry_request(request, spider=spider, reason="ban") or response
            return response
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import BlockedAddress, ConnectError, DownloadError, DownloadTimeout
from ..headers import retry_after_seconds

if TYPE_CHECKING:
    from ..http import Request, Response
    from ..settings import Settings
    from ..stats import Stats

__all__ = ["RetryMiddleware", "get_retry_request", "retry_after"]

logger = logging.getLogger(__name__)


class _Crawler(Protocol):
    settings: Settings
    stats: Stats

    @property
    def stopping(self) -> bool: ...


def get_retry_request(
    request: Request,
    *,
    spider: Any,
    reason: str = "unspecified",
    max_retry_times: int | None = None,
) -> Request | None:
    """A retry of ``request`` (``retries + 1``), or ``None`` when its retries are used up or
    the crawl is stopping. Counts ``retries`` and ``retries/<reason>`` (``retries/max_reached``
    when the budget is spent), as Scrapy's function of the same name."""
    crawler: _Crawler = spider.crawler
    stats = crawler.stats
    limit = max_retry_times
    if limit is None:
        limit = request.meta.get("max_retry_times")
    if limit is None:
        limit = crawler.settings["retry_times"]
    if request.retries >= limit or crawler.stopping:
        if request.retries >= limit:
            stats.inc("retries/max_reached")
        return None
    stats.inc("retries")
    stats.inc(f"retries/{reason}")
    logger.debug("retrying %s (%s, retry %d of %d)", request.url, reason,
                 request.retries + 1, limit)
    return request.replace(retries=request.retries + 1)


class RetryMiddleware:
    """Retries what the server or the network got wrong; see the module docstring."""

    name = "retry"

    def __init__(self, *, retry_http_codes: frozenset[int], max_retry_after: float = 60.0,
                 pause: Callable[[str, int, float], None] | None = None) -> None:
        self.codes = retry_http_codes
        self.max_retry_after = max_retry_after
        self._pause = pause

    @classmethod
    def from_crawler(cls, crawler: Any) -> RetryMiddleware:
        politeness = getattr(crawler, "politeness", None)
        return cls(retry_http_codes=frozenset(crawler.settings["retry_http_codes"]),
                   max_retry_after=crawler.settings["max_retry_after"],
                   pause=politeness.retry_after if politeness is not None else None)

    def process_response(self, request: Request, response: Response,
                         spider: Any) -> Response | Request:
        status = response.status
        if status in self.codes and not request.meta.get("dont_retry"):
            wait = retry_after(response)
            if wait is not None and self._pause is not None:  # a 429/503 pauses the host
                self._pause(request.host, status, min(wait, self.max_retry_after))
            retry = get_retry_request(request, spider=spider, reason=f"http_{status}")
            if retry is None:
                return response
            if wait is not None:
                retry.meta["retry_after"] = wait  # the engine waits this long (capped)
            return retry
        return response

    def process_exception(self, request: Request, exception: DownloadError,
                          spider: Any) -> Request | None:
        if (isinstance(exception, DownloadTimeout | ConnectError)
                and not isinstance(exception, BlockedAddress)
                and not request.meta.get("dont_retry")):
            return get_retry_request(request, spider=spider, reason=type(exception).__name__)
        return None


def retry_after(response: Response) -> float | None:
    """The seconds a response's ``Retry-After`` asks for (delta or HTTP date), or None when
    it has none or an unusable one (the default backoff applies then)."""
    return retry_after_seconds(response.headers.get("Retry-After"))
