"""acrawl.http: Request defaults and converters, Response decoding, selectors and following."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from acrawl.http import Failure, Link, Request, Response

URL = "http://example.com/dir/page.html"


def make_response(
    body: bytes | str,
    content_type: str | None = "text/html",
    *,
    url: str = URL,
    request: Request | None = None,
    status: int = 200,
) -> Response:
    headers = CIMultiDict()
    if content_type is not None:
        headers["Content-Type"] = content_type
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Response(url=url, status=status, headers=CIMultiDictProxy(headers), body=body,
                    request=request or Request(url))


# -- Request -------------------------------------------------------------------------------------


def test_request_defaults() -> None:
    r = Request("http://e.com/")
    assert r.method == "GET"
    assert r.headers == {}
    assert r.body is None
    assert r.meta == {}
    assert r.cb_kwargs == {}
    assert r.callback is None and r.errback is None
    assert r.priority == 0
    assert r.dont_filter is False
    assert (r.depth, r.retries, r.redirects, r.referer) == (0, 0, 0, None)


def test_request_converters() -> None:
    r = Request("http://e.com/", method="post", headers=[("X-A", 1)], body="é", meta=None,
                cb_kwargs=None)
    assert r.method == "POST"
    assert r.headers == {"X-A": "1"}
    assert r.body == "é".encode()
    assert r.meta == {} and r.cb_kwargs == {}
    assert Request("http://e.com/", headers={"K": "v"}).headers == {"K": "v"}
    assert Request("http://e.com/", body=bytearray(b"xy")).body == b"xy"


def test_request_defaults_are_not_shared() -> None:
    a, b = Request("http://e.com/a"), Request("http://e.com/b")
    a.meta["x"] = 1
    a.headers["H"] = "v"
    assert b.meta == {} and b.headers == {}


def test_request_copies_meta_and_cb_kwargs() -> None:
    # As Scrapy's Request does (``dict(meta)``): the common `follow(url, meta=response.meta)`
    # must not make sibling requests share, and mutate, one dict. Headers are copied already.
    meta, kwargs, headers = {"page": 1}, {"k": 1}, {"H": "v"}
    r = Request("http://e.com/", meta=meta, cb_kwargs=kwargs, headers=headers)
    meta["page"] = 2
    kwargs["k"] = 2
    headers["H"] = "changed"
    assert r.meta == {"page": 1}
    assert r.cb_kwargs == {"k": 1}
    assert r.headers == {"H": "v"}
    r2 = r.replace(url="http://e.com/2")
    r2.meta["page"] = 3
    assert r.meta == {"page": 1}


def test_request_is_frozen_and_replace_makes_a_copy() -> None:
    r = Request("http://e.com/", priority=1, meta={"k": 1})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        r.priority = 2  # type: ignore[misc]
    r2 = r.replace(priority=5, method="put", body="b")
    assert (r2.priority, r2.method, r2.body) == (5, "PUT", b"b")
    assert r2.url == r.url and r2.meta == {"k": 1}
    assert (r.priority, r.method, r.body) == (1, "GET", None)


def test_failure_exposes_request_and_exception() -> None:
    req = Request("http://e.com/x")
    exc = ValueError("boom")
    f = Failure(req, exc)
    assert f.request is req
    assert f.exception is exc and f.value is exc
    assert "ValueError" in str(f) and "http://e.com/x" in str(f)


# -- Response: decoding --------------------------------------------------------------------------


def test_text_decoded_per_http_header_charset() -> None:
    r = make_response("café".encode("latin-1"), "text/html; charset=iso-8859-1")
    assert r.text == "café"
    assert r.encoding in ("cp1252", "iso8859-1", "latin-1")


def test_http_header_charset_wins_over_meta() -> None:
    body = '<meta charset="utf-8"><p>Привет</p>'.encode("koi8-r")
    r = make_response(body, "text/html; charset=koi8-r")
    assert "Привет" in r.text
    assert r.encoding.replace("_", "-") == "koi8-r"


def test_text_decoded_per_meta_charset() -> None:
    body = b'<html><head><meta charset="iso-8859-5"></head><body>' + "Привет".encode(
        "iso-8859-5") + b"</body></html>"
    r = make_response(body, "text/html")
    assert "Привет" in r.text
    assert r.encoding.replace("-", "").replace("_", "") == "iso88595"


def test_text_decoded_per_http_equiv_meta() -> None:
    body = (b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
            + "Мир".encode("cp1251"))
    r = make_response(body, None)
    assert r.text.endswith("Мир")


@pytest.mark.parametrize(
    ("body", "text", "encoding"),
    [
        (b"\xef\xbb\xbfh\xc3\xa9", "hé", "utf-8"),
        (b"\xff\xfeh\x00\xe9\x00", "hé", "utf-16-le"),
        (b"\xfe\xff\x00h\x00\xe9", "hé", "utf-16-be"),
    ],
)
def test_text_decoded_per_bom(body: bytes, text: str, encoding: str) -> None:
    r = make_response(body, "text/html")
    assert r.text == text
    assert r.encoding == encoding


def test_text_without_any_declaration_is_detected() -> None:
    assert make_response("naïve ✓".encode(), None).text == "naïve ✓"
    assert make_response("naïve".encode("cp1252"), "text/html").text == "naïve"


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"ok \xff\xfe\xc3", "text/html; charset=utf-8"),
        (b"ok \xe9\x80\x81", "text/html; charset=bogus-charset"),
        (b"\x00\xff" * 50, None),
        (b"ok \x81\x8d", "text/html; charset=shift_jis"),
        (b"", "text/html"),
    ],
)
def test_invalid_bytes_never_raise(body: bytes, ctype: str | None) -> None:
    r = make_response(body, ctype)
    text = r.text
    assert isinstance(text, str)
    assert isinstance(r.encoding, str) and r.encoding
    if body.startswith(b"ok"):
        assert text.startswith("ok")
    r.css("p")  # the selector builds on whatever was decoded


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        ("<p>caf\u00e9 \u2014 ok</p>".encode(), "text/html; charset=utf-8"),  # bytes path
        ("<meta charset=utf-8><p>caf\u00e9</p>".encode(), "text/html"),  # bytes path
        (b"<p>bad \xff\xfe bytes \xc3</p>", "text/html; charset=utf-8"),  # bytes path, replaced
        (b"\xef\xbb\xbf<p>bom caf\xc3\xa9</p>", "text/html"),  # BOM: decoded text
        (b"<p>caf\xe9</p>", "text/html; charset=cp1252"),  # another charset: decoded text
        (b"<meta charset=utf-8><p>caf\xe9</p>", "text/html; charset=latin-1"),  # header wins
        (b"<p>caf\xe9</p>", "text/html"),  # nothing declared: detection
        (b"<p>a\x00b</p>", "text/html; charset=utf-8"),
    ],
)
def test_selector_reads_what_text_decodes(body: bytes, ctype: str) -> None:
    # UTF-8 pages are parsed from their bytes (no decode + re-encode); the result must be
    # the tree of the decoded text, whichever way it was built
    from parsel import Selector

    r = make_response(body, ctype)
    expected = Selector(text=make_response(body, ctype).text).css("p").xpath("string()").get()
    assert r.css("p").xpath("string()").get() == expected
    assert r.encoding == make_response(body, ctype).encoding


def test_text_is_decoded_once() -> None:
    r = make_response("x", "text/html; charset=utf-8")
    assert r.text is r.text


def test_json() -> None:
    r = make_response('{"a": [1, "é"]}'.encode(), "application/json")
    assert r.json() == {"a": [1, "é"]}
    with pytest.raises(ValueError):
        make_response(b"<html>", "text/html").json()


def test_meta_is_the_request_meta() -> None:
    req = Request(URL, meta={"k": "v"})
    meta = make_response(b"", request=req).meta
    assert meta is req.meta and meta == {"k": "v", "depth": 0}


def test_meta_depth_is_the_requests_depth_as_scrapys() -> None:
    # Scrapy's depth middleware sets response.meta["depth"]; a ported spider reads it. A
    # request made with `meta=response.meta` carries the parent's depth in its meta: its own
    # response says its own depth, not the copied one.
    parent = make_response(b"<a href=/b>b</a>", request=Request(URL, depth=2))
    assert parent.meta["depth"] == 2
    child = parent.follow("/b", meta=parent.meta)
    assert child.depth == 3 and child.meta["depth"] == 2  # copied, not yet its response's
    assert make_response(b"", request=child).meta["depth"] == 3


# -- Response: selectors -------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><title>T</title></head><body>
<h1>Hello</h1>
<ul><li><a class="x" href="a.html">A</a></li><li><a class="x" href="/b">B</a></li>
<li><a href="http://other.example/c#f">C</a></li><li><a name="anchor">no href</a></li></ul>
<img src="img/p.png">
</body></html>"""


