"""``acrawl_sitemap.SitemapSpider`` (Scrapy's ``SitemapSpider``) crawling a real local site:
rules, follow, alternate links, lastmod filters, ``sitemap_filter``, discovery, the limits,
and a ``--state`` resume."""

from __future__ import annotations

import gzip
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import acrawl

acrawl_sitemap = pytest.importorskip("acrawl_sitemap")
SitemapSpider = acrawl_sitemap.SitemapSpider

NS = ('xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
      'xmlns:xhtml="http://www.w3.org/1999/xhtml"')


def _url(loc: str, lastmod: str | None = None, extra: str = "") -> str:
    mod = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    return f"<url><loc>{loc}</loc>{mod}{extra}</url>"


def _alt(href: str, lang: str = "de") -> str:
    return f'<xhtml:link rel="alternate" hreflang="{lang}" href="{href}"/>'


def _urlset(*urls: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}>{"".join(urls)}</urlset>'


def _index(*sitemaps: tuple[str, str | None]) -> str:
    body = "".join(f"<sitemap><loc>{loc}</loc>"
                   + (f"<lastmod>{mod}</lastmod>" if mod else "") + "</sitemap>"
                   for loc, mod in sitemaps)
    return f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex {NS}>{body}</sitemapindex>'


def make_app(hits: Counter[str], robots_sitemaps: bool = True) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = request.path
        hits[path] += 1
        b = f"http://{request.host}"
        xml = "application/xml"
        if path == "/robots.txt":
            if not robots_sitemaps:
                raise web.HTTPNotFound()
            return web.Response(text=f"User-agent: *\nDisallow: /private/\n"
                                     f"Sitemap: {b}/sitemap_index.xml\n")
        if path == "/sitemap_index.xml":
            return web.Response(content_type=xml, text=_index(
                (f"{b}/sitemap-products.xml", "2024-06-01T10:00:00+00:00"),
                (f"{b}/sitemap-blog.xml.gz", "2024-05"),
                (f"{b}/sitemap-old.xml", "2020-01-01"),
                (f"{b}/sitemap_index.xml", None),  # lists itself: read once
                (f"{b}/archive/2019.xml", "2024-06-01")))  # not in sitemap_follow
        if path == "/sitemap-products.xml":
            return web.Response(content_type=xml, text=_urlset(
                _url(f"{b}/product/1", "2024-06-01",
                     _alt(f"{b}/de/product/1") + _alt(f"{b}/fr/product/1", "fr")),
                _url(f"{b}/product/2", "2019-12-31T23:59:59Z",
                     "<priority>0.1</priority>"),
                _url(f"{b}/product/3", None, "<priority>0.9</priority>"),
                _url(f"{b}/about", "2024-06-01"),  # no rule matches: not requested
                _url(f"{b}/private/product/9", "2024-06-01")))  # robots.txt disallows it
        if path == "/sitemap-blog.xml.gz":  # a gzip file, no Content-Encoding
            body = _urlset(_url(f"{b}/blog/1", "2024-05-02"), _url(f"{b}/blog/2"))
            return web.Response(body=gzip.compress(body.encode()),
                                content_type="application/x-gzip")
        if path in ("/sitemap-old.xml", "/archive/2019.xml"):
            return web.Response(content_type=xml, text=_urlset(_url(f"{b}/product/old")))
        if path == "/sitemap.xml":  # the fallback when robots.txt names no sitemap
            return web.Response(content_type=xml, text=_urlset(_url(f"{b}/product/7")))
        if path.startswith(("/product/", "/blog/", "/de/", "/fr/", "/about", "/private/")):
            return web.Response(text=f"<html><h1>{path}</h1></html>", content_type="text/html")
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


@pytest.fixture
async def site() -> AsyncIterator[tuple[str, Counter[str]]]:
    hits: Counter[str] = Counter()
    server = TestServer(make_app(hits), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), hits
    finally:
        await server.close()


@pytest.fixture
async def bare_site() -> AsyncIterator[tuple[str, Counter[str]]]:
    """The same site without Sitemap lines in robots.txt (a 404 there)."""
    hits: Counter[str] = Counter()
    server = TestServer(make_app(hits, robots_sitemaps=False), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), hits
    finally:
        await server.close()


