"""The pytest plugin (entry point ``pytest11: acrawl``): the ``acrawl_site`` fixture, and the
callback contracts of the project's spiders collected as test items.

``acrawl_site(pages, robots=None)`` serves a :class:`~acrawl.testing.site.FakeSite` for the
test and stops it afterwards::

    def test_books(acrawl_site):
        site = acrawl_site({"/": "<h1>Shop</h1>"})
        record = crawl(Books, start_urls=[site.url("/")])

Contracts: when pytest collects a file of a module listed in ``[tool.acrawl] spiders`` (or
under such a package) — say ``python -m pytest myproj/spiders`` — each callback with a
``@url`` contract becomes a test item, run as ``acrawl check`` runs it. ``acrawl_contracts =
false`` (ini option) turns that off; ``-p no:acrawl`` turns the whole plugin off.

Loaded in every pytest run where acrawl is installed, so this module imports nothing heavy:
the site and the crawler are imported when a fixture or a contract item needs them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..spider import Spider
    from .contracts import CallbackContracts
    from .site import FakeSite

_SPIDER_FILES = pytest.StashKey[dict[Path, str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("acrawl_contracts", type="bool", default=True,
                  help="collect the callback contracts of the [tool.acrawl] spiders modules")


@pytest.fixture
def acrawl_site() -> Iterator[Callable[..., FakeSite]]:
    """``acrawl_site(pages, robots=None)``: a fake site on 127.0.0.1 for this test."""
    from .site import FakeSite

    sites: list[FakeSite] = []

    def make(pages: Any = None, *, robots: str | None = None) -> FakeSite:
        site = FakeSite(pages, robots=robots)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.close()


# -- contracts as test items ---------------------------------------------------------------------


def _spider_files(config: pytest.Config) -> dict[Path, str]:
    """Files of the ``[tool.acrawl] spiders`` modules (and of modules under those packages),
    by path -> module name, found without importing anything."""
    if _SPIDER_FILES in config.stash:
        return config.stash[_SPIDER_FILES]
    out: dict[Path, str] = {}
    if config.getini("acrawl_contracts"):
        from ..config import load_project
        from ..errors import ConfigError

        try:
            project = load_project(config.rootpath)
            modules = project.spider_modules if project is not None else []
        except ConfigError:
            modules = []  # acrawl check and acrawl-run report it; tests are not the place
        if project is not None:
            for base in (project.root / "src", project.root):
                for mod in modules:
                    rel = Path(*mod.split("."))
                    if (base / rel).with_suffix(".py").is_file():
                        out[(base / rel).with_suffix(".py").resolve()] = mod
                    elif (base / rel).is_dir():
                        for path in sorted((base / rel).rglob("*.py")):
                            parts = path.relative_to(base).with_suffix("").parts
                            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                            out.setdefault(path.resolve(), name)
    config.stash[_SPIDER_FILES] = out
    return out


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".py":
        return None
    modname = _spider_files(parent.config).get(file_path.resolve())
    if modname is None:
        return None
    return SpiderContracts.from_parent(parent, path=file_path, modname=modname)


class SpiderContracts(pytest.File):
    """The contracts of the spiders defined in one spiders module."""

    def __init__(self, *, modname: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.modname = modname

    def collect(self) -> Iterator[pytest.Item]:
        import importlib

        from ..spider import Spider
        from .contracts import contracts_of

        rootpath = self.config.rootpath
        for base in (rootpath / "src", rootpath):
            if base.is_dir() and str(base) not in sys.path:
                sys.path.insert(0, str(base))
        module = importlib.import_module(self.modname)
        for obj in list(vars(module).values()):
            if (isinstance(obj, type) and issubclass(obj, Spider) and obj is not Spider
                    and obj.__module__ == module.__name__):
                for contracts in contracts_of(obj):
                    yield ContractItem.from_parent(self, name=contracts.label,
                                                   spider_cls=obj, contracts=contracts)


class ContractFailed(AssertionError):
    pass


class ContractItem(pytest.Item):
    """One callback's contracts, run through a real crawl of its ``@url``."""

    def __init__(self, *, spider_cls: type[Spider], contracts: CallbackContracts,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spider_cls = spider_cls
        self.contracts = contracts

    def runtest(self) -> None:
        import asyncio

        from .contracts import run_contracts

        [verdict] = asyncio.run(run_contracts(self.spider_cls, [self.contracts]))
        if verdict.failures:
            raise ContractFailed("\n".join(verdict.failures))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, ContractFailed):
            return f"contract of {self.contracts.label} failed:\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"contracts of {self.contracts.label}"
