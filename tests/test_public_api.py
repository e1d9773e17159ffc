"""The public surface: ``acrawl.__all__`` is sorted, complete and exact.

Modelled on httpx's ``tests/test_exported_members.py``. Adding a class or function to
``acrawl/__init__.py`` without listing it (or listing a name that is not there) fails here.
"""

from __future__ import annotations

import inspect

import acrawl

#: names in ``__all__`` that are neither classes nor functions
NON_CALLABLE_EXPORTS = {"__version__", "hookimpl"}

#: what CONTRACT.md and the docs tell users to import from ``acrawl``
CONTRACT_NAMES = {"Link", "Request", "Response", "Sink", "Spider", "hookimpl",
                  # the Scrapy names a ported spider uses
                  "CrawlSpider", "FormRequest", "JsonRequest", "LinkExtractor", "Rule",
                  "crawl", "run"}


def _public_members() -> set[str]:
    """Classes and functions defined in acrawl and bound in the package namespace."""
    namespace = {name: getattr(acrawl, name) for name in dir(acrawl)}  # lazy names too
    return {
        name
        for name, obj in namespace.items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and (getattr(obj, "__module__", "") or "").split(".")[0] == "acrawl"
    }


def test_all_is_sorted() -> None:
    assert acrawl.__all__ == sorted(acrawl.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(acrawl.__all__) == len(set(acrawl.__all__))


def test_all_names_exist() -> None:
    missing = [name for name in acrawl.__all__ if not hasattr(acrawl, name)]
    assert missing == []


def test_all_is_complete() -> None:
    unlisted = sorted(_public_members() - set(acrawl.__all__))
    assert unlisted == [], f"public but not in acrawl.__all__: {unlisted}"


def test_all_lists_only_classes_functions_and_known_extras() -> None:
    extras = set(acrawl.__all__) - _public_members()
    assert extras <= NON_CALLABLE_EXPORTS, sorted(extras - NON_CALLABLE_EXPORTS)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from acrawl import *", namespace)
    namespace.pop("__builtins__", None)
    assert set(namespace) == set(acrawl.__all__)


def test_contract_names_are_exported() -> None:
    assert set(acrawl.__all__) >= CONTRACT_NAMES


def test_import_acrawl_does_not_load_the_crawl_machinery() -> None:
    """``import acrawl`` stays light: the engine and aiohttp load on first use of ``run``."""
    import subprocess
    import sys

    code = ("import sys, acrawl; print('aiohttp' in sys.modules, 'acrawl.core.engine' in "
            "sys.modules); acrawl.run; print('acrawl.core.engine' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "True"]


def test_version_is_a_string() -> None:
    assert isinstance(acrawl.__version__, str) and acrawl.__version__