class Shop(SitemapSpider):
    name = "shop"
    allowed_hosts = ["127.0.0.1"]
    sitemap_rules = [(r"/product/", "parse_product"), (r"/blog/", "parse_post")]
    sitemap_follow = [r"/sitemap[-_]"]

    def parse_product(self, response: acrawl.Response) -> Any:
        yield {"kind": "product", "path": response.css("h1::text").get()}

    def parse_post(self, response: acrawl.Response) -> Any:
        yield {"kind": "post", "path": response.css("h1::text").get()}


def _paths(items: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    assert items is not None
    return sorted((i["kind"], i["path"]) for i in items)


async def test_rules_follow_and_robots_txt(site: tuple[str, Counter[str]]) -> None:
    base, hits = site
    result = await acrawl.crawl(Shop, sitemap_urls=[f"{base}/robots.txt"], return_items=True)
    assert result.errors == 0
    assert _paths(result.items) == [
        ("post", "/blog/1"), ("post", "/blog/2"),
        ("product", "/product/1"), ("product", "/product/2"), ("product", "/product/3"),
        ("product", "/product/old")]  # from sitemap-old.xml: no lastmod filter here
    assert hits["/sitemap_index.xml"] == 1  # it lists itself: dedup reads it once
    assert hits["/archive/2019.xml"] == 0  # not matched by sitemap_follow
    assert hits["/about"] == 0  # no rule matched it
    assert hits["/de/product/1"] == 0  # alternates are off by default
    assert hits["/private/product/9"] == 0  # robots.txt applies to sitemap URLs
    assert result.stats["filtered/robots"] == 1
    assert hits["/robots.txt"] == 2  # the robots gate's fetch, and the sitemap request


async def test_alternate_links_and_the_default_rule(site: tuple[str, Counter[str]]) -> None:
    base, hits = site

    class Pages(SitemapSpider):  # sitemap_rules default: every URL to parse
        name = "pages"
        allowed_hosts = ["127.0.0.1"]
        sitemap_alternate_links = True

        def parse(self, response: acrawl.Response) -> Any:
            yield {"kind": "page", "path": response.css("h1::text").get()}

    result = await acrawl.crawl(Pages, sitemap_urls=f"{base}/sitemap-products.xml",
                                return_items=True)
    assert _paths(result.items) == [("page", p) for p in sorted(
        ["/about", "/de/product/1", "/fr/product/1", "/product/1", "/product/2",
         "/product/3"])]
    assert hits["/de/product/1"] == 1


async def test_lastmod_after_attribute(site: tuple[str, Counter[str]]) -> None:
    base, hits = site
    result = await acrawl.crawl(Shop, sitemap_urls=[f"{base}/sitemap_index.xml"],
                                sitemap_lastmod_after="2024-01-01", return_items=True)
    # product/2 (2019) is dropped; product/3 and blog/2 have no lastmod and are kept;
    # sitemap-old.xml's index entry (2020) is not read at all
    assert _paths(result.items) == [
        ("post", "/blog/1"), ("post", "/blog/2"), ("product", "/product/1"),
        ("product", "/product/3")]
    assert hits["/sitemap-old.xml"] == 0 and hits["/product/2"] == 0


async def test_lastmod_after_setting_and_time_zones(site: tuple[str, Counter[str]]) -> None:
    base, _ = site
    # 2019-12-31T23:59:59Z is 2020-01-01T00:59:59+01:00: kept by the cut at 00:30 there
    result = await acrawl.crawl(Shop, settings={"sitemap_lastmod_after":
                                                "2020-01-01T00:30:00+01:00"},
                                sitemap_urls=[f"{base}/sitemap-products.xml"],
                                return_items=True)
    assert _paths(result.items) == [("product", f"/product/{n}") for n in (1, 2, 3)]
    result = await acrawl.crawl(Shop, settings={"sitemap_lastmod_after": "2020"},
                                sitemap_urls=[f"{base}/sitemap-products.xml"],
                                return_items=True)
    assert _paths(result.items) == [("product", f"/product/{n}") for n in (1, 3)]


async def test_sitemap_filter_override(site: tuple[str, Counter[str]]) -> None:
    base, _ = site
    seen: list[dict[str, Any]] = []

    class Priority(Shop):
        def sitemap_filter(self, entries: Any) -> Any:
            for entry in entries:
                seen.append(entry)
                if float(entry.get("priority", "0.5")) >= 0.5:
                    yield entry

    result = await acrawl.crawl(Priority, sitemap_urls=[f"{base}/sitemap-products.xml"],
                                return_items=True)
    assert _paths(result.items) == [("product", "/product/1"), ("product", "/product/3")]
    first = next(e for e in seen if e["loc"].endswith("/product/1"))
    assert first == {"loc": f"{base}/product/1", "lastmod": "2024-06-01",
                     "alternate": [f"{base}/de/product/1", f"{base}/fr/product/1"]}


async def test_discovery_from_start_urls(site: tuple[str, Counter[str]],
                                         bare_site: tuple[str, Counter[str]]) -> None:
    base, hits = site
    bare, bare_hits = bare_site
    result = await acrawl.crawl(Shop, start_urls=[f"{base}/x", f"{bare}/y", f"{base}/z"],
                                return_items=True)
    paths = _paths(result.items)
    assert ("product", "/product/1") in paths  # base: robots.txt -> the index
    assert ("product", "/product/7") in paths  # bare: robots.txt 404 -> /sitemap.xml
    assert hits["/x"] == hits["/z"] == bare_hits["/y"] == 0  # start URLs are not crawled
    assert hits["/sitemap.xml"] == 0 and bare_hits["/sitemap.xml"] == 1
    assert result.errors == 0


async def test_limits_and_unusable_sitemaps(site: tuple[str, Counter[str]],
                                            caplog: pytest.LogCaptureFixture) -> None:
    base, hits = site
    caplog.set_level(logging.INFO, logger="acrawl_sitemap")
    result = await acrawl.crawl(Shop, settings={"sitemap_max_depth": 0},
                                sitemap_urls=[f"{base}/sitemap_index.xml"], return_items=True)
    assert result.items == [] and hits["/sitemap-products.xml"] == 0
    assert "nested deeper than sitemap_max_depth=0" in caplog.text
    result = await acrawl.crawl(Shop, settings={"sitemap_max_urls": 2},
                                sitemap_urls=[f"{base}/sitemap-products.xml"],
                                return_items=True)
    assert _paths(result.items) == [("product", "/product/1"), ("product", "/product/2")]
    assert "sitemap_max_urls=2 reached" in caplog.text
    result = await acrawl.crawl(Shop, settings={"sitemap_max_size": 100},
                                sitemap_urls=[f"{base}/sitemap-blog.xml.gz",
                                              f"{base}/product/1"], return_items=True)
    assert result.items == [] and result.errors == 0
    assert "sitemap-blog.xml.gz: larger than sitemap_max_size=100" in caplog.text
    assert "/product/1: not a sitemap" in caplog.text
    # a sitemap the downloader cut at max_response_size is not read half
    result = await acrawl.crawl(Shop, settings={"max_response_size": 300},
                                sitemap_urls=[f"{base}/sitemap-products.xml"],
                                return_items=True)
    assert result.items == [] and result.stats["responses/truncated"] == 1
    assert "sitemap-products.xml: larger than max_response_size, skipped" in caplog.text


async def test_xxe_and_gzip_bomb(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("xxe-secret-41\n")
    hits: Counter[str] = Counter()
    bomb = gzip.compress(b"<urlset>" + b" " * (60 * 1024 * 1024) + b"</urlset>", 9)

    async def handler(request: web.Request) -> web.StreamResponse:
        hits[request.path_qs] += 1
        b = f"http://{request.host}"
        if request.path == "/xxe.xml":
            return web.Response(content_type="application/xml", text=(
                f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{secret}">'
                f'<!ENTITY % remote SYSTEM "{b}/evil.dtd"> %remote;]>'
                f"<urlset {NS}><url><loc>&xxe;</loc></url>"
                f"<url><loc>{b}/page?leak=&xxe;</loc></url>"
                f"<url><loc>{b}/safe</loc></url></urlset>"))
        if request.path == "/bomb.xml.gz":
            return web.Response(body=bomb, content_type="application/x-gzip")
        return web.Response(text="<h1>page</h1>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")

    class Pages(SitemapSpider):
        name = "pages"
        allowed_hosts = ["127.0.0.1"]

        def parse(self, response: acrawl.Response) -> Any:
            yield {"url": response.url}

    try:
        result = await acrawl.crawl(Pages, sitemap_urls=[f"{base}/xxe.xml",
                                                         f"{base}/bomb.xml.gz"],
                                    return_items=True)
    finally:
        await server.close()
    assert result.items == [{"url": f"{base}/safe"}]
    assert hits["/evil.dtd"] == 0
    assert not [p for p in hits if "xxe-secret" in p]
    assert "bomb.xml.gz: larger than sitemap_max_size" in caplog.text


@pytest.mark.parametrize(("attrs", "message"), [
    ({"sitemap_rules": [("/p/", "no_such_method")]}, "'no_such_method' is not a method"),
    ({"sitemap_rules": [("(", "parse")]}, "sitemap_rules regex '(' is invalid"),
    ({"sitemap_rules": "parse"}, "(regex, callback) pairs"),
    ({"sitemap_follow": ["["]}, "sitemap_follow regex '[' is invalid"),
    ({"sitemap_lastmod_after": "last tuesday"}, "W3C date or datetime"),
    ({"sitemap_alternate_links": "maybe"}, "must be True or False"),
])
async def test_bad_attributes_are_config_errors(attrs: dict[str, Any], message: str) -> None:
    with pytest.raises(acrawl.ConfigError, match=message.replace("(", r"\(").replace(
            ")", r"\)").replace("[", r"\[")):
        await acrawl.crawl(Shop, sitemap_urls=["http://127.0.0.1:9/sitemap.xml"], **attrs)


async def test_a_bad_lastmod_setting_is_a_config_error() -> None:
    with pytest.raises(acrawl.ConfigError, match="sitemap_lastmod_after"):
        await acrawl.crawl(Shop, settings={"sitemap_lastmod_after": "soon"})


def test_callbacks_are_methods_so_state_can_store_them() -> None:
    def loose(response: acrawl.Response) -> None:
        return None

    class Bound(SitemapSpider):
        name = "bound"

        def parse_page(self, response: acrawl.Response) -> None:
            return None

        sitemap_rules = [("/a", parse_page), ("/b", "parse_page"), ("/c", loose)]

    spider = Bound()
    callbacks: list[Callable[..., Any]] = [cb for _, cb in spider._rules]
    assert callbacks[0] == spider.parse_page and callbacks[1] == spider.parse_page
    assert callbacks[2] is loose


@pytest.mark.parametrize("autoload", [True, False])
async def test_the_plugin_hook_leaves_a_sitemap_spider_alone(
        site: tuple[str, Counter[str]], monkeypatch: pytest.MonkeyPatch, autoload: bool) -> None:
    """With the plugin loaded (its acrawl_start_requests sees sitemap_urls) or not, the
    sitemap is read once and each page fetched once; the settings exist either way."""
    base, hits = site
    if not autoload:
        monkeypatch.setenv("ACRAWL_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = await acrawl.crawl(Shop, settings={"sitemap_max_urls": 10},
                                sitemap_urls=[f"{base}/sitemap-products.xml"],
                                return_items=True)
    assert len(result.items or []) == 3
    assert hits["/sitemap-products.xml"] == 1
    assert [hits[f"/product/{n}"] for n in (1, 2, 3)] == [1, 1, 1]
    assert result.stats.get("dropped/duplicate") == 0


async def test_stopped_and_resumed_with_state(site: tuple[str, Counter[str]],
                                              tmp_path: Path) -> None:
    """Sitemap requests and the rule requests they made are stored by callback name, so a
    resumed crawl finishes them: every page once, no item twice."""
    base, hits = site
    out = tmp_path / "items.jsonl"
    args: dict[str, Any] = {"sitemap_urls": [f"{base}/robots.txt"],
                            "outputs": [str(out)], "state_dir": str(tmp_path / "state")}
    first = await acrawl.crawl(Shop, settings={"max_pages": 3, "concurrency": 1}, **args)
    assert first.reason == "max_pages"
    rest = await acrawl.crawl(Shop, **args)
    assert rest.reason == "finished" and rest.errors == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(set(lines)) == 6
    assert all(hits[f"/product/{n}"] == 1 for n in (1, 2, 3))
    assert hits["/sitemap-products.xml"] == 1