def test_css_and_xpath() -> None:
    r = make_response(PAGE)
    assert r.css("h1::text").get() == "Hello"
    assert r.xpath("//h1/text()").get() == "Hello"
    assert r.css("a.x::attr(href)").getall() == ["a.html", "/b"]
    assert r.xpath("//a[@class=$c]/@href", c="x").getall() == ["a.html", "/b"]
    assert r.css("title::text").get() == "T"


def test_xml_response_uses_xml_selector() -> None:
    r = make_response(b'<?xml version="1.0"?><urlset><url><loc>http://e.com/1</loc></url></urlset>',
                      "application/xml")
    assert r.xpath("//url/loc/text()").getall() == ["http://e.com/1"]


# -- Response: following -------------------------------------------------------------------------


def test_follow_resolves_relative_urls_and_goes_one_level_deeper() -> None:
    parent = Request(URL, depth=2)
    r = make_response(PAGE, request=parent)
    req = r.follow("a.html")
    assert req.url == "http://example.com/dir/a.html"
    assert req.depth == 3
    assert req.referer == URL
    assert req.callback is None
    assert r.follow("../up").url == "http://example.com/up"
    assert r.follow("/root?q=1").url == "http://example.com/root?q=1"
    assert r.follow("//cdn.example/x").url == "http://cdn.example/x"
    assert r.follow("  spaced  ").url == "http://example.com/dir/spaced"
    assert r.follow("https://abs.example/p").url == "https://abs.example/p"


