"""``acrawl fetch URL`` and ``acrawl shell [URL] -c EXPR``: one URL fetched as a crawl fetches
it (settings, plugins, robots.txt, redirects, the private-address guard), against real local
servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from e2e_support import Runner, assert_failure, assert_ok, assert_usage_error, write_module

from acrawl.testing import Page, redirect

SPIDER = """
    import acrawl

    class Shop(acrawl.Spider):
        name = "shop"
        allowed_hosts = {hosts!r}
        settings = {{"user_agent": "shop-bot/2"}}
"""


def _project(root: Path, hosts: list[str], settings: str = "") -> None:
    write_module(root, "pyproject.toml", f"""
        [tool.acrawl]
        spiders = ["proj.spiders"]

        [tool.acrawl.settings]
        {settings}
    """)
    write_module(root, "proj/__init__.py", "")
    write_module(root, "proj/spiders.py", SPIDER.format(hosts=hosts))


# -- fetch --------------------------------------------------------------------------------------


def test_fetch_prints_the_body_exactly(dev: Runner, acrawl_site: Any) -> None:
    body = "<h1>Café</h1>\n" + "x" * 70_000
    site = acrawl_site({"/": body, "/old": redirect("/", status=301)})
    result = dev.run("fetch", site.url("/old"))
    assert_ok(result)
    assert result.stdout == body
    assert result.stderr == ""
    assert site.paths == ["/robots.txt", "/old", "/"]  # robots.txt first, as in a crawl


def test_fetch_headers(dev: Runner, acrawl_site: Any) -> None:
    site = acrawl_site({"/": Page("<p>x</p>", headers={"X-Shop": "yes"})})
    result = dev.run("fetch", "--headers", site.url("/"))
    assert_ok(result)
    lines = result.stdout.splitlines()
    assert lines[0] == f"HTTP 200 {site.url('/')}"
    assert "X-Shop: yes" in lines and "<p>x</p>" not in result.stdout


def test_fetch_of_an_error_page_prints_it_and_says_so(dev: Runner, acrawl_site: Any) -> None:
    site = acrawl_site({"/gone": Page("<h1>Gone</h1>", status=410)})
    result = dev.run("fetch", site.url("/gone"))
    assert_ok(result)
    assert result.stdout == "<h1>Gone</h1>"
    assert result.stderr.strip() == f"acrawl fetch: HTTP 410 {site.url('/gone')}"


def test_fetch_obeys_robots_txt_unless_told(dev: Runner, acrawl_site: Any) -> None:
    site = acrawl_site({"/private/x": "secret"}, robots="User-agent: *\nDisallow: /private/")
    assert_failure(dev.run("fetch", site.url("/private/x")), "robots.txt disallows",
                   "--no-robots")
    assert site.hits("/private/x") == 0
    result = dev.run("fetch", "--no-robots", site.url("/private/x"))
    assert_ok(result)
    assert result.stdout == "secret"


def test_fetch_unreachable_host_and_bad_urls(dev: Runner, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/"
    assert_failure(dev.run("fetch", "--no-robots", url), "ConnectError", url)
    assert_failure(dev.run("fetch", url), "robots.txt could not be fetched", "--no-robots")
    assert_usage_error(dev.run("fetch", "ftp://127.0.0.1/x"), "not an http(s) URL")
    assert_usage_error(dev.run("fetch", "example.com/x"), "not an http(s) URL",
                       "did you mean http://example.com/x")
    assert_usage_error(dev.run("fetch"), "url")


def test_fetch_keeps_the_private_address_guard(dev: Runner, acrawl_site: Any) -> None:
    """The URL given is trusted as a start URL is; a redirect to another local host is not."""
    site = acrawl_site({})
    site.pages["/hop"] = redirect(site.url("/x").replace("127.0.0.1", "localhost"))
    assert_failure(dev.run("fetch", site.url("/hop")), "BlockedAddress", "localhost")
    assert site.paths == ["/robots.txt", "/hop"]


def test_fetch_with_a_spider_uses_its_settings_and_filters(dev: Runner, tmp_path: Path,
                                                           acrawl_site: Any) -> None:
    site = acrawl_site({"/": "home"})
    _project(tmp_path, ["elsewhere.test"], settings='timeout = 5')
    assert_failure(dev.run("fetch", "--spider", "shop", site.url("/")), "allowed_hosts")
    _project(tmp_path, ["127.0.0.1"], settings='default_headers = {X-Project = "p"}')
    assert_ok(dev.run("fetch", "--spider", "shop", site.url("/")))
    [hit] = [h for h in site.log if h.path == "/"]
    assert hit.headers["User-Agent"] == "shop-bot/2"  # the spider's settings
    assert hit.headers["X-Project"] == "p"  # the project's
    assert_usage_error(dev.run("fetch", "--spider", "nope", site.url("/")),
                       "unknown spider 'nope'")


# -- shell --------------------------------------------------------------------------------------


def test_shell_c_evaluates_with_the_response(dev: Runner, acrawl_site: Any) -> None:
    site = acrawl_site({"/": "<title>Shop</title><a href='/a'>a</a>", "/a": "<h1>A</h1>"})
    result = dev.run("shell", site.url("/"), "-c", 'response.css("title::text").get()')
    assert_ok(result)
    assert result.stdout == "Shop\n"
    script = ("print(response.status, spider.name, settings['concurrency']); "
              "fetch(response.urljoin('/a')); print(response.css('h1::text').get())")
    result = dev.run("shell", site.url("/"), "-c", script, "-s", "concurrency=3")
    assert_ok(result)
    assert result.stdout == "200 default 3\nA\n"
    assert f"fetched <200 {site.url('/a')}>" in result.stderr


def test_shell_view_saves_the_body(dev: Runner, acrawl_site: Any) -> None:
    site = acrawl_site({"/": "<html><head><title>T</title></head><body>b</body></html>"})
    result = dev.run("shell", site.url("/"), "-c", "view(response)")
    assert_ok(result)
    path = Path(result.stdout.splitlines()[0])
    try:
        text = path.read_text()
        assert path.suffix == ".html"
        assert text == (f'<html><head><base href="{site.url("/")}"><title>T</title></head>'
                        "<body>b</body></html>")
    finally:
        path.unlink()


def test_shell_errors_are_one_line(dev: Runner, acrawl_site: Any, closed_port: int) -> None:
    site = acrawl_site({"/": "x"})
    assert_failure(dev.run("shell", site.url("/"), "-c", "1/0"), "-c", "ZeroDivisionError")
    assert_failure(dev.run("shell", "--no-robots", f"http://127.0.0.1:{closed_port}/", "-c",
                           "response"), "ConnectError")
    assert_usage_error(dev.run("shell", "nota url", "-c", "1"), "not an http(s) URL")
    result = dev.run("shell", "-c", f"fetch('http://127.0.0.1:{closed_port}/'); print(response)",
                     "--no-robots")
    assert_ok(result)  # in the shell a failed fetch() is a message, not the end
    assert result.stdout == "None\n"
    assert "fetch: " in result.stderr and "ConnectError" in result.stderr
    assert "Traceback" not in result.stderr


def test_shell_interactive_python_repl(dev: Runner, acrawl_site: Any) -> None:
    site = acrawl_site({"/": "<h1>Hi</h1>"})
    proc = dev.run("shell", site.url("/"), "--repl", "python", stdin_text=(
        "print('status', response.status)\nprint(response.css('h1::text').get())\n"))
    assert_ok(proc)
    assert "status 200" in proc.stdout and "Hi" in proc.stdout
    assert "acrawl shell: <200" in proc.stderr  # the banner names what is at hand
    assert "fetch(url_or_request)" in proc.stderr


def test_shell_uses_ipython_when_installed(dev: Runner, acrawl_site: Any) -> None:
    """acrawl[shell]: IPython when it is installed (skipped where it is not; the standard
    REPL is tested above)."""
    import pytest

    pytest.importorskip("IPython")
    site = acrawl_site({"/": "<h1>Hi</h1>", "/b": "<h1>B</h1>"})
    proc = dev.run("shell", site.url("/"), stdin_text=(
        "print('status', response.status)\nfetch(response.urljoin('/b'))\n"
        "response.css('h1::text').get()\n"), env={"TERM": "dumb"})
    assert_ok(proc)
    assert "In [1]:" in proc.stdout and "status 200" in proc.stdout
    assert "Out[3]: 'B'" in proc.stdout
    assert "acrawl shell: <200" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
