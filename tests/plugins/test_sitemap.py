"""The acrawl-sitemap plugin against a real local HTTP server."""

from __future__ import annotations

import gzip
import importlib.metadata
import logging
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pluggy
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import acrawl
import acrawl.hookspecs
from acrawl.errors import ConnectError
from acrawl.settings import Settings

acrawl_sitemap = pytest.importorskip("acrawl_sitemap")

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
SECRET = "xxe-secret-7f3a9c"


def urlset(*locs: str, ns: str = NS) -> str:
    body = "".join(f"<url><loc>{loc}</loc><lastmod>2024-01-01</lastmod></url>" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {ns}>{body}</urlset>'


def index(*locs: str) -> str:
    body = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex {NS}>{body}</sitemapindex>'


_BOMB: bytes | None = None


def gzip_bomb(size: int = 200 * 1024 * 1024) -> bytes:
    """``size`` bytes of zeros gzipped at level 9, built in 1 MiB steps (~200 KB)."""
    global _BOMB
    if _BOMB is None:
        comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        zeros = bytes(1024 * 1024)
        parts = [comp.compress(b"<urlset><url><loc>http://bomb.test/a</loc></url>")]
        parts += [comp.compress(zeros) for _ in range(size // len(zeros))]
        parts.append(comp.flush())
        _BOMB = b"".join(parts)
    return _BOMB


def make_app(hits: Counter[str], secret_path: str, robots: bool = True) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = request.path
        hits[path] += 1
        base = f"http://{request.host}"
        xml = "application/xml"
        if path == "/robots.txt":
            if not robots:
                raise web.HTTPNotFound()
            return web.Response(text=f"User-agent: *\nDisallow: /private\n"
                                     f"Sitemap: {base}/sitemap_index.xml\n"
                                     f"Sitemap: /sitemap.txt\n")
        if path == "/sitemap.xml" and not robots:
            return web.Response(text=urlset(f"{base}/fallback-1", f"{base}/fallback-2"),
                                content_type=xml)
        if path == "/sitemap_index.xml":  # lists itself and a missing sitemap
            return web.Response(text=index(f"{base}/sitemap1.xml", f"{base}/sitemap2.xml.gz",
                                           f"{base}/sitemap_index.xml", f"{base}/missing.xml"),
                                content_type=xml)
        if path == "/sitemap1.xml":
            return web.Response(content_type=xml, text=(
                f'<?xml version="1.0"?><urlset {NS}><!-- a comment -->'
                f"<url><loc>\n   {base}/page-1\n  </loc></url>"
                f"<url><loc><![CDATA[{base}/page-2?a=1&b=2]]></loc></url>"
                f"<url><loc>{base}/page-3?x=1&amp;y=2</loc></url>"
                "<url><loc>ftp://example.com/file</loc></url>"
                "<url><loc>javascript:alert(1)</loc></url>"
                "<url><loc>/relative</loc></url>"
                "<url><lastmod>2024-01-01</lastmod></url>"
                "</urlset>"))
        if path == "/sitemap2.xml.gz":  # no namespace, prefixed names; raw gzip, no encoding
            body = (f'<sm:urlset xmlns:sm="urn:x"><sm:url><sm:loc>{base}/page-4</sm:loc>'
                    f"</sm:url><sm:url><sm:loc>{base}/page-5</sm:loc></sm:url></sm:urlset>")
            return web.Response(body=gzip.compress(body.encode()),
                                content_type="application/x-gzip")
        if path == "/sitemap.txt":
            return web.Response(text=f"{base}/text-1\n\n  {base}/text-2  \nnot a url\n"
                                     f"mailto:a@b.c\n{base}/with space\n")
        if path == "/loop/a.xml":
            return web.Response(text=index(f"{base}/loop/b.xml", f"{base}/loop/a.xml",
                                           f"{base}/loop/a.xml#frag", f"{base}/loop/leaf.xml",
                                           f"{base}/loop/b.xml"), content_type=xml)
        if path == "/loop/b.xml":
            return web.Response(text=index(f"{base}/loop/a.xml", f"{base}/loop/leaf.xml"),
                                content_type=xml)
        if path == "/loop/leaf.xml":
            return web.Response(text=urlset(f"{base}/loop-page"), content_type=xml)
        if path.startswith("/deep/"):
            n = int(path.removeprefix("/deep/").removesuffix(".xml"))
            return web.Response(text=index(f"{base}/deep/{n + 1}.xml", f"{base}/leaf/{n}.xml"),
                                content_type=xml)
        if path.startswith("/leaf/"):
            n = int(path.removeprefix("/leaf/").removesuffix(".xml"))
            return web.Response(text=urlset(f"{base}/leaf-page-{n}"), content_type=xml)
        if path == "/xxe.xml":
            return web.Response(content_type=xml, text=(
                '<?xml version="1.0"?>\n'
                "<!DOCTYPE urlset [\n"
                f'  <!ENTITY xxe SYSTEM "file://{secret_path}">\n'
                f'  <!ENTITY % remote SYSTEM "{base}/evil.dtd">\n'
                "  %remote;\n"
                '  <!ENTITY lol "lollollollollollollollollollol">\n'
                "]>\n"
                f"<urlset {NS}>"
                "<url><loc>&xxe;</loc></url>"
                f"<url><loc>{base}/leak?d=&xxe;</loc></url>"
                f"<url><loc>{base}/lol/&lol;</loc></url>"
                f"<url><loc>{base}/safe</loc></url>"
                "</urlset>"))
        if path == "/evil.dtd":
            return web.Response(text=f'<!ENTITY % all "<!ENTITY send SYSTEM \'{base}/x\'>">')
        if path == "/bomb.xml.gz":
            return web.Response(body=gzip_bomb(), content_type="application/x-gzip")
        if path == "/big.xml":
            return web.Response(text=urlset(*(f"{base}/big-{i}" for i in range(50))),
                                content_type=xml)
        if path == "/page.html":
            return web.Response(text="<html><body><a href='/x'>x</a></body></html>",
                                content_type="text/html")
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


Fetch = Callable[[str], Awaitable[acrawl.Response]]


@pytest.fixture
def secret_file(tmp_path: Any) -> str:
    path = tmp_path / "hostname"
    path.write_text(SECRET + "\n")
    return str(path)


@pytest.fixture
async def servers(secret_file: str) -> AsyncIterator[tuple[str, str, Counter[str], Fetch]]:
    """(base with robots.txt sitemaps, base without robots.txt, hit counter, fetch)."""
    hits: Counter[str] = Counter()
    main = TestServer(make_app(hits, secret_file), host="127.0.0.1", port=0)
    bare = TestServer(make_app(hits, secret_file, robots=False), host="127.0.0.1", port=0)
    await main.start_server()
    await bare.start_server()
    session = aiohttp.ClientSession()

    async def fetch(url: str) -> acrawl.Response:
        if "/down/" in url:
            raise ConnectError(f"connection refused: {url}")
        async with session.get(url) as resp:
            return acrawl.Response(url=url, status=resp.status, headers=dict(resp.headers),
                                   body=await resp.read(), request=acrawl.Request(url))

    try:
        yield (str(main.make_url("")).rstrip("/"), str(bare.make_url("")).rstrip("/"),
               hits, fetch)
    finally:
        await session.close()
        await main.close()
        await bare.close()


class Spider(acrawl.Spider):
    name = "sitemap-test"


def settings(**overrides: Any) -> Settings:
    return Settings.build(overrides=overrides, extra=acrawl_sitemap.acrawl_add_settings())


async def collect(spider: acrawl.Spider, fetch: Fetch, **overrides: Any) -> list[str]:
    result = acrawl_sitemap.acrawl_start_requests(spider=spider, settings=settings(**overrides),
                                                  fetch=fetch)
    assert result is not None
    assert hasattr(result, "__anext__"), "must be an async iterator"
    out = []
    async for request in result:
        assert isinstance(request, acrawl.Request)
        out.append(request.url)
    return out


# ------------------------------------------------------------------------------------------------


def test_entry_point_and_hooks_register() -> None:
    eps = importlib.metadata.entry_points(group="acrawl")
    assert [ep.value for ep in eps if ep.name == "sitemap"] == ["acrawl_sitemap"]
    pm = pluggy.PluginManager("acrawl")
    pm.add_hookspecs(acrawl.hookspecs)
    pm.register(acrawl_sitemap)  # validates every hookimpl against its spec
    pm.check_pending()
    names = {s.name for specs in pm.hook.acrawl_add_settings() for s in specs}
    assert names == {"sitemap", "sitemap_max_urls", "sitemap_max_depth", "sitemap_max_size",
                     "sitemap_lastmod_after"}


def test_settings_defaults_and_cli_strings() -> None:
    s = settings()
    assert (s["sitemap"], s["sitemap_max_urls"], s["sitemap_max_depth"],
            s["sitemap_max_size"]) == (False, 1_000_000, 3, 50 * 1024 * 1024)
    assert settings(sitemap="true", sitemap_max_depth="0")["sitemap_max_depth"] == 0
    with pytest.raises(acrawl.ConfigError):
        settings(sitemap_max_urls="0")


def test_disabled_by_default() -> None:
    spider = Spider()
    spider.start_urls = ["http://127.0.0.1:1/"]

    async def fetch(url: str) -> acrawl.Response:  # pragma: no cover - must not be called
        raise AssertionError(url)

    assert acrawl_sitemap.acrawl_start_requests(spider=spider, settings=settings(),
                                                fetch=fetch) is None
    spider.sitemap_urls = []
    assert acrawl_sitemap.acrawl_start_requests(spider=spider, settings=settings(),
                                                fetch=fetch) is None


async def test_robots_index_gzip_text_and_loop(servers: Any, caplog: Any) -> None:
    base, _, hits, fetch = servers
    spider = Spider()
    spider.start_urls = [f"{base}/", f"{base}/other/page"]  # one origin: robots read once
    caplog.set_level(logging.INFO, logger="acrawl_sitemap")
    urls = await collect(spider, fetch, sitemap="true")
    assert sorted(urls) == sorted([
        f"{base}/page-1", f"{base}/page-2?a=1&b=2", f"{base}/page-3?x=1&y=2",
        f"{base}/page-4", f"{base}/page-5", f"{base}/text-1", f"{base}/text-2",
    ])
    assert len(urls) == len(set(urls))
    assert hits["/robots.txt"] == 1
    assert hits["/sitemap_index.xml"] == 1  # it lists itself: fetched once
    assert hits["/missing.xml"] == 1
    assert hits["/sitemap.xml"] == 0  # robots.txt named sitemaps: no fallback
    assert "HTTP 404" in caplog.text and "missing.xml" in caplog.text


async def test_fallback_to_sitemap_xml_per_origin(servers: Any) -> None:
    base, bare, hits, fetch = servers
    spider = Spider()
    spider.start_urls = [f"{bare}/a", f"{base}/b", f"{bare}/c"]
    urls = await collect(spider, fetch, sitemap=True, sitemap_max_depth=0)
    # bare: no robots.txt -> /sitemap.xml; base: robots.txt -> the index (not followed at
    # depth 0) and the text sitemap
    assert set(urls) == {f"{bare}/fallback-1", f"{bare}/fallback-2",
                         f"{base}/text-1", f"{base}/text-2"}
    assert hits["/robots.txt"] == 2 and hits["/sitemap.xml"] == 1
    assert hits["/sitemap1.xml"] == 0


async def test_sitemap_urls_attribute_enables_and_wins(servers: Any) -> None:
    base, bare, hits, fetch = servers
    spider = Spider(sitemap_urls=f"{base}/loop/a.xml,{base}/down/x.xml")  # like -a on the CLI
    spider.start_urls = [f"{bare}/"]
    urls = await collect(spider, fetch)  # the setting is off; sitemap_urls turns it on
    assert urls == [f"{base}/loop-page"]
    assert hits["/robots.txt"] == 0
    assert hits["/loop/a.xml"] == 1 and hits["/loop/b.xml"] == 1 and hits["/loop/leaf.xml"] == 1


async def test_sitemap_urls_may_name_robots_txt(servers: Any) -> None:
    base, _, _, fetch = servers
    spider = Spider(sitemap_urls=[f"{base}/robots.txt"])
    assert set(await collect(spider, fetch)) >= {f"{base}/page-4", f"{base}/text-1"}


async def test_max_depth(servers: Any) -> None:
    base, _, hits, fetch = servers
    spider = Spider(sitemap_urls=[f"{base}/deep/0.xml"])
    urls = await collect(spider, fetch, sitemap_max_depth=2)
    assert set(urls) == {f"{base}/leaf-page-0", f"{base}/leaf-page-1"}
    assert hits["/deep/2.xml"] == 1 and hits["/deep/3.xml"] == 0 and hits["/leaf/2.xml"] == 0


async def test_max_urls(servers: Any) -> None:
    base, _, hits, fetch = servers
    spider = Spider(sitemap_urls=[f"{base}/big.xml", f"{base}/sitemap1.xml"])
    urls = await collect(spider, fetch, sitemap_max_urls=7)
    assert urls == [f"{base}/big-{i}" for i in range(7)]
    assert hits["/sitemap1.xml"] == 0  # the cap stops the reading too


async def test_xxe_never_followed(servers: Any, secret_file: str) -> None:
    base, _, hits, fetch = servers
    spider = Spider(sitemap_urls=[f"{base}/xxe.xml"])
    urls = await collect(spider, fetch)
    assert urls == [f"{base}/safe"]
    assert not any(SECRET in u for u in urls)
    assert hits["/evil.dtd"] == 0 and hits["/x"] == 0  # no external DTD, no network
    response = await fetch(f"{base}/xxe.xml")
    links = acrawl_sitemap.acrawl_extract_links(response=response, spider=spider)
    assert links == [f"{base}/safe"]


async def test_gzip_bomb_is_skipped(servers: Any, caplog: Any) -> None:
    base, _, _, fetch = servers
    assert len(gzip_bomb()) < 1024 * 1024
    spider = Spider(sitemap_urls=[f"{base}/bomb.xml.gz", f"{base}/sitemap2.xml.gz"])
    started = time.monotonic()
    urls = await collect(spider, fetch)
    assert time.monotonic() - started < 30
    assert urls == [f"{base}/page-4", f"{base}/page-5"]
    assert "bomb.xml.gz: larger than sitemap_max_size" in caplog.text


async def test_max_size_applies_to_plain_and_gzipped(servers: Any) -> None:
    base, _, _, fetch = servers
    spider = Spider(sitemap_urls=[f"{base}/big.xml", f"{base}/sitemap2.xml.gz",
                                  f"{base}/sitemap.txt"])
    assert set(await collect(spider, fetch, sitemap_max_size=150)) == {
        f"{base}/text-1", f"{base}/text-2"}


def test_gunzip_stops_at_limit() -> None:
    bomb = gzip_bomb()
    tracemalloc.start()
    try:
        with pytest.raises(acrawl_sitemap.SitemapTooLarge):
            acrawl_sitemap.parse_sitemap(bomb, 10 * 1024 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024  # bounded chunks: never the 200 MB the bomb holds
    two_members = gzip.compress(b"http://a.test/1\n") + gzip.compress(b"http://a.test/2\n")
    assert acrawl_sitemap.parse_sitemap(two_members) == ("text", ["http://a.test/1",
                                                                 "http://a.test/2"])
    truncated = gzip.compress(urlset("http://a.test/1", "http://a.test/2").encode())[:-12]
    assert acrawl_sitemap.parse_sitemap(truncated)[0] == "urlset"


async def test_extract_links(servers: Any) -> None:
    base, _, _, fetch = servers
    spider = Spider()
    extract = acrawl_sitemap.acrawl_extract_links
    index_links = extract(response=await fetch(f"{base}/sitemap_index.xml"), spider=spider)
    assert index_links == [f"{base}/sitemap1.xml", f"{base}/sitemap2.xml.gz",
                           f"{base}/sitemap_index.xml", f"{base}/missing.xml"]
    gz_links = extract(response=await fetch(f"{base}/sitemap2.xml.gz"), spider=spider)
    assert gz_links == [f"{base}/page-4", f"{base}/page-5"]
    assert extract(response=await fetch(f"{base}/page.html"), spider=spider) is None
    assert extract(response=await fetch(f"{base}/sitemap.txt"), spider=spider) is None
    assert extract(response=await fetch(f"{base}/bomb.xml.gz"), spider=spider) is None
    rss = acrawl.Response(url=f"{base}/feed", status=200,
                          headers={"content-type": "application/rss+xml"},
                          body=b"<rss><channel><link>http://a.test/</link></channel></rss>",
                          request=acrawl.Request(f"{base}/feed"))
    assert extract(response=rss, spider=spider) is None
    # an XML body under an .html URL with an HTML content type is not taken for a sitemap
    html = acrawl.Response(url=f"{base}/x.html", status=200, headers={"Content-Type": "text/html"},
                           body=urlset("http://a.test/").encode(),
                           request=acrawl.Request(f"{base}/x.html"))
    assert extract(response=html, spider=spider) is None


async def test_lastmod_after_setting_and_attribute(servers: Any) -> None:
    base, _, _, fetch = servers
    spider = Spider(sitemap_urls=[f"{base}/big.xml", f"{base}/sitemap1.xml"])
    # big.xml's entries were modified 2024-01-01; sitemap1.xml's have no lastmod: kept
    kept = await collect(spider, fetch, sitemap_lastmod_after="2024-01-02")
    assert kept == [f"{base}/page-1", f"{base}/page-2?a=1&b=2", f"{base}/page-3?x=1&y=2"]
    assert len(await collect(spider, fetch, sitemap_lastmod_after="2024-01-01")) == 53
    spider.sitemap_lastmod_after = "2023-12-31T23:00:00-02:00"  # the attribute wins
    assert len(await collect(spider, fetch, sitemap_lastmod_after="2030")) == 3


def test_a_bad_lastmod_attribute_reads_no_sitemap(caplog: Any) -> None:
    spider = Spider(sitemap_urls=["http://127.0.0.1:1/sitemap.xml"],
                    sitemap_lastmod_after="yesterday")

    async def fetch(url: str) -> acrawl.Response:  # pragma: no cover - must not be called
        raise AssertionError(url)

    assert acrawl_sitemap.acrawl_start_requests(spider=spider, settings=settings(),
                                                fetch=fetch) is None
    assert "sitemap_lastmod_after must be a W3C date" in caplog.text
    with pytest.raises(acrawl.ConfigError, match="sitemap_lastmod_after"):
        settings(sitemap_lastmod_after="yesterday")


def test_entries_carry_lastmod_and_alternates() -> None:
    body = (b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            b'xmlns:xhtml="http://www.w3.org/1999/xhtml"><url><loc>http://a.test/en</loc>'
            b"<lastmod> 2024-05-01 </lastmod><changefreq>daily</changefreq>"
            b'<xhtml:link rel="alternate" hreflang="de" href="http://a.test/de"/>'
            b'<xhtml:link rel="canonical" href="http://a.test/other"/>'
            b'<xhtml:link rel="alternate" href="javascript:alert(1)"/></url>'
            b"<url><loc>ftp://a.test/x</loc><lastmod>2024</lastmod></url></urlset>")
    kind, entries = acrawl_sitemap.sitemap_entries(body)
    assert kind == "urlset"
    assert entries == [{"loc": "http://a.test/en", "lastmod": "2024-05-01",
                        "changefreq": "daily", "alternate": ["http://a.test/de"]}]


@pytest.mark.parametrize(("text", "iso"), [
    ("2024", "2024-01-01T00:00:00+00:00"),
    ("2024-05", "2024-05-01T00:00:00+00:00"),
    ("2024-05-03", "2024-05-03T00:00:00+00:00"),
    ("2024-05-03T10:30Z", "2024-05-03T10:30:00+00:00"),
    ("2024-05-03T10:30:15.5+02:00", "2024-05-03T10:30:15.500000+02:00"),
    (" 2024-05-03 10:30:15 ", "2024-05-03T10:30:15+00:00"),
])
def test_parse_lastmod(text: str, iso: str) -> None:
    parsed = acrawl_sitemap.parse_lastmod(text)
    assert parsed is not None and parsed.isoformat() == iso


@pytest.mark.parametrize("text", ["", "soon", "2024-13-01", "24-05-03", None, 20240503])
def test_parse_lastmod_refuses(text: Any) -> None:
    assert acrawl_sitemap.parse_lastmod(text) is None
