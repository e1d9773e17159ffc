"""Built-in component ``cache``: the replay cache (``--cache DIR``, ``--cache-mode MODE``).

Responses are stored in a directory (:mod:`.cache_storage`), keyed by the request
fingerprint, with their status, headers, URL and body; each hop of a redirect is its own
entry. The middleware sits last in the chain, closest to the download, as Scrapy's
``HttpCacheMiddleware`` does: robots.txt, retry, redirect and your middlewares see a cached
response exactly as they would a downloaded one, and it reaches the callback with
``"cached"`` in ``response.flags``.

Modes (``cache_mode``):

* ``record`` (default): a fresh entry (:mod:`.cache_policy`) is served; a stale one with an
  ``ETag``/``Last-Modified`` is revalidated (a 304 refreshes it and its body is served); the
  rest is fetched and stored. A retry goes to the network: the cached answer is what is
  being retried.
* ``replay``: never touch the network. A request with no entry fails with
  :class:`~acrawl.errors.CacheMiss` (``failed/CacheMiss``, its errback gets it).
* ``refresh``: always fetch, and store what comes back.

``meta["dont_cache"]`` keeps one request out of the cache in record and refresh mode (not
looked up, not stored), as in Scrapy; a replay crawl still answers it from the cache only.

A damaged entry file is counted (``cache/corrupt``) and, in record mode, fetched again and
rewritten; in replay mode it is a ``CacheMiss`` with ``reason = "cache_corrupt"``.

>>> cache = CacheMiddleware.from_settings(settings, stats=stats)
>>> chain = DownloadChain([..., Slot("cache", cache)], spider)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict, CIMultiDictProxy

from ..errors import CacheMiss, ConfigError, DownloadError
from ..http import Response
from ..urls import fingerprint
from .cache_policy import DummyPolicy, Rfc9111Policy, conditional_headers, refreshed_headers
from .cache_storage import CorruptEntry, Entry, FileStore

if TYPE_CHECKING:
    from ..http import Request
    from ..settings import Settings
    from ..stats import Stats

__all__ = ["MODES", "CacheMiddleware", "check_settings"]

logger = logging.getLogger(__name__)

MODES = ("record", "replay", "refresh")


class CacheMiddleware:
    """The replay cache in the middleware chain; see the module docstring."""

    name = "cache"

    def __init__(
        self,
        *,
        store: FileStore,
        policy: DummyPolicy,
        mode: str,
        stats: Stats,
        max_response_size: int,
        on_replayed: Callable[[Response], None] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"cache mode {mode!r} is not one of {MODES}")
        self.store = store
        self.policy = policy
        self.mode = mode
        self.stats = stats
        self.max_response_size = max_response_size
        #: called with each response served from the cache (the crawler feeds its cookies
        #: to the downloader's jar, as a downloaded response's would be)
        self.on_replayed = on_replayed
        #: id(request) -> (the stale entry being revalidated, the headers added for it)
        self._revalidating: dict[int, tuple[Entry, list[str]]] = {}
        self._write_failed = False

    @classmethod
    def from_settings(cls, settings: Settings, *, stats: Stats,
                      on_replayed: Callable[[Response], None] | None = None) -> CacheMiddleware:
        """The cache of ``cache_dir``; ConfigError if it cannot be opened for the mode."""
        mode = settings["cache_mode"]
        store = FileStore.open_dir(
            settings["cache_dir"], create=mode != "replay",
            max_bytes=int(settings["cache_max_size_mb"] * 1024 * 1024))
        policy_cls = Rfc9111Policy if settings["cache_policy"] == "rfc9111" else DummyPolicy
        policy = policy_cls(expiration_secs=settings["cache_expiration_secs"],
                            ignore_http_codes=settings["cache_ignore_http_codes"])
        return cls(store=store, policy=policy, mode=mode, stats=stats,
                   max_response_size=settings["max_response_size"], on_replayed=on_replayed)

    # -- the middleware methods -----------------------------------------------------------------
    def process_request(self, request: Request, spider: Any) -> Response | None:
        self._revalidating.pop(id(request), None)
        replay = self.mode == "replay"
        if self.mode == "refresh" or (not replay and request.meta.get("dont_cache")):
            return None
        try:
            entry = self.store.load(fingerprint(request))
        except CorruptEntry as exc:
            self.stats.inc("cache/corrupt")
            where = self.store.path(fingerprint(request))
            if replay:
                logger.warning("damaged cache entry %s for %s: %s", where, request.url, exc)
                raise CacheMiss(f"damaged cache entry for {request.method} {request.url} "
                                f"({exc})", request, reason="cache_corrupt") from None
            logger.warning("damaged cache entry %s for %s: %s; fetching it again",
                           where, request.url, exc)
            entry = None
        if entry is None:
            self.stats.inc("cache/miss")
            if replay:
                raise CacheMiss(f"not in the cache ({self.store.root}): {request.method} "
                                f"{request.url}", request)
            return None
        if replay:
            return self._serve(entry, request)
        if request.retries:  # record mode: a retry asks the server again
            return None
        if entry.truncated and len(entry.body) < self.max_response_size:
            return None  # cut under a smaller max_response_size than this crawl's: refetch
        if self.policy.is_fresh(entry, request, time.time()):
            return self._serve(entry, request)
        self.stats.inc("cache/stale")
        added = []
        for name, value in conditional_headers(entry).items():
            if not any(k.lower() == name.lower() for k in request.headers):
                request.headers[name] = value
                added.append(name)
        if added:
            self._revalidating[id(request)] = (entry, added)
        return None

    async def process_response(self, request: Request, response: Response,
                               spider: Any) -> Response:
        if "cached" in response.flags or self.mode == "replay" or request.meta.get(
                "dont_cache"):
            return response
        pending = self._revalidating.pop(id(request), None)
        if pending is not None:
            entry, added = pending
            for name in added:
                request.headers.pop(name, None)
            if response.status == 304:
                entry = Entry(
                    fingerprint=entry.fingerprint, method=entry.method,
                    request_url=entry.request_url, url=entry.url, status=entry.status,
                    headers=refreshed_headers(entry.headers, response.headers),
                    body=entry.body, stored=time.time(), truncated=entry.truncated)
                self.stats.inc("cache/revalidated")
                await self._save(entry, request)
                return self._serve(entry, request, count=False)
            if response.status >= 500:  # the server failed to answer: keep what we have
                return response
        if self.policy.should_store(request, response):
            await self._save(Entry(
                fingerprint=fingerprint(request), method=request.method,
                request_url=request.url, url=response.url, status=response.status,
                headers=tuple((str(k), str(v)) for k, v in response.headers.items()),
                body=response.body, stored=time.time(), truncated=response.truncated,
            ), request)
        else:
            self.stats.inc("cache/uncacheable")
        return response

    def process_exception(self, request: Request, exception: DownloadError,
                          spider: Any) -> None:
        pending = self._revalidating.pop(id(request), None)
        if pending is not None:
            for name in pending[1]:
                request.headers.pop(name, None)

    # -- helpers --------------------------------------------------------------------------------
    def _serve(self, entry: Entry, request: Request, *, count: bool = True) -> Response:
        """The response ``entry`` records, for ``request``, within ``max_response_size``."""
        if count:
            self.stats.inc("cache/hit")
        body, truncated = entry.body, entry.truncated
        if len(body) > self.max_response_size:
            body, truncated = body[:self.max_response_size], True
        if truncated:
            self.stats.inc("responses/truncated")
        # the entry's own request URL spelled differently (same fingerprint): keep this one's
        url = request.url if entry.url == entry.request_url else entry.url
        response = Response(url=url, status=entry.status,
                            headers=CIMultiDictProxy(CIMultiDict(entry.headers)), body=body,
                            request=request, truncated=truncated, flags=["cached"])
        if self.on_replayed is not None:
            self.on_replayed(response)
        return response

    async def _save(self, entry: Entry, request: Request) -> None:
        store = self.store
        data = store.encode(entry)
        if data is None:
            self.stats.inc("cache/too_large")
            return
        try:
            # creating a file costs a few hundred microseconds of kernel time on a disk: in a
            # thread, so the loop goes on with other requests meanwhile
            await asyncio.to_thread(store.write, entry.fingerprint, data)
        except OSError as exc:
            self.stats.inc("cache/write_errors")
            if not self._write_failed:
                self._write_failed = True
                logger.warning("cannot write to the cache %s: %s (further failures are "
                               "counted as cache/write_errors)", store.root, exc)
            return
        self.stats.inc("cache/store")
        evicted = store.account(entry.fingerprint, len(data))
        if evicted:
            self.stats.inc("cache/evicted", evicted)


def check_settings(settings: Settings, *, disabled: bool) -> bool:
    """Whether the crawl has a cache: ``cache_dir`` set and ``cache`` not disabled.
    ConfigError for a mode that needs a cache the crawl does not have."""
    mode = settings["cache_mode"]
    if mode != "record" and not settings["cache_dir"]:
        raise ConfigError(f"cache_mode={mode} needs a cache directory "
                          f"(--cache DIR or -s cache_dir=DIR)")
    if mode == "replay" and disabled and settings["cache_dir"]:
        raise ConfigError("cache_mode=replay with the cache disabled (-s disable=cache) "
                          "would crawl the network; drop one of them")
    return bool(settings["cache_dir"]) and not disabled