def test_follow_passes_keyword_arguments() -> None:
    r = make_response(PAGE)

    def cb(response: Response) -> None: ...

    req = r.follow("a.html", cb, meta={"m": 1}, cb_kwargs={"k": 2}, priority=7,
                   dont_filter=True, method="post", errback=cb)
    assert req.callback is cb and req.errback is cb
    assert (req.meta, req.cb_kwargs, req.priority, req.dont_filter, req.method) == (
        {"m": 1}, {"k": 2}, 7, True, "POST")


def test_follow_honours_base_href() -> None:
    body = '<html><head><base href="http://static.example/base/"></head><body>' \
           '<a href="x.html">x</a></body></html>'
    r = make_response(body)
    assert r.base_url == "http://static.example/base/"
    assert r.follow("x.html").url == "http://static.example/base/x.html"
    assert r.urljoin("../y") == "http://static.example/y"


def test_relative_base_href_is_resolved_against_the_page() -> None:
    r = make_response('<html><head><base href="/sub/"></head></html>')
    assert r.follow("x").url == "http://example.com/sub/x"


def test_base_href_after_selector_use() -> None:
    r = make_response('<html><head><base href="/other/"></head><body>x</body></html>')
    r.css("body")  # selector built first
    assert r.follow("y").url == "http://example.com/other/y"


def test_follow_a_link_object() -> None:
    r = make_response(PAGE)
    req = r.follow(Link("http://example.com/z", text="Z"))
    assert req.url == "http://example.com/z"
    assert req.depth == 1


def test_follow_selectors() -> None:
    r = make_response(PAGE)
    assert r.follow(r.css("a.x")[0]).url == "http://example.com/dir/a.html"
    assert r.follow(r.css("a.x::attr(href)")[1]).url == "http://example.com/b"
    assert r.follow(r.css("img")[0]).url == "http://example.com/dir/img/p.png"
    with pytest.raises(ValueError):
        r.follow(r.css("h1")[0])


