"""Settings from the command line (``-s``, the shorthands) and spider arguments (``-a``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_support import Runner, assert_ok, assert_usage_error, read_jsonl, write_module

from acrawl.demo.site import LinkSite

# a URL on the loopback discard port: if validation let a bad value through, the crawl would
# only get a quick "connection refused" here
NOWHERE = "url=http://127.0.0.1:9/"


@pytest.mark.parametrize(("args", "needles"), [
    (["-s", "no_such_setting=1"], ["no_such_setting"]),
    (["-s", "concurency=4"], ["concurency"]),
    (["-s", "concurrency=abc"], ["concurrency", "abc"]),
    (["-s", "concurrency=0"], ["concurrency"]),
    (["-s", "obey_robots=maybe"], ["obey_robots"]),
    (["-s", "default_headers=[1, 2]"], ["default_headers"]),
    (["-s", "concurrency"], ["concurrency"]),
    (["--max-pages", "x"], ["max-pages"]),
    (["--concurrency", "1.5"], ["concurrency"]),
    (["--max-pages", "0"], ["max_pages"]),
    (["--log-level", "LOUD"], ["log_level"]),
    (["--no-such-option"], ["--no-such-option"]),
])
def test_bad_settings_exit_2_naming_them(acrawl: Runner, args: list[str],
                                         needles: list[str]) -> None:
    result = acrawl.run("links", "-a", NOWHERE, *args)
    assert_usage_error(result, *needles)


@pytest.mark.parametrize(("args", "needles"), [
    (["-s", "proxy=notaurl"], ["proxy", "notaurl", "http://"]),
    (["-s", "proxy=socks5://127.0.0.1:1080"], ["proxy", "socks5"]),
    (["-s", 'retry_http_codes=[1,"x"]'], ["retry_http_codes", "100-599"]),
    (["-s", "timeout=inf"], ["timeout", "finite"]),
    (["--timeout", "nan"], ["timeout", "finite"]),
    (["--delay", "inf"], ["download_delay", "finite"]),
    (["-s", "max_retry_after=inf"], ["max_retry_after", "finite"]),
    (["-s", 'default_headers={"X-A": {"b": 1}}'], ["default_headers", "X-A"]),
    (["-s", 'default_headers={"X-A": null}'], ["default_headers", "X-A"]),
])
def test_settings_that_would_fail_at_crawl_time_exit_2(acrawl: Runner, serve, args: list[str],
                                                      needles: list[str]) -> None:
    """Values of the right type that could only fail later (every request through a proxy
    that is no URL, a header aiohttp cannot send, an endless timeout) are refused at
    startup, before any request."""
    srv = serve(LinkSite(pages=3))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", *args)
    assert_usage_error(result, *needles)
    assert sum(srv.hits.values()) == 0


def test_numeric_default_header_values_are_sent_as_strings(acrawl: Runner, tmp_path: Path,
                                                           serve) -> None:
    """``{"X-Num": 1}``: converted as ``Request(headers=...)`` converts, not an internal
    TypeError on every request."""
    srv = serve(LinkSite(pages=5))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "-s",
                        'default_headers={"Accept": "*/*", "X-Num": 1}', "-o", "o.jsonl")
    assert_ok(result)
    assert len(read_jsonl(tmp_path / "o.jsonl")) == 5
    assert "internal error" not in result.stderr


def test_bad_setting_rejected_before_any_request(acrawl: Runner, serve) -> None:
    srv = serve(LinkSite(pages=10))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "-s", "retry_times=lots")
    assert_usage_error(result, "retry_times")
    assert sum(srv.hits.values()) == 0


def test_bad_spider_argument_syntax(acrawl: Runner) -> None:
    assert_usage_error(acrawl.run("links", "-a", "url"), "url")


ARGSPIDER = '''
    import acrawl

    class ArgSpider(acrawl.Spider):
        name = "args"
        allowed_hosts = ["127.0.0.1"]
        settings = {"max_pages": 2, "concurrency": 1}

        def start_requests(self):
            yield acrawl.Request(self.url)

        def parse(self, response):
            yield {"url": response.url, "color": getattr(self, "color", None),
                   "size": getattr(self, "size", None)}
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)
'''


def test_spider_arguments_become_attributes(acrawl: Runner, tmp_path: Path, serve) -> None:
    base = serve(LinkSite(pages=50)).base_url
    write_module(tmp_path, "argspider.py", ARGSPIDER)
    result = acrawl.run("argspider.py", "-a", f"url={base}/", "-a", "color=dark blue",
                        "-a", "size=3", "-o", "out.jsonl")
    assert_ok(result)
    items = read_jsonl(tmp_path / "out.jsonl")
    assert len(items) == 2  # the spider's own settings apply
    assert {(it["color"], it["size"]) for it in items} == {("dark blue", "3")}
    assert items[0]["url"] == base + "/" or items[1]["url"] == base + "/"


def test_command_line_settings_override_the_spiders(acrawl: Runner, tmp_path: Path,
                                                    serve) -> None:
    base = serve(LinkSite(pages=50)).base_url
    write_module(tmp_path, "argspider.py", ARGSPIDER)
    result = acrawl.run("argspider.py", "-a", f"url={base}/", "-s", "max_pages=5",
                        "-o", "s.jsonl", "--stats", "s.json")
    assert_ok(result)
    assert len(read_jsonl(tmp_path / "s.jsonl")) == 5
    result = acrawl.run("argspider.py", "-a", f"url={base}/", "--max-pages", "7",
                        "-o", "m.jsonl")
    assert_ok(result)
    assert len(read_jsonl(tmp_path / "m.jsonl")) == 7
    assert json.loads((tmp_path / "s.json").read_text())["pages"] == 5


def test_spider_rejecting_an_argument_is_a_usage_error(acrawl: Runner, tmp_path: Path) -> None:
    """A spider whose ``__init__`` cannot use an ``-a`` value (``int("abc")``) is a usage error:
    exit 2 and one line, not a traceback and exit 1."""
    write_module(tmp_path, "intspider.py", '''
        import acrawl

        class IntSpider(acrawl.Spider):
            name = "ints"
            start_urls = ["http://127.0.0.1:9/"]

            def __init__(self, pages="1", **kwargs):
                super().__init__(**kwargs)
                self.pages = int(pages)

            def parse(self, response):
                return None
    ''')
    assert_usage_error(acrawl.run("intspider.py", "-a", "pages=abc"), "pages")


def test_unexpected_spider_argument_for_a_strict_init(acrawl: Runner, tmp_path: Path) -> None:
    write_module(tmp_path, "strict.py", '''
        import acrawl

        class Strict(acrawl.Spider):
            name = "strict"
            start_urls = ["http://127.0.0.1:9/"]

            def __init__(self, url):
                super().__init__()
                self.url = url
    ''')
    assert_usage_error(acrawl.run("strict.py", "-a", "url=x", "-a", "bogus=1"), "bogus")


def test_spider_class_settings_are_validated(acrawl: Runner, tmp_path: Path) -> None:
    write_module(tmp_path, "badsettings.py", '''
        import acrawl

        class Bad(acrawl.Spider):
            name = "bad"
            start_urls = ["http://127.0.0.1:9/"]
            settings = {"concurrency": "many"}
    ''')
    assert_usage_error(acrawl.run("badsettings.py"), "concurrency")


# ------------------------------------------------------------------------------------------------
# spider attributes the crawl reads are checked before it starts
# ------------------------------------------------------------------------------------------------


def _attr_spider(folder: Path, body: str) -> None:
    """``attrspider.py``: spider ``attrs`` (``follow_links = True``) with ``body`` (class
    attribute lines) added."""
    lines = ["import acrawl", "", "", "class AttrSpider(acrawl.Spider):", '    name = "attrs"',
             "    follow_links = True",
             *(f"    {line}" for line in body.splitlines()),
             "", "    def parse(self, response):", '        yield {"url": response.url}', ""]
    (folder / "attrspider.py").write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize(("body", "needles"), [
    ('settings = [("timeout", 3)]\n', ["'attrs'", "settings", "dict"]),
    ("settings = {3: 1}\n", ["'attrs'", "settings"]),
    ("start_urls = 3\n", ["'attrs'", "start_urls", "list"]),
    ('start_urls = ["http://127.0.0.1:9/", None]\n', ["'attrs'", "start_urls", "None"]),
    ("allowed_hosts = [b'127.0.0.1']\n", ["'attrs'", "allowed_hosts"]),
    ('allowed_hosts = ["127.0.0.1,localhost"]\n', ["'attrs'", "allowed_hosts",
                                                    "127.0.0.1,localhost"]),
    ("handle_httpstatus_list = 404\n", ["'attrs'", "handle_httpstatus_list", "404"]),
    ('handle_httpstatus_list = ["404"]\n', ["'attrs'", "handle_httpstatus_list"]),
    ('handle_httpstatus_all = "yes"\n', ["'attrs'", "handle_httpstatus_all"]),
    ("name = 42\n", ["name", "42"]),
])
def test_spider_attributes_of_the_wrong_type_exit_2(acrawl: Runner, tmp_path: Path, serve,
                                                    body: str, needles: list[str]) -> None:
    """One line naming the spider, the attribute and what was expected (it was a traceback
    and exit 1, or a crawl that did nothing)."""
    srv = serve(LinkSite(pages=3))
    _attr_spider(tmp_path, f'start_urls = ["{srv.base_url}/"]\n' + body)
    assert_usage_error(acrawl.run("attrspider.py"), *needles)
    assert sum(srv.hits.values()) == 0


@pytest.mark.parametrize("attr", ["start_urls", "allowed_hosts"])
def test_a_string_where_a_list_is_expected_is_one_entry_with_a_warning(
        acrawl: Runner, tmp_path: Path, serve, attr: str) -> None:
    """``start_urls = "http://..."`` used to be crawled one character at a time (0 pages),
    ``allowed_hosts = "127.0.0.1"`` to filter out every link."""
    base = serve(LinkSite(pages=8)).base_url
    body = (f'start_urls = "{base}/"\nallowed_hosts = ["127.0.0.1"]\n' if attr == "start_urls"
            else f'start_urls = ["{base}/"]\nallowed_hosts = "127.0.0.1"\n')
    _attr_spider(tmp_path, body)
    result = acrawl.run("attrspider.py", "-o", "out.jsonl")
    assert_ok(result)
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 8
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and attr in warnings[0] and "'attrs'" in warnings[0], \
        result.stderr
    quiet = acrawl.run("attrspider.py", "-o", "quiet.jsonl", "--log-level", "ERROR")
    assert_ok(quiet)
    assert "WARNING" not in quiet.stderr, quiet.stderr  # --log-level ERROR: from the start


def test_start_urls_and_allowed_hosts_from_the_command_line(acrawl: Runner, tmp_path: Path,
                                                            serve) -> None:
    """``-a start_urls=URL`` (a string, as every ``-a`` value) is one start URL, silently:
    it is the only way to write it there."""
    base = serve(LinkSite(pages=6)).base_url
    _attr_spider(tmp_path, "pass\n")
    result = acrawl.run("attrspider.py", "-a", f"start_urls={base}/",
                        "-a", "allowed_hosts=127.0.0.1", "-o", "out.jsonl")
    assert_ok(result)
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 6
    assert "WARNING" not in result.stderr, result.stderr


def test_follow_links_from_a_spider_argument_is_not_a_truthy_string(acrawl: Runner,
                                                                     serve) -> None:
    """``-a follow_links=false`` is the string "false", which is true: refused, pointing at
    ``-s follow_links=...``."""
    srv = serve(LinkSite(pages=5))
    result = acrawl.run("links", "-a", f"url={srv.base_url}/", "-a", "follow_links=false")
    assert_usage_error(result, "'links'", "follow_links", "-s follow_links")
    assert sum(srv.hits.values()) == 0


def test_unnamed_spider_failing_to_start_is_named_as_its_instances_are(acrawl: Runner,
                                                                       tmp_path: Path) -> None:
    write_module(tmp_path, "noname.py", '''
        import acrawl

        class MySpider(acrawl.Spider):
            start_urls = ["http://127.0.0.1:9/"]

            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                raise RuntimeError("boom")
    ''')
    line = assert_usage_error(acrawl.run("noname.py"), "spider 'myspider' failed to start",
                              "boom")
    assert "spider ''" not in line
