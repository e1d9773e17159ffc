"""``acrawl settings`` (each value and its layer) and ``acrawl explain URL`` (each rule of the
crawl, in order, and the one that decided), against real local servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from e2e_support import Runner, assert_ok, assert_usage_error, write_module

SPIDER = """
    import acrawl

    class Shop(acrawl.Spider):
        name = "shop"
        allowed_hosts = ["127.0.0.1"]
        start_urls = [{start!r}]
        settings = {{"timeout": 7, "max_depth": 2}}

        def parse(self, response):
            yield {{"url": response.url}}
            yield from response.follow_all(css="a")
"""

PLUGIN = """
    import acrawl

    @acrawl.hookimpl
    def acrawl_filter_url(url):
        return False if "/ads/" in url else None
"""


def _project(root: Path, start: str = "http://127.0.0.1:9/") -> None:
    write_module(root, "pyproject.toml", """
        [tool.acrawl]
        spiders = ["proj.spiders"]

        [tool.acrawl.settings]
        concurrency = 4
        timeout = 3
    """)
    write_module(root, "proj/__init__.py", "")
    write_module(root, "proj/spiders.py", SPIDER.format(start=start))


def _rows(stdout: str) -> dict[str, tuple[str, str]]:
    rows = {}
    for line in stdout.splitlines()[1:]:  # columns: name, value, layer (2+ spaces apart)
        rest, origin = line.rsplit("  ", 1)
        name = rest.split()[0]
        rows[name] = (rest[len(name):].strip(), origin.strip())
    return rows


# -- settings -----------------------------------------------------------------------------------


def test_settings_shows_every_value_and_its_layer(dev: Runner, tmp_path: Path) -> None:
    _project(tmp_path)
    result = dev.run("settings", "--spider", "shop", "-s", "max_depth=5", "--no-robots")
    assert_ok(result)
    rows = _rows(result.stdout)
    assert rows["concurrency"] == ("4", "project")
    assert rows["timeout"] == ("7.0", "spider")  # the spider's settings are above the project's
    assert rows["max_depth"] == ("5", "command line")
    assert rows["obey_robots"] == ("false", "command line")
    assert rows["retry_times"] == ("2", "default")
    assert rows["user_agent"][1] == "default"
    without = _rows(dev.run("settings").stdout)
    assert without["timeout"] == ("3.0", "project") and without["max_depth"] == ("null",
                                                                                 "default")


def test_settings_get(dev: Runner, tmp_path: Path) -> None:
    _project(tmp_path)
    for args, shown in ((["--get", "concurrency"], "4"), (["--get", "max-depth"], "null"),
                        (["--get", "obey_robots", "--no-robots"], "false"),
                        (["--get", "retry_http_codes"], "[408, 429, 500, 502, 503, 504, 522, 524]"),
                        (["--get", "user_agent", "-s", "user_agent=me/1"], "me/1")):
        result = dev.run("settings", *args)
        assert_ok(result)
        assert result.stdout == shown + "\n", args


def test_settings_errors(dev: Runner, tmp_path: Path) -> None:
    assert_usage_error(dev.run("settings", "--get", "concurency"), "unknown setting",
                       "did you mean 'concurrency'")
    assert_usage_error(dev.run("settings", "-s", "timeout=soon"), "timeout", "soon")
    assert_usage_error(dev.run("settings", "--spider", "nope"), "unknown spider 'nope'")
    write_module(tmp_path, "pyproject.toml", '[tool.acrawl.settings]\ntimeout = "x"\n')
    assert_usage_error(dev.run("settings"), "[tool.acrawl.settings]", "timeout")


# -- explain ------------------------------------------------------------------------------------


def _steps(stdout: str) -> list[tuple[str, str]]:
    return [(line.split()[0], line.split()[1]) for line in stdout.splitlines()
            if line.startswith("  ")]


def test_explain_a_url_that_is_fetched(dev: Runner, tmp_path: Path, acrawl_site: Any) -> None:
    site = acrawl_site({"/": "home"}, robots="User-agent: *\nCrawl-delay: 2\n")
    _project(tmp_path, site.url("/"))
    result = dev.run("explain", site.url("/a"), "--spider", "shop")
    assert result.returncode == 0, result.stderr
    assert _steps(result.stdout) == [("pass", "scheme"), ("pass", "max_depth"),
                                     ("pass", "allowed_hosts"), ("pass", "dedup"),
                                     ("pass", "robots"), ("pass", "private_addresses")]
    assert f"{site.url('/robots.txt')}: HTTP 200, Crawl-delay 2s" in result.stdout
    assert "a link at depth 1 <= max_depth 2" in result.stdout
    assert result.stdout.splitlines()[-1] == "=> fetched"
    assert site.paths == ["/robots.txt"]  # robots.txt, fetched live; never the page
    start = dev.run("explain", site.url("/"), "--spider", "shop")
    assert "a start URL of the spider: depth 0" in start.stdout


def test_explain_names_the_rule_that_decided(dev: Runner, tmp_path: Path,
                                             acrawl_site: Any) -> None:
    site = acrawl_site({}, robots="User-agent: *\nDisallow: /private/\n")
    _project(tmp_path, site.url("/"))
    write_module(tmp_path, "adblock.py", PLUGIN)
    cases = [
        ([site.url("/private/x")], "robots", "robots.txt disallows it"),
        ([site.url("/x"), "--depth", "3"], "max_depth", "a link at depth 3 > max_depth 2"),
        (["http://elsewhere.test/x", "--no-robots"], "allowed_hosts",
         "elsewhere.test is not in allowed_hosts (127.0.0.1) (filtered/allowed_hosts)"),
        ([site.url("/ads/1"), "-p", "adblock"], "adblock", "filtered/adblock"),
        (["mailto:me@example.com"], "scheme", "only http and https"),
    ]
    for args, rule, detail in cases:
        result = dev.run("explain", *args, "--spider", "shop", pythonpath=[tmp_path])
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout.splitlines()[-1] == f"=> not fetched: decided by {rule}", args
        [line] = [ln for ln in result.stdout.splitlines() if ln.split()[:2] == ["REFUSE", rule]]
        assert detail in line, line
    assert site.hits("/private/x") == site.hits("/x") == 0


def test_explain_the_private_address_guard(dev: Runner, acrawl_site: Any) -> None:
    site = acrawl_site({})
    url = site.url("/x").replace("127.0.0.1", "localhost")
    result = dev.run("explain", url)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "=> not fetched: decided by private_addresses"
    assert "localhost resolves to non-public address" in result.stdout
    assert "not fetched: the address guard refuses the host" in result.stdout  # robots.txt too
    assert site.hits() == 0
    allowed = dev.run("explain", url, "-s", "allow_private_addresses=true")
    assert allowed.returncode == 0, allowed.stdout
    assert "off     private_addresses  allow_private_addresses is true" in allowed.stdout


def test_explain_dedup_against_a_state_dir(dev: Runner, acrawl: Runner, tmp_path: Path,
                                           acrawl_site: Any) -> None:
    site = acrawl_site({"/": '<a href="/a">a</a>', "/a": "a"})
    _project(tmp_path, site.url("/"))
    assert_ok(acrawl.run("shop", "--state", "st", "--no-progress"))
    seen = dev.run("explain", site.url("/a"), "--spider", "shop", "--state", "st")
    assert seen.returncode == 1
    assert "REFUSE  dedup" in seen.stdout and "already seen by the crawl in st" in seen.stdout
    fresh = dev.run("explain", site.url("/b"), "--spider", "shop", "--state", "st")
    assert fresh.returncode == 0 and "not seen by the crawl in st" in fresh.stdout
    assert_usage_error(dev.run("explain", site.url("/"), "--state", "nowhere"),
                       "--state nowhere", "no crawl state")
    assert not (tmp_path / "nowhere").exists()
    assert_usage_error(dev.run("explain", site.url("/"), "--spider", "nope"), "unknown spider")
