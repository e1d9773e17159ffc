"""The built-in spiders: ``links`` (the generic crawl), ``demo`` and ``bench``.

``demo`` and ``bench`` serve a generated site (``acrawl.demo.site``) on 127.0.0.1 for the length of
the run; ``demo`` in a thread of this process, ``bench`` in a child process so the server does
not share the crawler's CPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any, ClassVar

from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..http import Response
from ..spider import Spider
from ..urls import host_key, scheme_of

__all__ = ["BUILTIN_SPIDERS", "BenchSpider", "DemoSpider", "LinksSpider"]


def _title(response: Response) -> str | None:
    title = response.css("title::text").get()
    return title.strip() if title else None


class LinksSpider(Spider):
    """Follow every link from ``-a url=...`` within its host (or ``-a allow=h1,h2``),
    one item per page: url, status, depth, title, referer."""

    name = "links"
    follow_links = True
    handle_httpstatus_all = True

    def __init__(self, url: str | None = None, allow: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not url:
            raise ConfigError("spider 'links' needs a start URL: -a url=http://...")
        if scheme_of(url) not in ("http", "https") or not host_key(url):
            raise ConfigError(f"spider 'links': not an http(s) URL: {url!r}")
        self.start_urls = [url]  # type: ignore[misc]
        hosts = [h.strip() for h in (allow or "").split(",") if h.strip()]
        self.allowed_hosts = hosts or [host_key(url).rsplit(":", 1)[0].strip("[]")]  # type: ignore[misc]

    def parse(self, response: Response) -> Any:
        if not (200 <= response.status < 300):
            return {"url": response.url, "status": response.status,
                    "depth": response.request.depth, "title": None,
                    "referer": response.request.referer}
        return {
            "url": response.url,
            "status": response.status,
            "depth": response.request.depth,
            "title": _title(response) if _is_html(response) else None,
            "referer": response.request.referer,
        }


def _is_html(response: Response) -> bool:
    from ..policies.linkextract import is_html

    return is_html(response)


class DemoSpider(Spider):
    """Crawl the bundled demo shop (served on 127.0.0.1 for the run): one item per product."""

    name = "demo"
    allowed_hosts = ["127.0.0.1"]

    def __init__(self, products: str | int = 120, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from .site import ShopSite, run_in_thread

        try:
            count = int(products)
        except ValueError:
            raise ConfigError(
                f"spider 'demo': products must be an integer, got {products!r}") from None
        self.site = ShopSite(products=count)
        self._server = run_in_thread(self.site)
        self.start_urls = [self._server.base_url + "/"]  # type: ignore[misc]

    async def parse(self, response: Response) -> Any:
        if "/product/" in response.url:
            price = response.css("span.price::text").get("").strip().lstrip("£$€")
            yield {
                "url": response.url,
                "title": response.css("h1.title::text").get(),
                "price": float(price) if price else None,
                "sku": response.css("span.sku::text").get(),
                "category": response.css("a.category::text").get(),
            }
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href)

    @hookimpl
    def acrawl_crawl_closed(self) -> None:
        self._server.close()


class BenchSpider(Spider):
    """``acrawl-run bench -a pages=N -a latency=S``: crawl a generated link site served by a
    child process; the same user code as the side-by-side benchmark (one item and one
    ``response.follow`` per link). Timed from the moment the site answers (not counting the
    site server's own start-up)."""

    name = "bench"
    allowed_hosts = ["127.0.0.1"]
    settings: ClassVar[dict[str, Any]] = {"obey_robots": False, "log_level": "WARNING"}

    def __init__(self, pages: str | int = 2000, latency: str | float = 0.0,
                 url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            self.pages = int(pages)
            self.latency = float(latency)
        except ValueError:
            raise ConfigError(
                "spider 'bench': pages must be an integer and latency a number") from None
        self._proc: subprocess.Popen[str] | None = None
        self._site_up: float | None = None
        self.url = url
        if url is not None:
            self.start_urls = [url.rstrip("/") + "/"]  # type: ignore[misc]

    def start_requests(self) -> Any:
        """Start the site server when the crawl asks for its first requests (not in
        ``__init__``), so that a configuration error found later leaves no server behind."""
        if self.url is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "acrawl.demo.site", "links", "--pages", str(self.pages),
                 "--latency", str(self.latency)],
                stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            assert self._proc.stdout is not None
            url = self._proc.stdout.readline().strip()
            if not url.startswith("http://"):
                raise RuntimeError("the benchmark site did not start")
            self._site_up = time.monotonic()  # the crawl is timed from here
            self.start_urls = [url + "/"]  # type: ignore[misc]
        yield from super().start_requests()

    def parse(self, response: Response) -> Any:
        yield {"url": response.url}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href)

    @hookimpl
    def acrawl_crawl_closed(self, stats: Any) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        site = f"site: {self.pages}, latency {self.latency:g}s" if self._proc else "site: -a url"
        if self._proc is not None:
            stats.set("bench_pages_expected", self.pages)
        d = stats.to_dict()
        pages = d.get("pages", 0)
        cpu_per_1000 = d["cpu_seconds"] / pages * 1000 if pages else 0.0
        elapsed = d["elapsed_seconds"]
        if self._site_up is not None:  # not the site server's own start-up
            elapsed -= self._site_up - stats.started
        print(
            f"bench: {pages} pages ({site}) in "
            f"{elapsed:.2f}s = {pages / elapsed if elapsed > 0 else 0:.0f} pages/s; "
            f"{d.get('items', 0)} items; {cpu_per_1000:.2f} CPU s per 1000 pages; "
            f"peak RSS {d['peak_rss_bytes'] / 2**20:.0f} MiB; dedup " + (
                f"{d['dedup_bytes_per_url']} bytes/URL in memory ({d['dedup_urls']} URLs)"
                if "dedup_bytes_per_url" in d else "on disk/remote (not measured)"),
            file=sys.stderr,
        )


BUILTIN_SPIDERS: dict[str, type[Spider]] = {
    "demo": DemoSpider,
    "links": LinksSpider,
    "bench": BenchSpider,
}

