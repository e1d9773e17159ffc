"""``acrawl.settings``: values are converted and checked once, so a crawl never starts with a
setting that only fails later (an unserialisable header, a proxy that is no URL, an endless
timeout)."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from aiohttp import web

from acrawl.errors import ConfigError
from acrawl.settings import DEFAULT_SETTINGS, Setting, Settings
from acrawl.spider import Spider

FLOAT_SETTINGS = sorted(s.name for s in DEFAULT_SETTINGS if s.type is float)


@pytest.mark.parametrize("name", FLOAT_SETTINGS)
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", math.inf, math.nan])
def test_float_settings_must_be_finite(name: str, value: Any) -> None:
    """``timeout=inf`` would break "no hang: at most timeout per attempt"; a delay, interval
    or cap of inf/nan is as endless."""
    with pytest.raises(ConfigError, match=f"setting '{name}' expects a finite number"):
        Settings.build(overrides={name: value})


def test_a_plugin_float_setting_is_finite_too() -> None:
    extra = [Setting("my_interval", float, 1.0, "seconds")]
    with pytest.raises(ConfigError, match="my_interval"):
        Settings.build(overrides={"my_interval": "inf"}, extra=extra)
    assert Settings.build(overrides={"my_interval": "2.5"}, extra=extra)["my_interval"] == 2.5


# -- default_headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ('{"X-Num": 1, "X-Ratio": 0.5, "Accept": "*/*"}',
     {"X-Num": "1", "X-Ratio": "0.5", "Accept": "*/*"}),
    ({"X-Num": 2}, {"X-Num": "2"}),
])
def test_default_header_numbers_become_strings(raw: Any, expected: dict[str, str]) -> None:
    """As ``Request(headers=...)`` does; a JSON number or a Python int from a spider's
    ``settings``."""
    assert Settings.build(overrides={"default_headers": raw})["default_headers"] == expected


@pytest.mark.parametrize(("raw", "needle"), [
    ({1: "x"}, "1 is not a header name"),
    ({"X-A": {"nested": 1}}, "'X-A'"),
    ({"X-A": ["a", "b"]}, "'X-A'"),
    ({"X-A": None}, "'X-A'"),
    ({"X-A": True}, "'X-A'"),
    ('{"X-A": {"b": 1}}', "'X-A'"),
    ('{"Bad Name": "x"}', "'Bad Name' is not a header name"),
    ('{"X-A": "one\\r\\nX-Injected: 1"}', "'X-A'"),
])
def test_default_headers_that_cannot_be_sent_are_refused(raw: Any, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.build(overrides={"default_headers": raw})
    message = str(err.value)
    assert "setting 'default_headers' expects" in message and needle in message
    assert "\n" not in message


def test_user_agent_without_line_breaks() -> None:
    with pytest.raises(ConfigError, match="user_agent"):
        Settings.build(overrides={"user_agent": "bot\r\nX-Injected: 1"})


class Echo(Spider):
    name = "echo"

    def parse(self, response: Any) -> dict[str, Any]:
        return response.json()


async def test_numeric_default_header_is_sent_as_a_string(serve_app: Any, crawl: Any) -> None:
    """It used to end every request with ``internal error: TypeError``."""
    async def headers(request: web.Request) -> web.Response:
        return web.json_response({"x-num": request.headers.get("X-Num")})

    async with serve_app({"/": headers}) as base:
        result, _ = await crawl(Echo, start_urls=[base + "/"], outputs=[],
                                settings={"obey_robots": False,
                                          "default_headers": {"X-Num": 7}})
    assert result.stats["pages"] == 1
    assert result.stats["errors/internal"] == 0


# -- proxy ----------------------------------------------------------------------------------------


GOOD_PROXIES = ["http://127.0.0.1:3128", "https://proxy.example:8443",
                "http://user:pa%20ss@localhost:3128", "HTTP://[::1]:3128"]


@pytest.mark.parametrize("proxy", ["notaurl", "127.0.0.1:3128", "socks5://127.0.0.1:1080",
                                   "ftp://host", "http://", "http://host:notaport",
                                   "http://host:99999", "http:///path"])
def test_proxy_must_be_an_http_url_with_a_host(proxy: str) -> None:
    """Checked at startup: a bad proxy used to fail every request of the crawl instead."""
    with pytest.raises(ConfigError, match="setting 'proxy' expects an http:// or https://"):
        Settings.build(overrides={"proxy": proxy})
    for good in GOOD_PROXIES:
        assert Settings.build(overrides={"proxy": good})["proxy"] == [good]
    assert Settings.build(overrides={"proxy": "none"})["proxy"] is None
    # several, used in turn: each one is checked
    assert Settings.build(overrides={"proxy": ",".join(GOOD_PROXIES[:2])})["proxy"] == \
        GOOD_PROXIES[:2]
    assert Settings.build({"proxy": GOOD_PROXIES[1:3]})["proxy"] == GOOD_PROXIES[1:3]
    with pytest.raises(ConfigError, match="setting 'proxy' expects an http:// or https://"):
        Settings.build({"proxy": [GOOD_PROXIES[0], proxy]})


# -- retry_http_codes -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ['[1, "x"]', "[99]", "[600]", "408,abc", "[true]", "[408.5]",
                                 [None], ["503x"], [True]])
def test_retry_http_codes_are_status_codes(raw: Any) -> None:
    with pytest.raises(ConfigError, match=r"retry_http_codes.*integers 100-599"):
        Settings.build(overrides={"retry_http_codes": raw})
    for good, expected in [("408,429, 503", [408, 429, 503]), ("[500, 502]", [500, 502]),
                           ([503], [503]), ('["503"]', [503]), ("[]", [])]:
        assert Settings.build(overrides={"retry_http_codes": good})["retry_http_codes"] == (
            expected)


# -- the Setting steps ----------------------------------------------------------------------------


def test_convert_then_check_and_neither_sees_none() -> None:
    seen: list[Any] = []

    def convert(v: list[Any]) -> list[str]:
        seen.append(v)
        if not all(isinstance(x, str) for x in v):
            raise ValueError("a list of names")
        return [x.lower() for x in v]

    def check(v: list[str]) -> str | None:
        seen.append(v)
        return None if len(v) < 3 else "at most two names"

    extra = [Setting("names", list, None, "", optional=True, convert=convert, check=check)]
    assert Settings.build(overrides={"names": "A,b"}, extra=extra)["names"] == ["a", "b"]
    assert Settings.build(overrides={"names": "none"}, extra=extra)["names"] is None
    assert seen == [["A", "b"], ["a", "b"]]
    with pytest.raises(ConfigError, match="'names' expects a list of names, got"):
        Settings.build(overrides={"names": "[1]"}, extra=extra)
    with pytest.raises(ConfigError, match="'names' expects at most two names"):
        Settings.build(overrides={"names": "a,b,c"}, extra=extra)


def test_layers_apply_in_order_and_each_value_knows_its_origin() -> None:
    from acrawl.settings import Layer

    s = Settings.build(
        Layer("project", {"concurrency": 4, "timeout": 5, "max_pages": 9}),
        Layer("spider", {"timeout": 7}),
        overrides=Layer("command line", {"max_pages": "3"}),
    )
    assert (s["concurrency"], s["timeout"], s["max_pages"]) == (4, 7.0, 3)
    assert [s.origin(n) for n in ("concurrency", "timeout", "max_pages", "retry_times")] == [
        "project", "spider", "command line", "default"]


def test_plain_mapping_layers_keep_working() -> None:
    s = Settings.build({"timeout": 3}, overrides={"timeout": "4"})
    assert s["timeout"] == 4.0
    assert s.origin("timeout") == "command line"


def test_a_layer_with_where_names_it_in_errors() -> None:
    from acrawl.settings import Layer

    with pytest.raises(ConfigError, match=r"^pyproject.toml \[x\]: setting 'timeout' expects"):
        Settings.build(Layer("project", {"timeout": "soon"}, where="pyproject.toml [x]"))
    with pytest.raises(ConfigError, match=r"^setting 'timeout' expects"):
        Settings.build(overrides={"timeout": "soon"})


def test_scrapys_getters_and_spelling_for_ported_components() -> None:
    extra = [Setting("user_agents", list, []), Setting("shop_proxy", str, None, optional=True)]
    s = Settings.build({"user_agents": ["a", "b"], "download_delay": 0.5}, extra=extra)
    assert s.getlist("USER_AGENTS") == ["a", "b"]
    assert s["DOWNLOAD_DELAY"] == 0.5 and s.get("download-delay") == 0.5
    assert s.getfloat("DOWNLOAD_DELAY") == 0.5
    assert s.getint("CONCURRENCY") == 16
    assert s.getbool("OBEY_ROBOTS") is True and s.getbool("COOKIES") is True
    assert s.get("SHOP_PROXY") is None and s.getlist("shop_proxy") == []
    assert s.getdict("DEFAULT_HEADERS")["Accept-Language"] == "en"
    assert s.get("NOT_A_SETTING", "x") == "x" and "NOT_A_SETTING" not in s
    with pytest.raises(KeyError):
        s["NOT_A_SETTING"]
    plain = Settings.build({"shop_proxy": "a, b"}, extra=extra)
    assert plain.getlist("SHOP_PROXY") == ["a", "b"]


@pytest.mark.parametrize(("attrs", "needle"), [
    ({"custom_settings": {"DOWNLOAD_DELAY": 1}},
     "custom_settings is Scrapy's name; acrawl reads settings = {...}"),
    ({"allowed_domains": ["a.test"], "allowed_hosts": ["b.test"]},
     "allowed_domains (Scrapy's) and allowed_hosts both set; keep allowed_hosts"),
])
def test_scrapys_spider_attributes_are_not_silently_ignored(attrs: dict[str, Any],
                                                            needle: str) -> None:
    from acrawl.crawler import Crawler

    spider_cls = type("Ported", (Spider,), {"name": "ported", **attrs})
    with pytest.raises(ConfigError, match="^spider 'ported': " + re.escape(needle)):
        Crawler.create(spider_cls, entry_points=False)


def test_scrapys_allowed_domains_allow_subdomains_as_in_scrapy() -> None:
    from acrawl.policies.allowed_hosts import HostMatcher
    from acrawl.spider import check_spider

    class Ported(Spider):
        name = "ported"
        allowed_domains = ["example.com", "127.0.0.1", "shop.test:8000"]

    spider = Ported()
    check_spider(spider)
    assert spider.allowed_hosts == [".example.com", "127.0.0.1", "shop.test:8000"]
    m = HostMatcher(spider.allowed_hosts)
    assert m.allows("http://example.com/") and m.allows("https://www.example.com/x")
    assert not m.allows("http://notexample.com/") and not m.allows("http://shop.test:9000/")


def test_scrapys_setting_names_read_acrawls_values() -> None:
    from acrawl.settings import SCRAPY_NAMES

    s = Settings.build({"concurrency": 7, "obey_robots": False, "max_depth": 3})
    assert s.getint("CONCURRENT_REQUESTS") == 7 and s["DEPTH_LIMIT"] == 3
    assert s.getbool("ROBOTSTXT_OBEY") is False and "ROBOTSTXT_OBEY" in s
    assert s.getfloat("DOWNLOAD_TIMEOUT") == s["timeout"]
    assert set(SCRAPY_NAMES.values()) <= set(s)  # every alias names a real setting


# -- component lists ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["middlewares", "spider_middlewares", "pipelines", "disable"])
@pytest.mark.parametrize("raw", ["", "  "])
def test_an_empty_list_setting_is_an_empty_list(name: str, raw: str) -> None:
    """``-s disable=`` (a variable left empty in a script) is ``[]``, not ``['']``."""
    settings = Settings.build(overrides={name: raw})
    assert settings[name] == []
    assert settings.origin(name) == "command line"


@pytest.mark.parametrize("raw", [{"pkg.mod.Late": 800, "pkg.mod.Early": 100},
                                 '{"pkg.mod.Late": 800, "pkg.mod.Early": 100}'])
def test_scrapys_numbered_component_dict_is_refused_with_the_list_to_write(raw: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.build(overrides={"pipelines": raw})
    message = str(info.value)
    assert "setting 'pipelines' is a list in the order the components run" in message
    assert "['pkg.mod.Early', 'pkg.mod.Late']" in message  # Scrapy's order, lowest first
    assert "\n" not in message


def test_scrapys_spider_middleware_dict_lists_the_highest_number_first() -> None:
    with pytest.raises(ConfigError, match=re.escape("['p.m.B', 'p.m.A']")):
        Settings.build(overrides={"spider_middlewares": {"p.m.A": 100, "p.m.B": 543}})
