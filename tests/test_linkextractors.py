"""``acrawl.LinkExtractor`` on its own: each of Scrapy's arguments."""

from __future__ import annotations

import re

import pytest

import acrawl
from acrawl.http import Link, Request, Response
from acrawl.linkextractors import IGNORED_EXTENSIONS, LinkExtractor

URL = "http://site.test/dir/index.html"

PAGE = """<!doctype html><html><head><title>t</title></head><body>
<div id="nav" class="menu">
  <a href="/page/1/">Page 1</a>
  <a href=" page/2/ ">  Page
     2 </a>
  <a href="http://site.test/page/1/#top">Page 1 again</a>
</div>
<ul class="quotes">
  <li><a href="/author/ann/" rel="author nofollow">Ann</a></li>
  <li><a href="/author/bob/">Bob</a> <span><a href="/tag/life/">life</a></span></li>
</ul>
<p><a href="http://sub.other.test/x">sub</a> <a href="http://other.test/y">other</a>
   <a href="https://site.test:8443/secure">secure</a>
   <a href="mailto:x@site.test">mail</a> <a href="javascript:void(0)">js</a>
   <a href="ftp://site.test/file">ftp</a>
   <a href="/files/report.PDF">pdf</a> <a href="/img/a.png?x=1">png</a>
   <a href="/download.tar.gz">tarball</a>
   <a href="/q?b=2&amp;a=1">query</a> <a href="/q?a=1&amp;b=2">same query</a>
   <a>no href</a> <a href="">empty</a>
</p>
<map><area href="/area-link" alt="a"></map>
<img src="/img/logo.gif" data-src="/img/lazy.html">
<link href="/style.css" rel="stylesheet">
<!-- <a href="/commented-out">x</a> -->
</body></html>"""


def response(body: str = PAGE, *, url: str = URL, content_type: str = "text/html") -> Response:
    return Response(url, 200, {"Content-Type": content_type}, body.encode(), Request(url))


def urls(extractor: LinkExtractor, resp: Response | None = None) -> list[str]:
    return [link.url for link in extractor.extract_links(resp or response())]


def test_defaults_take_every_http_link_once_in_page_order() -> None:
    assert acrawl.LinkExtractor is LinkExtractor
    assert urls(LinkExtractor()) == [
        "http://site.test/page/1/",
        "http://site.test/dir/page/2/",
        "http://site.test/page/1/#top",
        "http://site.test/author/ann/",
        "http://site.test/author/bob/",
        "http://site.test/tag/life/",
        "http://sub.other.test/x",
        "http://other.test/y",
        "https://site.test:8443/secure",
        "http://site.test/download.tar.gz",  # splitext sees ".gz", as in Scrapy
        "http://site.test/q?b=2&a=1",
        "http://site.test/dir/index.html",  # href="" is the page itself
        "http://site.test/area-link",
    ]


def test_links_carry_text_and_nofollow() -> None:
    links = LinkExtractor(allow=r"/(author/|dir/page)").extract_links(response())
    assert links == [
        Link("http://site.test/dir/page/2/", "Page\n     2", False),
        Link("http://site.test/author/ann/", "Ann", True),
        Link("http://site.test/author/bob/", "Bob", False),
    ]
    assert all(isinstance(link, acrawl.Link) for link in links)


def test_allow_and_deny_are_regexes_searched_in_the_url() -> None:
    assert urls(LinkExtractor(allow=r"/author/")) == [
        "http://site.test/author/ann/", "http://site.test/author/bob/"]
    assert urls(LinkExtractor(allow=(r"/tag/", re.compile(r"secure$")))) == [
        "http://site.test/tag/life/", "https://site.test:8443/secure"]
    assert urls(LinkExtractor(allow=r"/author/", deny=r"bob")) == [
        "http://site.test/author/ann/"]


def test_allow_and_deny_domains_include_subdomains_and_any_port() -> None:
    assert urls(LinkExtractor(allow_domains="other.test")) == [
        "http://sub.other.test/x", "http://other.test/y"]
    assert urls(LinkExtractor(allow_domains=["sub.other.test"])) == ["http://sub.other.test/x"]
    kept = urls(LinkExtractor(deny_domains=["other.test"]))
    assert "http://other.test/y" not in kept and "http://sub.other.test/x" not in kept
    assert "https://site.test:8443/secure" in kept


def test_restrict_css_and_xpaths_take_links_from_regions_only() -> None:
    assert urls(LinkExtractor(restrict_css="ul.quotes")) == [
        "http://site.test/author/ann/", "http://site.test/author/bob/",
        "http://site.test/tag/life/"]
    assert urls(LinkExtractor(restrict_xpaths='//ul[@class="quotes"]//span')) == [
        "http://site.test/tag/life/"]
    # a region that is a link itself, and several regions in order
    assert urls(LinkExtractor(restrict_css=["map", "li a[rel]"])) == [
        "http://site.test/area-link", "http://site.test/author/ann/"]
    assert urls(LinkExtractor(restrict_css="div.nothing")) == []


