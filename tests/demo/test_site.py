"""Tests for the generated demo/benchmark websites in acrawl.demo.site."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from urllib.parse import urljoin, urlsplit

import aiohttp
import lxml.html
import pytest
from aiohttp import web
from w3lib.url import canonicalize_url

from acrawl.demo.site import LinkSite, ShopSite, make_app, run_in_thread, serve, serve_fast

BASE = "http://127.0.0.1:8000"


def hrefs(body: bytes | str) -> list[str]:
    return [str(h) for h in lxml.html.fromstring(body).xpath("//a/@href")]


async def bfs(base: str) -> tuple[set[str], set[str]]:
    """Crawl from ``base/`` like a deduplicating crawler: returns (fetched, offsite) URLs.

    The first-seen spelling of a URL is fetched (fragment stripped), dedup is canonical.
    """
    host = urlsplit(base).netloc
    start = base + "/"
    seen, fetched, offsite = {canonicalize_url(start)}, set(), set()
    queue = [start]
    async with aiohttp.ClientSession() as session:
        while queue:
            url = queue.pop()
            async with session.get(url, allow_redirects=False) as resp:
                assert resp.status == 200, url
                assert resp.content_type == "text/html"
                body = await resp.read()
            fetched.add(canonicalize_url(url))
            for href in hrefs(body):
                absolute = urljoin(url, href).partition("#")[0]
                if urlsplit(absolute).netloc != host:
                    offsite.add(absolute)
                    continue
                canon = canonicalize_url(absolute)
                if canon not in seen:
                    seen.add(canon)
                    queue.append(absolute)
    return fetched, offsite


# ---------------------------------------------------------------- LinkSite


def test_linksite_deterministic() -> None:
    a, b, c = LinkSite(200, seed=1), LinkSite(200, seed=1), LinkSite(200, seed=2)
    for n in (0, 1, 9, 57, 199):
        path = LinkSite.path(n)
        query = dict(p.split("=") for p in path.partition("?")[2].split("&") if p)
        page_a = a.render(path.partition("?")[0], query, BASE)
        assert page_a.status == 200
        assert page_a == b.render(path.partition("?")[0], query, BASE)
        assert page_a.body != c.render(path.partition("?")[0], query, BASE).body


def test_linksite_page_set() -> None:
    site = LinkSite(100)
    urls = site.page_urls(BASE + "/")
    assert len(urls) == 100
    assert BASE + "/" in urls and BASE + "/p/1" in urls and BASE + "/q/9?a=2&b=9" in urls
    assert BASE + "/p/9" not in urls and BASE + "/p/0" not in urls
    assert all(canonicalize_url(u) == u for u in urls)
    assert site.render("/p/9", {}, BASE).status == 404
    assert site.render("/q/9", {"a": "1", "b": "9"}, BASE).status == 404
    assert site.render("/p/100", {}, BASE).status == 404
    assert site.render("/p/01", {}, BASE).status == 404
    assert site.render("/p/0", {}, BASE).location == "/"


def test_linksite_sizes_and_link_counts() -> None:
    site = LinkSite(10_000, offsite_links=3)
    for n in [0, 1, 2, 9, 19, *range(100, 10_000, 397)]:
        path, _, qs = LinkSite.path(n).partition("?")
        reply = site.render(path, dict(p.split("=") for p in qs.split("&") if p), BASE)
        size = len(reply.body.encode())
        assert 10_000 <= size <= 20_000, (n, size)
        links = hrefs(reply.body)
        assert 20 <= len(links) <= 60, (n, len(links))
        assert sum(h.startswith("http://offsite-") for h in links) == 3


async def test_linksite_crawl_reaches_every_page_once() -> None:
    site = LinkSite(300, seed=3)
    async with await serve(site) as served:
        assert served.base_url.startswith("http://127.0.0.1:")
        fetched, offsite = await bfs(served.base_url)
        assert fetched == site.page_urls(served.base_url)
        assert offsite and all(".invalid/" in u for u in offsite)
        # hits are keyed canonically, whatever query order the crawler happened to use
        assert {u: served.hits[u] for u in fetched} == dict.fromkeys(fetched, 1)
        assert sum(served.hits.values()) == len(fetched)


async def test_linksite_latency_and_redirect() -> None:
    async with await serve(LinkSite(20, latency=0.05)) as served, aiohttp.ClientSession() as s:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with s.get(served.base_url + "/p/0", allow_redirects=False) as resp:
            assert resp.status == 301 and resp.headers["Location"] == "/"
        async with s.get(served.base_url + "/robots.txt") as resp:
            assert resp.status == 200 and "Allow: /" in await resp.text()
        assert loop.time() - t0 >= 0.1
        async with s.get(served.base_url + "/q/9?b=9&a=2") as resp:
            assert resp.status == 200
        assert served.hits[served.base_url + "/q/9?a=2&b=9"] == 1


# ---------------------------------------------------------------- ShopSite


def test_shop_deterministic_and_products() -> None:
    a, b = ShopSite(seed=4), ShopSite(seed=4)
    assert a.render("/product/7", {}, BASE) == b.render("/product/7", {}, BASE)
    assert a.product(7) == b.product(7)
    assert ShopSite(seed=5).product(7) != a.product(7)
    assert len(a.product_urls(BASE)) == 120
    assert a.product_urls(BASE) < a.page_urls(BASE)
    for pid in (1, 37, 120):
        item = a.product(pid)
        assert set(item) == {"title", "price", "sku", "category"}
        doc = lxml.html.fromstring(a.render(f"/product/{pid}", {}, BASE).body)
        assert doc.xpath("string(//h1[@class='title'])") == item["title"]
        assert doc.xpath("string(//span[@class='price'])") == f"£{item['price']:.2f}"
        assert isinstance(item["price"], float)
        assert doc.xpath("string(//span[@class='sku'])") == item["sku"]
        assert doc.xpath("string(//a[@class='category'])") == item["category"]
        assert doc.xpath("string(//p[@class='description'])")
        assert len(doc.xpath("//ul[@class='related']/li/a")) == 4
    assert a.render("/product/121", {}, BASE).status == 404
    assert a.render("/product/0", {}, BASE).status == 404
    assert a.render("/category/books/", {"page": "99"}, BASE).status == 404


async def test_shop_crawl_reaches_every_page_once() -> None:
    site = ShopSite(products=50, per_page=5, categories=4, seed=1)
    async with await serve(site) as served:
        fetched, offsite = await bfs(served.base_url)
        assert fetched == site.page_urls(served.base_url)
        assert not offsite
        assert all(served.hits[u] == 1 for u in fetched)
        base = served.base_url
        assert base + "/category/books/?page=2" in fetched
        assert base + "/about" in fetched
        async with aiohttp.ClientSession() as s, s.get(base + "/product/3") as resp:
            assert resp.charset == "utf-8"
            assert site.product(3)["title"] in await resp.text()


def test_make_app_returns_application() -> None:
    assert isinstance(make_app(ShopSite()), web.Application)


async def test_serve_refuses_public_address() -> None:
    with pytest.raises(ValueError):
        await serve(ShopSite(), host="0.0.0.0")


# ---------------------------------------------------------------- threads and processes


async def test_threaded_server_serves_while_our_loop_runs() -> None:
    site = ShopSite()
    with run_in_thread(site) as srv:
        assert srv.base_url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as s, s.get(srv.base_url + "/product/1") as resp:
            assert resp.status == 200
            assert site.product(1)["sku"] in await resp.text()
        assert srv.hits[srv.base_url + "/product/1"] == 1
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as s, s.get(srv.base_url + "/") as resp:
            pass


@pytest.mark.parametrize("args", [["links", "--pages", "50"], ["shop", "--products", "20"]])
def test_module_entry_point_prints_url_and_stops(args: list[str]) -> None:
    with subprocess.Popen([sys.executable, "-m", "acrawl.demo.site", *args],
                          stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line.startswith("http://127.0.0.1:")
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(line + "/", timeout=5) as resp:
                assert resp.status == 200
            proc.terminate()
            assert proc.wait(timeout=5) == 0
            assert proc.stdout.read() == ""
        finally:
            if proc.poll() is None:
                proc.kill()



# -- the minimal server behind python -m acrawl.demo.site ---------------------------------------


async def _raw(port: int, data: bytes, *, read_until_close: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        if read_until_close:
            return await asyncio.wait_for(reader.read(), 5)
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()


async def test_fast_server_serves_the_same_pages_as_the_aiohttp_app() -> None:
    site = LinkSite(pages=120)
    server, base = await serve_fast(site)
    async with server, await serve(site) as reference:
        for path in ["/", "/p/1", "/p/7", "/q/9?a=2&b=9", "/q/9?b=9&a=2", "/robots.txt"]:
            async with aiohttp.ClientSession() as s:
                async with s.get(base + path) as fast, s.get(reference.base_url + path) as ref:
                    assert fast.status == ref.status == 200, path
                    assert fast.content_type == ref.content_type
                    want = (await ref.text()).replace(reference.base_url, base)
                    assert await fast.text() == want
        found, offsite = await bfs(base)  # a whole crawl over one keep-alive session
        assert found == {canonicalize_url(u) for u in site.page_urls(base)}
        assert offsite


async def test_fast_server_statuses_head_and_connection_handling() -> None:
    server, base = await serve_fast(LinkSite(pages=50))
    port = int(base.rsplit(":", 1)[1])
    async with server:
        async with aiohttp.ClientSession() as s:
            async with s.get(base + "/nope") as r:
                assert r.status == 404
            async with s.get(base + "/p/0", allow_redirects=False) as r:
                assert r.status == 301 and r.headers["Location"] == "/"
            async with s.head(base + "/p/3") as r:
                assert r.status == 200 and int(r.headers["Content-Length"]) > 10_000
                assert await r.read() == b""
            async with s.post(base + "/p/3", data=b"x" * 100) as r:
                assert r.status == 405
        # two requests on one connection, then Connection: close ends it
        both = await _raw(port, b"GET /p/1 HTTP/1.1\r\nHost: h\r\n\r\n"
                                b"GET /p/2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        assert both.count(b"HTTP/1.1 200 OK") == 2 and b"Connection: close" in both
        # HTTP/1.0 closes by default; a broken request line is a 400 and a close
        assert b"Connection: close" in await _raw(port, b"GET / HTTP/1.0\r\n\r\n")
        assert (await _raw(port, b"garbage\r\n\r\n")).startswith(b"HTTP/1.1 400")


async def test_fast_server_latency_delays_each_response() -> None:
    server, base = await serve_fast(LinkSite(pages=20, latency=0.2))
    async with server, aiohttp.ClientSession() as s:
        loop = asyncio.get_running_loop()
        started = loop.time()
        statuses = []
        for _ in range(2):  # one after the other: about 2 x latency
            async with s.get(base + "/p/1") as r:
                statuses.append(r.status)
        assert statuses == [200, 200]
        assert loop.time() - started >= 0.4
        started = loop.time()
        pages = [n for n in range(1, 12) if n % 10 != 9]  # /p/9 is /q/9?a=2&b=9
        responses = await asyncio.gather(*(s.get(f"{base}/p/{n}") for n in pages))
        assert [r.status for r in responses] == [200] * 10
        assert 0.2 <= loop.time() - started < 1.5  # concurrent requests wait together


async def test_fast_server_refuses_non_loopback_addresses() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        await serve_fast(LinkSite(pages=5), host="0.0.0.0")
