"""The pytest plugin (entry point ``pytest11: acrawl``) in a pytest run of a user's project:
the ``acrawl_site`` fixture, and the spiders' callback contracts collected as test items."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

pytest_plugins = ["pytester"]

SPIDER = '''
import acrawl


class Books(acrawl.Spider):
    name = "books"
    allowed_hosts = ["127.0.0.1"]

    def parse(self, response):
        """The index.

        @url {base}/
        @returns requests 2 2
        @returns items 0 0
        """
        yield from response.follow_all(css="a")

    def parse_book(self, response):
        """A book.

        @url {base}/book/1
        @returns items 1
        @scrapes title price
        """
        yield {{"title": response.css("h1::text").get()}}

    def helper(self):
        """Not a contract: no @url."""
'''


def _project(pytester: pytest.Pytester, base: str, extra_ini: str = "") -> None:
    pytester.makefile(".toml", pyproject=textwrap.dedent(f"""
        [tool.acrawl]
        spiders = ["shop.spiders"]

        [tool.pytest.ini_options]
        {extra_ini}
    """))
    pkg = pytester.mkpydir("shop")
    spiders = pkg / "spiders"
    spiders.mkdir()
    (spiders / "__init__.py").write_text("")
    (spiders / "books.py").write_text(SPIDER.format(base=base))


def test_contracts_are_collected_as_test_items(pytester: pytest.Pytester,
                                               acrawl_site: Any) -> None:
    site = acrawl_site({"/": '<a href="/book/1">1</a><a href="/book/2">2</a>',
                        "/book/1": "<h1>One</h1>"})
    _project(pytester, site.base_url)
    result = pytester.runpytest_subprocess("shop/spiders", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*books.py::books.parse PASSED*",
        "*books.py::books.parse_book FAILED*",
        "*contract of books.parse_book failed:*",
        "*@scrapes title price: item 1 of 1 lacks price*",
    ])
    assert "Traceback" not in result.stdout.str()
    assert site.hits("/") == 1 and site.hits("/book/1") == 1
    assert site.hits("/book/2") == 0  # requests the callback yields are counted, not followed


def test_contracts_can_be_turned_off(pytester: pytest.Pytester) -> None:
    _project(pytester, "http://127.0.0.1:9", extra_ini="acrawl_contracts = false")
    result = pytester.runpytest_subprocess("shop/spiders", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_the_fixture_serves_a_site_for_one_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user='''
        import urllib.request

        import acrawl
        from acrawl.testing import crawl

        SEEN = []

        class Titles(acrawl.Spider):
            name = "titles"

            def parse(self, response):
                yield {"title": response.css("h1::text").get()}

        def test_crawl(acrawl_site):
            site = acrawl_site({"/": "<h1>Hello</h1>"})
            SEEN.append(site)
            record = crawl(Titles, start_urls=[site.url("/")], settings={"obey_robots": False})
            assert record.items == [{"title": "Hello"}]
            assert site.paths == ["/"]

        def test_closed_after_the_test():
            [site] = SEEN
            try:
                urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                    site.url("/"), timeout=5)
            except OSError:
                return
            raise AssertionError("the site still answers")
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_project_without_acrawl_config_is_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    pytester.makefile(".py", spiders="raise RuntimeError('never imported')\n")
    result = pytester.runpytest_subprocess(".", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