def test_follow_refuses_what_is_not_a_url() -> None:
    """As in Scrapy: ``follow(css(...).get())`` when nothing matched raises (an error of the
    callback, counted), rather than requesting ``.../None``."""
    r = make_response(PAGE)
    with pytest.raises(ValueError, match="None"):
        r.follow(r.css("a.missing::attr(href)").get())
    with pytest.raises(TypeError, match="follow_all"):
        r.follow(r.css("a.x"))  # a SelectorList
    with pytest.raises(TypeError, match="int"):
        r.follow(7)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["mailto:x@example.com", "javascript:void(0)", "tel:+1234"])
def test_follow_non_http_gives_a_request_not_an_exception(url: str) -> None:
    req = make_response(PAGE).follow(url)
    assert isinstance(req, Request)
    assert req.url == url


def test_follow_unparsable_url_gives_a_request_not_an_exception() -> None:
    req = make_response(PAGE).follow("http://[broken")
    assert isinstance(req, Request)
    assert req.depth == 1


def test_follow_all_urls() -> None:
    r = make_response(PAGE)
    reqs = r.follow_all(["a.html", Link("http://example.com/l"), "/b"], priority=3)
    assert [q.url for q in reqs] == ["http://example.com/dir/a.html", "http://example.com/l",
                                     "http://example.com/b"]
    assert all(q.priority == 3 and q.depth == 1 and q.referer == URL for q in reqs)


def test_follow_all_css_and_xpath() -> None:
    r = make_response(PAGE)
    expected = ["http://example.com/dir/a.html", "http://example.com/b"]
    assert [q.url for q in r.follow_all(css="a.x")] == expected
    assert [q.url for q in r.follow_all(css="a.x::attr(href)")] == expected
    assert [q.url for q in r.follow_all(xpath="//a[@class='x']/@href")] == expected
    assert [q.url for q in r.follow_all(xpath="//a[@class='x']")] == expected
    with pytest.raises(ValueError):
        r.follow_all()
    with pytest.raises(ValueError, match="exactly one"):
        r.follow_all(["/p/7"], css="a")
    with pytest.raises(ValueError, match="exactly one"):
        r.follow_all(css="a", xpath="//a")


def test_follow_all_css_skips_elements_without_href() -> None:
    # Scrapy's follow_all(css="a") silently skips selectors it cannot follow (an <a name>
    # anchor); raising here makes the common `follow_all(css="a")` fail on real pages.
    r = make_response(PAGE)
    urls = [q.url for q in r.follow_all(css="a")]
    assert urls == ["http://example.com/dir/a.html", "http://example.com/b",
                    "http://other.example/c#f"]


def test_links_without_provider_is_empty() -> None:
    assert make_response(PAGE).links() == []


def test_links_uses_the_provider_once() -> None:
    calls = []

    def provider(resp: Response) -> list[Link]:
        calls.append(resp)
        return [Link("http://example.com/x")]

    r = make_response(PAGE)
    r._links_provider = provider
    assert r.links() == [Link("http://example.com/x")]
    assert r.links() == [Link("http://example.com/x")]
    assert len(calls) == 1


def test_selector_results_match_parsel() -> None:
    # acrawl's Selector shortcuts get() for string results; every kind of result must read
    # exactly as with parsel's own Selector
    from parsel import Selector

    html = ('<html><body><a href="/a" title="t">A <b>bold</b></a><a href="b">B</a>'
            '<p>one</p><p>two</p></body></html>')
    r = make_response(html)
    plain = Selector(text=html)
    for query in ("a::attr(href)", "a::text", "p::text", "a", "b", "title"):
        assert r.css(query).getall() == plain.css(query).getall()
        assert r.css(query).get() == plain.css(query).get()
        assert [s.get() for s in r.css(query)] == [s.extract() for s in plain.css(query)]
    for query in ("count(//a)", "//a/@href", "string(//p)", "//p[1]/text()", "boolean(//a)"):
        assert r.xpath(query).getall() == plain.xpath(query).getall()
    assert r.css("a::attr(href)").re(r"\w") == plain.css("a::attr(href)").re(r"\w")