def test_tags_and_attrs() -> None:
    assert urls(LinkExtractor(tags="img", attrs="src")) == []  # .gif is an ignored extension
    assert urls(LinkExtractor(tags="img", attrs=("src", "data-src"))) == [
        "http://site.test/img/lazy.html"]
    assert urls(LinkExtractor(tags=["link"], deny_extensions=[])) == [
        "http://site.test/style.css"]


def test_deny_extensions() -> None:
    assert {"pdf", "png", "gif", "zip", "css", "mp4", "docx", "exe"} <= set(IGNORED_EXTENSIONS)
    every = urls(LinkExtractor(deny_extensions=[]))
    assert "http://site.test/files/report.PDF" in every
    assert "http://site.test/img/a.png?x=1" in every
    default = urls(LinkExtractor())
    assert "http://site.test/files/report.PDF" not in default  # case-insensitive
    assert "http://site.test/img/a.png?x=1" not in default  # the query does not count
    assert urls(LinkExtractor(deny_extensions=["html"], restrict_css="p")) == [
        "http://sub.other.test/x", "http://other.test/y", "https://site.test:8443/secure",
        "http://site.test/files/report.PDF", "http://site.test/img/a.png?x=1",
        "http://site.test/download.tar.gz", "http://site.test/q?b=2&a=1"]


def test_unique_compares_canonical_urls_with_fragments() -> None:
    both = urls(LinkExtractor(allow=r"/q\?"))
    assert both == ["http://site.test/q?b=2&a=1"]  # the same query, reordered
    assert urls(LinkExtractor(allow=r"/q\?", unique=False)) == [
        "http://site.test/q?b=2&a=1", "http://site.test/q?a=1&b=2"]
    # "#top" is another link while the URLs are not canonicalized
    assert urls(LinkExtractor(allow=r"/page/1/")) == [
        "http://site.test/page/1/", "http://site.test/page/1/#top"]


def test_canonicalize_reports_canonical_urls() -> None:
    assert urls(LinkExtractor(allow=r"/(q\?|page/1/)", canonicalize=True)) == [
        "http://site.test/page/1/", "http://site.test/q?a=1&b=2"]


def test_process_value_rewrites_or_drops() -> None:
    page = """<a href="javascript:goTo('../other/p.html')">js</a>
              <a href="/keep">keep</a> <a href="/drop">drop</a>"""

    def process(value: str) -> str | None:
        found = re.search(r"goTo\('(.*?)'\)", value)
        if found:
            return found.group(1)
        return None if value.endswith("/drop") else value

    assert urls(LinkExtractor(process_value=process), response(page)) == [
        "http://site.test/other/p.html", "http://site.test/keep"]


def test_strip() -> None:
    page = '<a href="\n  /spaced  \t">x</a>'
    assert urls(LinkExtractor(), response(page)) == ["http://site.test/spaced"]
    # unstripped, Python's URL parser still drops the surrounding whitespace (as browsers do)
    assert urls(LinkExtractor(strip=False), response(page)) == ["http://site.test/spaced"]


def test_restrict_text() -> None:
    assert urls(LinkExtractor(restrict_text=r"^Page")) == [
        "http://site.test/page/1/", "http://site.test/dir/page/2/",
        "http://site.test/page/1/#top"]


def test_base_href_and_non_ascii_urls() -> None:
    page = '<a href="caf\u00e9 menu/">x</a>'
    resp = response(page, url="http://site.test/a/b")
    assert urls(LinkExtractor(), resp) == ["http://site.test/a/caf%C3%A9%20menu/"]
    resp = response('<head><base href="http://cdn.test/base/"></head><a href="rel">x</a>')
    assert urls(LinkExtractor(), resp) == ["http://cdn.test/base/rel"]


def test_matches() -> None:
    ex = LinkExtractor(allow=r"/author/", deny=r"/bob", allow_domains="site.test")
    assert ex.matches("http://site.test/author/ann/")
    assert not ex.matches("http://site.test/author/bob/")
    assert not ex.matches("http://other.test/author/ann/")
    assert not ex.matches("http://site.test/tag/x/")


@pytest.mark.parametrize(("body", "content_type"), [
    ('{"href": "/x"}', "application/json"),
    ("", "text/html"),
    ("GIF89a...", "image/gif"),
])
def test_no_links_from_what_is_not_markup(body: str, content_type: str) -> None:
    assert LinkExtractor().extract_links(response(body, content_type=content_type)) == []


def test_xhtml_served_as_xml() -> None:
    page = ('<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
            '<a href="/x">x</a></body></html>')
    resp = response(page, content_type="application/xhtml+xml")
    assert urls(LinkExtractor(), resp) == ["http://site.test/x"]
