"""Deterministic generated websites served on 127.0.0.1, for the demo, benchmarks and tests.

Two sites, both pure functions of their parameters (same seed -> byte-identical HTML):

* :class:`ShopSite` -- a small shop: ``/`` -> ``/category/<slug>/`` (paginated with
  ``?page=N``) -> ``/product/<id>``, plus ``/about`` and ``/robots.txt``.
* :class:`LinkSite` -- a link graph of ``pages`` pages of ~15 KB, each with 20-60 links in
  every spelling a crawler must normalise (relative, ``../``, absolute, fragments, query-order
  variants) and a few off-host links (``http://offsite-<k>.invalid/x``) it must never fetch.

``site.page_urls(base)`` is the exact set of canonical URLs (``w3lib.url.canonicalize_url``)
a correct deduplicating crawler fetches, once each. Every request is counted in
``served.hits``, a :class:`collections.Counter` keyed by the canonical absolute URL
(built from the request's Host header), so ``served.hits[url] == 1`` checks "fetched once".

Usage::

    async with await serve(ShopSite()) as served:
        ...  # crawl served.base_url, e.g. "http://127.0.0.1:40123"
        assert set(served.hits) >= served.site.page_urls(served.base_url)

    with run_in_thread(LinkSite(pages=500)) as srv:  # own loop in a daemon thread
        ...  # crawl srv.base_url from this thread's loop

    $ python -m acrawl.demo.site links --pages 10000 --latency 0.05   # prints the URL, then serves

``serve`` is an aiohttp application (with hit counts), for tests. ``python -m acrawl.demo.site``
serves through :func:`serve_fast` instead: a minimal HTTP/1.1 server on a bare asyncio
protocol, so that in a benchmark the server costs a small fraction of the crawler's CPU (the
role nginx plays in the reference measurements) and ``--latency`` delays each response
without holding a coroutine per request.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import functools
import html
import ipaddress
import math
import random
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol
from urllib.parse import parse_qsl, unquote

from aiohttp import web
from w3lib.url import canonicalize_url

__all__ = ["LinkSite", "Served", "ShopSite", "ThreadedServer", "make_app", "run_in_thread", "serve",
           "serve_fast"]

HTML = "text/html; charset=utf-8"
ROBOTS = "User-agent: *\nAllow: /\n"
WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate "
    "velit esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident"
).split()
CATEGORIES = ("Books", "Music", "Garden", "Toys", "Kitchen", "Sports", "Games", "Tools")
ADJECTIVES = ("Blue", "Tiny", "Grand", "Rustic", "Crème", "Swift", "Quiet", "Golden", "Bold",
              "Vintage", "Smart", "Happy", "Silver", "Cosy", "Noble", "Lucky")
NOUNS = ("Kettle", "Lamp", "Novel", "Trowel", "Guitar", "Puzzle", "Salt & Pepper Mill", "Kite",
         "Hammer", "Teapot", "Atlas", "Drum", "Racket", "Chess Set", "Planter", "Notebook")


class Reply(NamedTuple):
    status: int
    body: str
    content_type: str = HTML
    location: str | None = None


NOT_FOUND = Reply(404, "<!doctype html><title>Not found</title><h1>Not found</h1>")


class Site(Protocol):
    latency: float

    def render(self, path: str, query: Mapping[str, str], base: str) -> Reply: ...
    def page_urls(self, base: str) -> set[str]: ...


def _page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n")


def _a(href: str, text: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<a{c} href="{html.escape(href)}">{html.escape(text)}</a>'


def _int(s: str) -> int | None:
    """Parse a canonical non-negative decimal (no sign, no leading zeros), else None."""
    return int(s) if s.isdigit() and s.isascii() and str(int(s)) == s else None


class ShopSite:
    """A small shop. Page set: ``/``, ``/about``, ``/category/<slug>/`` (page 1),
    ``/category/<slug>/?page=N`` for N = 2..pages, and ``/product/<id>`` for id = 1..products."""

    def __init__(self, products: int = 120, per_page: int = 12, categories: int = 6,
                 seed: int = 0, latency: float = 0.0) -> None:
        self.products, self.per_page, self.seed, self.latency = products, per_page, seed, latency
        rng = random.Random(seed)
        self.categories = [  # (slug, name)
            (name.lower() + (f"-{i // len(CATEGORIES) + 1}" if i >= len(CATEGORIES) else ""),
             name + (f" {i // len(CATEGORIES) + 1}" if i >= len(CATEGORIES) else ""))
            for i in range(categories) for name in [CATEGORIES[i % len(CATEGORIES)]]]
        combos = [f"{a} {n}" for a in ADJECTIVES for n in NOUNS]
        rng.shuffle(combos)
        cats = [i % categories for i in range(products)]
        rng.shuffle(cats)
        self._items: dict[int, dict[str, Any]] = {}
        self._by_cat: list[list[int]] = [[] for _ in range(categories)]
        for pid in range(1, products + 1):
            k = pid - 1
            title = combos[k % len(combos)] + (f" Mk {k // len(combos) + 1}"
                                               if k >= len(combos) else "")
            self._items[pid] = {
                "title": title, "price": rng.randint(199, 9999) / 100,
                "sku": f"AC{pid:05d}-{rng.randrange(16**4):04X}", "cat": cats[k],
                "description": " ".join(rng.choices(WORDS, k=24)).capitalize() + "."}
            self._by_cat[cats[k]].append(pid)

    def product(self, id: int) -> dict[str, Any]:
        """What a spider should scrape from ``/product/<id>``: title, price, sku, category."""
        it = self._items[id]
        return {"title": it["title"], "price": it["price"], "sku": it["sku"],
                "category": self.categories[it["cat"]][1]}

    def _npages(self, cat: int) -> int:
        return max(1, math.ceil(len(self._by_cat[cat]) / self.per_page))

    def product_urls(self, base: str) -> set[str]:
        base = base.rstrip("/")
        return {f"{base}/product/{pid}" for pid in self._items}

    def page_urls(self, base: str) -> set[str]:
        base = base.rstrip("/")
        urls = {f"{base}/", f"{base}/about"} | self.product_urls(base)
        for c, (slug, _) in enumerate(self.categories):
            urls.add(f"{base}/category/{slug}/")
            urls |= {f"{base}/category/{slug}/?page={n}" for n in range(2, self._npages(c) + 1)}
        return urls

    def _layout(self, title: str, body: str) -> str:
        nav = " | ".join([_a("/", "Home"), _a("/about", "About")]
                         + [_a(f"/category/{s}/", n) for s, n in self.categories])
        return _page(title, f"<nav>{nav}</nav>\n<main>\n{body}\n</main>")

    def render(self, path: str, query: Mapping[str, str], base: str) -> Reply:
        parts = path.strip("/").split("/")
        if path == "/robots.txt":
            return Reply(200, ROBOTS, "text/plain; charset=utf-8")
        if path == "/" and not query:
            featured = [_a(f"product/{p}", self._items[p]["title"]) for p in list(self._items)[:4]]
            return Reply(200, self._layout("Acrawl Shop", "<h1>Acrawl Shop</h1>\n<p>Featured: "
                                           + ", ".join(featured) + "</p>"))
        if path == "/about" and not query:
            return Reply(200, self._layout("About", "<h1>About</h1><p>A generated shop.</p>"))
        if len(parts) == 2 and parts[0] == "category" and path.endswith("/"):
            slugs = [s for s, _ in self.categories]
            if parts[1] in slugs and set(query) <= {"page"}:
                return self._listing(slugs.index(parts[1]), query.get("page", "1"))
        if len(parts) == 2 and parts[0] == "product" and not query:
            pid = _int(parts[1])
            if pid in self._items:
                return self._product(pid)
        return NOT_FOUND

    def _listing(self, cat: int, page_s: str) -> Reply:
        page, name = _int(page_s), self.categories[cat][1]
        if page is None or not 1 <= page <= self._npages(cat):
            return NOT_FOUND
        ids = self._by_cat[cat][(page - 1) * self.per_page:page * self.per_page]
        rows = "\n".join(f'<li class="product">{_a(f"../../product/{p}", self._items[p]["title"])}'
                         f' <span class="price">£{self._items[p]["price"]:.2f}</span></li>'
                         for p in ids)
        pager = []
        if page > 1:
            pager.append(_a("./" if page == 2 else f"?page={page - 1}", "Previous", "prev"))
        if page < self._npages(cat):
            pager.append(_a(f"?page={page + 1}", "Next", "next"))
        return Reply(200, self._layout(f"{name} - page {page}", f"<h1>{html.escape(name)}</h1>\n"
                                       f'<ul class="products">\n{rows}\n</ul>\n'
                                       f'<div class="pager">{" ".join(pager)}</div>'))

    def _product(self, pid: int) -> Reply:
        it = self._items[pid]
        slug, name = self.categories[it["cat"]]
        peers = [p for p in self._by_cat[it["cat"]] if p != pid]
        related = random.Random(self.seed * 1_000_003 + pid).sample(peers, min(4, len(peers)))
        forms = ("/product/{}#reviews", "{}", "../product/{}", "/product/{}")
        rel = "\n".join(f'<li>{_a(forms[i].format(p), self._items[p]["title"])}</li>'
                        for i, p in enumerate(related))
        body = (f'<div class="breadcrumb">{_a("/", "Home")} &gt; '
                f'{_a(f"/category/{slug}/", name, "category")} &gt; '
                f'{html.escape(it["title"])}</div>\n'
                f'<h1 class="title">{html.escape(it["title"])}</h1>\n'
                f'<span class="price">£{it["price"]:.2f}</span>\n'
                f'<span class="sku">{it["sku"]}</span>\n'
                f'<p class="description">{html.escape(it["description"])}</p>\n'
                f'<h2 id="reviews">Related products</h2>\n<ul class="related">\n{rel}\n</ul>')
        return Reply(200, self._layout(it["title"], body))


class LinkSite:
    """A link graph of ``pages`` pages; node n lives at ``/`` (n = 0), ``/q/<n>?a=<n%7>&b=<n%13>``
    (n % 10 == 9, linked with both query orders), else ``/p/<n>``. So ``page_urls`` has exactly
    ``pages`` URLs. ``/p/0`` redirects to ``/`` but is never linked."""

    def __init__(self, pages: int = 1000, seed: int = 0, latency: float = 0.0,
                 offsite_links: int = 3) -> None:
        self.pages, self.seed, self.latency = pages, seed, latency
        self.offsite_links = offsite_links
        self._cached = functools.lru_cache(maxsize=min(max(pages, 512), 20_000))(
            self._render_page)

    @staticmethod
    def path(n: int, swap: bool = False) -> str:
        if n == 0:
            return "/"
        if n % 10 == 9:
            a, b = f"a={n % 7}", f"b={n % 13}"
            return f"/q/{n}?{b}&{a}" if swap else f"/q/{n}?{a}&{b}"
        return f"/p/{n}"

    def page_urls(self, base: str) -> set[str]:
        base = base.rstrip("/")
        return {base + self.path(n) for n in range(self.pages)}

    def render(self, path: str, query: Mapping[str, str], base: str) -> Reply:
        if path == "/robots.txt":
            return Reply(200, ROBOTS, "text/plain; charset=utf-8")
        if path == "/" and not query:
            return Reply(200, self._cached(0, base))
        kind, _, num = path[1:].partition("/")
        n = _int(num)
        if kind == "p" and n == 0 and not query:
            return Reply(301, "", location="/")
        if n is None or not 0 < n < self.pages or kind != ("q" if n % 10 == 9 else "p"):
            return NOT_FOUND
        want = {"a": str(n % 7), "b": str(n % 13)} if kind == "q" else {}
        return Reply(200, self._cached(n, base)) if dict(query) == want else NOT_FOUND

    def _href(self, rng: random.Random, here: str, t: int, base: str) -> str:
        target = self.path(t, swap=rng.random() < 0.5)
        folder = here[: here.rfind("/") + 1]  # "/", "/p/" or "/q/"
        if target == "/":
            forms = ["/", base + "/", "./" if folder == "/" else "../"]
        elif folder == "/":
            forms = [target, base + target, target[1:], "./" + target[1:]]
        else:
            forms = [target, base + target, "../" + target[1:]]
            if target.startswith(folder):
                forms += [target[len(folder):], "./" + target[len(folder):]]
        href = rng.choice(forms)
        return href + rng.choice(["#top", "#s2", "#"]) if rng.random() < 0.2 else href

    def _render_page(self, n: int, base: str) -> str:
        rng = random.Random(self.seed * 1_000_003 + n)
        here = self.path(n).partition("?")[0]
        targets = [t for t in (n + 1, 2 * n + 1, 2 * n + 2) if t < self.pages]
        count = rng.randint(20, 60)
        targets += [rng.randrange(self.pages) for _ in range(count - len(targets)
                                                            - self.offsite_links)]
        links = [_a(self._href(rng, here, t, base), f"Page {t}") for t in targets]
        links += [_a(f"http://offsite-{rng.randrange(1000)}.invalid/x", "Elsewhere")
                  for _ in range(self.offsite_links)]
        rng.shuffle(links)
        head = f'<h1 id="top">Page {n}</h1>\n<ul class="links">\n'
        head += "\n".join(f"<li>{link}</li>" for link in links) + "\n</ul>\n"
        size, paras, target_size = len(head) + 200, [], rng.randint(12_000, 18_000)
        while size < target_size:
            paras.append(f"<p>{' '.join(rng.choices(WORDS, k=80))}.</p>")
            size += len(paras[-1]) + 1
        return _page(f"Page {n}", head + '<div id="s2">\n' + "\n".join(paras) + "\n</div>")


HITS = web.AppKey("hits", Counter)
SITE = web.AppKey("site", object)


@functools.lru_cache(maxsize=1 << 16)
def _hit_key(scheme: str, host: str, raw_path: str) -> str:
    return canonicalize_url(f"{scheme}://{host}{raw_path}")


def make_app(site: Site) -> web.Application:
    """An aiohttp app serving ``site``; ``app[HITS]`` counts requests by canonical URL."""

    async def handle(request: web.Request) -> web.StreamResponse:
        request.app[HITS][_hit_key(request.scheme, request.host, request.raw_path)] += 1
        if site.latency > 0:
            await asyncio.sleep(site.latency)
        base = f"{request.scheme}://{request.host}"
        r = site.render(request.path, request.query, base)
        if r.location is not None:
            raise web.HTTPMovedPermanently(r.location)
        ctype, _, charset = r.content_type.partition("; charset=")
        return web.Response(status=r.status, text=r.body, content_type=ctype, charset=charset)

    app = web.Application()
    app[HITS], app[SITE] = Counter(), site
    app.router.add_get("/{tail:.*}", handle)
    return app


class Served:
    """A running server: ``.base_url``, ``.hits`` (Counter by canonical URL), ``await close()``."""

    def __init__(self, site: Site, runner: web.AppRunner, base_url: str) -> None:
        self.site, self.base_url, self._runner = site, base_url, runner
        self.hits: Counter[str] = runner.app[HITS]

    async def close(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> Served:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def serve(site: Site, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Serve ``site`` on a loopback address (``port=0``: any free port)."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"refusing to bind non-loopback address {host!r}")
    runner = web.AppRunner(make_app(site), access_log=None, handle_signals=False)
    await runner.setup()
    tcp = web.TCPSite(runner, host, port)
    await tcp.start()
    port = runner.addresses[0][1]
    return Served(site, runner, f"http://{f'[{host}]' if ':' in host else host}:{port}")


class ThreadedServer:
    """Serves a site from its own event loop in a daemon thread; listening once constructed.

    ``.base_url`` and ``.hits`` are as on :class:`Served`; ``close()`` stops and joins it."""

    def __init__(self, site: Site, host: str = "127.0.0.1", port: int = 0) -> None:
        self.site, self._loop = site, asyncio.new_event_loop()
        ready: concurrent.futures.Future[Served] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(host, port, ready),
                                        name="acrawl-site", daemon=True)
        self._thread.start()
        served = ready.result()  # re-raises a startup error (e.g. port in use)
        self.base_url, self.hits = served.base_url, served.hits

    def _run(self, host: str, port: int, ready: concurrent.futures.Future[Served]) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            served = self._loop.run_until_complete(serve(self.site, host, port))
        except BaseException as e:  # reported to the constructing thread
            ready.set_exception(e)
        else:
            ready.set_result(served)
            self._loop.run_forever()
            self._loop.run_until_complete(served.close())
        self._loop.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> ThreadedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_in_thread(site: Site, host: str = "127.0.0.1", port: int = 0) -> ThreadedServer:
    """Start serving ``site`` in a daemon thread; returns once it is listening."""
    return ThreadedServer(site, host, port)


_REASONS = {200: "OK", 301: "Moved Permanently", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed"}
_MAX_HEAD = 64 * 1024


def _http_reply(r: Reply, keep_alive: bool, head_only: bool) -> bytes:
    body = r.body.encode()
    lines = [f"HTTP/1.1 {r.status} {_REASONS.get(r.status, 'Unknown')}",
             f"Content-Type: {r.content_type}", f"Content-Length: {len(body)}"]
    if r.location is not None:
        lines.append(f"Location: {r.location}")
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body)


class _FastHTTP(asyncio.Protocol):
    """One connection of :func:`serve_fast`: requests are answered one at a time, in order."""

    def __init__(self, respond: Callable[[str, str, bool, bool], bytes], latency: float) -> None:
        self._respond, self._latency = respond, latency
        self._buf, self._busy = b"", False
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self._busy:
            self._next()

    def _next(self) -> None:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > _MAX_HEAD and self._transport is not None:
                self._transport.close()
            return
        head, self._buf = self._buf[:end].decode("latin-1"), self._buf[end + 4:]
        request_line, *header_lines = head.split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        skip = headers.get("content-length", "0")
        self._buf = self._buf[int(skip) if skip.isdigit() else 0:]  # a body we do not read
        parts = request_line.split(" ")
        method, target, version = parts if len(parts) == 3 else ("", "", "")
        connection = headers.get("connection", "").lower()
        keep_alive = (connection != "close" if version == "HTTP/1.1"
                      else connection == "keep-alive")
        if method in ("GET", "HEAD") and target.startswith("/"):
            reply = self._respond(headers.get("host", ""), target, keep_alive, method == "HEAD")
        else:
            keep_alive = False
            status = 405 if method and target.startswith("/") else 400
            reply = _http_reply(Reply(status, ""), keep_alive, False)
        self._busy = True
        if self._latency > 0:
            asyncio.get_running_loop().call_later(self._latency, self._send, reply, keep_alive)
        else:
            self._send(reply, keep_alive)

    def _send(self, reply: bytes, keep_alive: bool) -> None:
        self._busy = False
        if self._transport is None or self._transport.is_closing():
            return
        self._transport.write(reply)
        if not keep_alive:
            self._transport.close()
        elif self._buf:
            self._next()


async def serve_fast(site: Site, host: str = "127.0.0.1",
                     port: int = 0) -> tuple[asyncio.Server, str]:
    """Serve ``site`` with the minimal HTTP/1.1 server; returns ``(server, base_url)``.

    GET and HEAD, keep-alive (HTTP/1.1 default, ``Connection: close`` honoured), no chunked
    request bodies; ``site.latency`` delays every response. Encoded replies are cached."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"refusing to bind non-loopback address {host!r}")

    @functools.lru_cache(maxsize=1 << 14)
    def respond(host_header: str, target: str, keep_alive: bool, head_only: bool) -> bytes:
        raw_path, _, raw_query = target.partition("?")
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        r = site.render(unquote(raw_path), query, f"http://{host_header}")
        return _http_reply(r, keep_alive, head_only)

    server = await asyncio.get_running_loop().create_server(
        lambda: _FastHTTP(respond, site.latency), host, port)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://{f'[{host}]' if ':' in host else host}:{port}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m acrawl.demo.site",
                                description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="kind", required=True)
    links, shop = sub.add_parser("links"), sub.add_parser("shop")
    links.add_argument("--pages", type=int, default=1000)
    links.add_argument("--offsite-links", type=int, default=3)
    shop.add_argument("--products", type=int, default=120)
    shop.add_argument("--per-page", type=int, default=12)
    shop.add_argument("--categories", type=int, default=6)
    for sp in (links, shop):
        sp.add_argument("--seed", type=int, default=0)
        sp.add_argument("--latency", type=float, default=0.0)
        sp.add_argument("--port", type=int, default=0)
        sp.add_argument("--server", choices=("fast", "aiohttp"), default="fast",
                        help="fast: the minimal server for benchmarks (default); aiohttp: "
                             "the aiohttp application the tests use")
    args = p.parse_args(argv)
    site: Site = (LinkSite(args.pages, args.seed, args.latency, args.offsite_links)
                  if args.kind == "links" else
                  ShopSite(args.products, args.per_page, args.categories, args.seed, args.latency))

    async def run() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                pass
        if args.server == "aiohttp":
            async with await serve(site, port=args.port) as served:
                print(served.base_url, flush=True)
                await stop.wait()
            return
        server, base_url = await serve_fast(site, port=args.port)
        async with server:
            print(base_url, flush=True)
            await stop.wait()

    try:
        try:  # the benchmark's server should not be the bottleneck
            import uvloop
        except ImportError:
            asyncio.run(run())
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(run())
    except KeyboardInterrupt:  # pragma: no cover - signal arrived before the handler
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