def test_response_replace_makes_a_copy_that_parses_its_own_body() -> None:
    request = Request("http://a.test/d/")
    response = Response(url="http://a.test/d/", status=200, headers={"Content-Type": "text/html"},
                        body=b'<a href="x">x</a>', request=request)
    assert response.css("a::attr(href)").get() == "x"  # parsed and cached
    copy = response.replace(body=b'<a href="y">y</a>', status=201, flags=["cached"])
    assert (copy.status, copy.flags, copy.request) == (201, ["cached"], request)
    assert copy.css("a::attr(href)").get() == "y" and copy.text == '<a href="y">y</a>'
    assert copy.follow("y").url == "http://a.test/d/y"
    assert (response.status, response.text, response.flags) == (200, '<a href="x">x</a>', [])


def test_request_init_sets_every_field() -> None:
    """``Request.__init__`` sets each slot through its own setter: a field added to the class
    without one would be missing here (an unset slot raises AttributeError)."""
    plain = Request("http://a.test/")
    full = Request("http://a.test/", "parse", "failed", "post", {"A": 1}, "é", {"m": 1},
                   {"k": 2}, 3, True, {"c": "v"}, depth=4, retries=5, redirects=6,
                   referer="http://r.test/")
    values = {f.name: getattr(full, f.name) for f in attrs.fields(Request)}
    assert values == {
        "url": "http://a.test/", "callback": "parse", "errback": "failed", "method": "POST",
        "headers": {"A": "1"}, "body": "é".encode(), "meta": {"m": 1}, "cb_kwargs": {"k": 2},
        "priority": 3, "dont_filter": True, "cookies": {"c": "v"}, "depth": 4, "retries": 5,
        "redirects": 6, "referer": "http://r.test/"}
    assert all(hasattr(plain, f.name) for f in attrs.fields(Request))
    assert attrs.evolve(full) == full and full.replace(url="http://b.test/").retries == 5


def test_a_response_made_as_scrapy_makes_one() -> None:
    """``HtmlResponse(url=..., body=..., encoding=..., request=...)``'s port: status 200 and
    no headers by default; the given encoding decodes ``text``, over the body's own."""
    req = Request("http://127.0.0.1/f")
    resp = Response(url=req.url, body="<p>caf\xe9</p>".encode("latin-1"), encoding="latin-1",
                    request=req)
    assert (resp.status, dict(resp.headers), resp.encoding) == (200, {}, "latin-1")
    assert resp.text == "<p>caf\xe9</p>" and resp.css("p::text").get() == "caf\xe9"
    declared = Response(url=req.url, headers={"Content-Type": "text/html; charset=utf-8"},
                        body="<p>caf\xe9</p>".encode("cp1252"), encoding="cp1252", request=req)
    assert declared.text == "<p>caf\xe9</p>"
    assert declared.replace(body=b"<p>x</p>").encoding == "utf-8"  # found again, not kept
    unknown = Response(url=req.url, body=b"<p>x</p>", encoding="no-such-codec", request=req)
    assert unknown.text == "<p>x</p>"


def test_failure_check_is_twisteds() -> None:
    failure = Failure(Request("http://127.0.0.1/"), ValueError("x"))
    assert failure.check(KeyError, ValueError) is ValueError
    assert failure.check(Exception) is Exception
    assert failure.check(KeyError) is None and failure.check() is None


def test_bytes_headers_are_scrapys_and_become_str() -> None:
    req = Request("http://127.0.0.1/", headers={b"User-Agent": b"caf\xc3\xa9", "X-N": 5,
                                                "X-Raw": b"\xff"})
    assert req.headers == {"User-Agent": "caf\xe9", "X-N": "5", "X-Raw": "\xff"}
    from acrawl.http import plain_headers

    headers: dict[Any, Any] = {"User-Agent": "default", b"User-Agent": b"mine", "A": "b"}
    plain_headers(headers)
    assert headers == {"User-Agent": "mine", "A": "b"}
