"""``acrawl parse`` (a callback on one URL: its items and requests, and what the crawl does
with each) and ``acrawl check`` (docstring contracts), against a real local site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from e2e_support import Runner, assert_ok, assert_usage_error, write_module

SPIDERS = '''
    import acrawl

    class Books(acrawl.Spider):
        name = "books"
        allowed_hosts = ["127.0.0.1"]

        def parse(self, response):
            """The index.

            @url {base}/
            @returns requests 3 3
            @returns items 1 1
            """
            yield {{"title": response.css("title::text").get()}}
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href, callback=self.parse_book)

        def parse_book(self, response, shelf="none"):
            """A book.

            @url {base}/book/1
            @cb_kwargs {{"shelf": "new"}}
            @meta {{"tag": "t"}}
            @returns items 1 1
            @scrapes title shelf tag
            """
            yield {{"title": response.css("h1::text").get(), "shelf": shelf,
                    "tag": response.meta.get("tag")}}
            yield response.follow("/", callback=self.parse)

        def parse_broken(self, response):
            """@url {base}/book/1
            @returns items 2
            @scrapes price
            """
            raise ValueError("broken on purpose")

        def parse_typo(self, response):
            """@url {base}/
            @scrape title
            @returns items x
            """
'''

SITE = {
    "/": '<title>Index</title><a href="/book/1">1</a><a href="/book/1#again">1</a>'
         '<a href="http://elsewhere.test/book">x</a>',
    "/book/1": "<h1>One</h1>",
}


def _project(root: Path, base: str) -> None:
    write_module(root, "pyproject.toml", '[tool.acrawl]\nspiders = ["proj.spiders"]\n')
    write_module(root, "proj/__init__.py", "")
    write_module(root, "proj/spiders.py", SPIDERS.format(base=base))


# -- parse --------------------------------------------------------------------------------------


def test_parse_prints_items_and_requests_with_their_fates(dev: Runner, tmp_path: Path,
                                                          acrawl_site: Any) -> None:
    site = acrawl_site(SITE)
    _project(tmp_path, site.base_url)
    result = dev.run("parse", site.url("/"), "--spider", "books")
    assert_ok(result)
    lines = result.stdout.splitlines()
    assert lines[0] == f">>> level 1, depth 0: <200 {site.url('/')}> -> parse"
    assert lines[1:4] == ["  items (1)", '    {"title": "Index"}', "  requests (3)"]
    assert lines[4:7] == [
        f"    {site.url('/book/1')}  (callback=parse_book) -> scheduled",
        f"    {site.url('/book/1#again')}  (callback=parse_book) -> dropped/duplicate",
        "    http://elsewhere.test/book  (callback=parse_book) -> filtered/allowed_hosts",
    ]
    assert len(lines) == 7
    assert site.hits("/book/1") == 0  # --depth 1: requests are shown, not followed


def test_parse_callback_kwargs_meta_and_depth(dev: Runner, tmp_path: Path,
                                              acrawl_site: Any) -> None:
    site = acrawl_site(SITE)
    _project(tmp_path, site.base_url)
    result = dev.run("parse", site.url("/book/1"), "--spider", "books", "-c", "parse_book",
                     "--cb-kwargs", '{"shelf": "top"}', "--meta", '{"tag": "m"}',
                     "--depth", "2")
    assert_ok(result)
    out = result.stdout.splitlines()
    assert out[:3] == [f">>> level 1, depth 0: <200 {site.url('/book/1')}> -> parse_book",
                       "  items (1)", '    {"title": "One", "shelf": "top", "tag": "m"}']
    assert f">>> level 2, depth 1: <200 {site.url('/')}> -> parse" in out
    assert site.hits("/") == 1 and site.hits("/book/1") == 1  # level 2's requests: shown only


def test_parse_a_callback_that_raises_exits_1(dev: Runner, tmp_path: Path,
                                              acrawl_site: Any) -> None:
    site = acrawl_site(SITE)
    _project(tmp_path, site.base_url)
    result = dev.run("parse", site.url("/book/1"), "--spider", "books", "-c", "parse_broken")
    assert result.returncode == 1
    assert "  ERROR: the callback raised ValueError: broken on purpose" in result.stdout
    assert "ValueError: broken on purpose" in result.stderr  # the spider's traceback, logged


def test_parse_usage_errors(dev: Runner, tmp_path: Path, acrawl_site: Any,
                            closed_port: int) -> None:
    site = acrawl_site(SITE)
    _project(tmp_path, site.base_url)
    assert_usage_error(dev.run("parse", site.url("/")), "which spider?")
    assert_usage_error(dev.run("parse", site.url("/"), "--spider", "nope"),
                       "unknown spider 'nope'")
    assert_usage_error(dev.run("parse", site.url("/"), "--spider", "books", "-c", "nope"),
                       "no callback 'nope'", "parse_book")
    assert_usage_error(dev.run("parse", "mailto:x@y", "--spider", "books"), "not an http(s)")
    assert_usage_error(dev.run("parse", site.url("/"), "--spider", "books", "--depth", "0"),
                       "--depth")
    assert_usage_error(dev.run("parse", site.url("/"), "--spider", "books", "--meta", "[1]"),
                       "--meta", "JSON object")
    url = f"http://127.0.0.1:{closed_port}/"
    result = dev.run("parse", url, "--spider", "books", "--no-robots")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "ConnectError" in result.stderr.splitlines()[-1]


# -- check --------------------------------------------------------------------------------------


def test_check_runs_every_contract_and_reports_each_failure_in_one_line(
        dev: Runner, tmp_path: Path, acrawl_site: Any) -> None:
    site = acrawl_site(SITE)
    _project(tmp_path, site.base_url)
    result = dev.run("check")
    assert result.returncode == 1, result.stderr
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    assert fails == [
        "FAIL books.parse_broken: raised ValueError: broken on purpose (on <200 "
        f"{site.url('/book/1')}>)",
        "FAIL books.parse_typo: unknown contract @scrape (did you mean @scrapes?)",
        "FAIL books.parse_typo: @returns items x: expected @returns items|requests MIN [MAX]",
    ]
    assert result.stdout.splitlines()[-1] == "9 contracts in 4 callbacks: 6 passed, 3 failed"
    # the contract's request carries @cb_kwargs and @meta; each @url is fetched once
    assert site.hits("/") == 1 and site.hits("/book/1") == 2


def test_check_passes_and_lists(dev: Runner, tmp_path: Path, acrawl_site: Any) -> None:
    site = acrawl_site(SITE)
    write_module(tmp_path, "good.py", SPIDERS.format(base=site.base_url).split(
        "        def parse_broken")[0])
    listed = dev.run("check", "good.py", "--list")
    assert_ok(listed)
    assert listed.stdout.splitlines() == [
        f"books.parse: @url {site.url('/')}; @returns requests 3 3; @returns items 1 1",
        f"books.parse_book: @url {site.url('/book/1')}; @returns items 1 1; "
        "@scrapes title shelf tag",
    ]
    assert site.hits() == 0  # listing fetches nothing
    result = dev.run("check", "good.py", "-v")
    assert_ok(result)
    assert f"ok   books.parse: @url {site.url('/')}" in result.stdout
    assert "ok   books.parse_book: @scrapes title shelf tag" in result.stdout
    assert result.stdout.splitlines()[-1] == "6 contracts in 2 callbacks: 6 passed, 0 failed"


def test_check_errors(dev: Runner, tmp_path: Path, closed_port: int) -> None:
    assert_usage_error(dev.run("check"), "no spiders to check")
    assert_usage_error(dev.run("check", "nope"), "unknown spider 'nope'")
    _project(tmp_path, f"http://127.0.0.1:{closed_port}")
    result = dev.run("check", "books", "--no-robots")
    assert result.returncode == 1
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    assert fails[0].startswith(f"FAIL books.parse: @url http://127.0.0.1:{closed_port}/: "
                               "ConnectError: cannot connect")
    assert "Traceback" not in result.stderr + result.stdout
    write_module(tmp_path, "none.py", """
        import acrawl

        class Plain(acrawl.Spider):
            name = "plain"
    """)
    result = dev.run("check", "none.py")
    assert_ok(result)
    assert result.stdout.startswith("no contracts found")


def test_parse_shows_the_links_a_follow_links_spider_follows(dev: Runner,
                                                             acrawl_site: Any) -> None:
    site = acrawl_site({"/": '<a href="/a">a</a><a href="/b">b</a><a href="/">home</a>',
                        "/a": '<a href="/c">c</a>', "/b": "b", "/c": "c"})
    base = ["--spider", "links", "-a", f"url={site.url('/')}"]
    result = dev.run("parse", site.url("/"), *base)
    assert_ok(result)
    lines = result.stdout.splitlines()
    assert "  links followed by follow_links (3)" in lines
    assert f"    {site.url('/a')} -> scheduled" in lines
    assert f"    {site.url('/')} -> dropped/duplicate" in lines
    assert site.paths == ["/robots.txt", "/"]  # --depth 1: the links are shown, not fetched
    deeper = dev.run("parse", site.url("/"), *base, "--depth", "2")
    assert_ok(deeper)
    assert f">>> level 2, depth 1: <200 {site.url('/a')}> -> parse" in deeper.stdout
    assert f"    {site.url('/c')} -> scheduled" in deeper.stdout
    assert site.hits("/a") == 1 and site.hits("/c") == 0


PIPELINE_SPIDER = '''
    import acrawl
    from pathlib import Path

    class Mark:
        def process_item(self, item, spider):
            Path("pipeline-ran").write_text("yes")
            return item

    class Books(acrawl.Spider):
        name = "books"
        pipelines = [Mark]

        def parse(self, response):
            yield {{"title": response.css("title::text").get()}}
'''


def test_parse_runs_the_pipelines_only_with_the_flag(dev: Runner, tmp_path: Path,
                                                      acrawl_site: Any) -> None:
    site = acrawl_site(SITE)
    write_module(tmp_path, "pyproject.toml", '[tool.acrawl]\nspiders = ["proj.spiders"]\n')
    write_module(tmp_path, "proj/__init__.py", "")
    write_module(tmp_path, "proj/spiders.py", PIPELINE_SPIDER.format())
    result = dev.run("parse", site.url("/"), "--spider", "books")
    assert_ok(result)
    assert '{"title": "Index"}' in result.stdout
    assert not (tmp_path / "pipeline-ran").exists()  # as scrapy parse: no pipelines
    result = dev.run("parse", site.url("/"), "--spider", "books", "--pipelines")
    assert_ok(result)
    assert (tmp_path / "pipeline-ran").read_text() == "yes"
