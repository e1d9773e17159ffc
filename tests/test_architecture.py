"""Import rules: which acrawl module may know which (STYLE.md §3.2, docs/architecture.md).

The rules are data, below. Each source file in ``src/acrawl`` is parsed with ``ast``; imports
inside ``if TYPE_CHECKING:`` are *type-only*, every other import (module level or inside a
function) is a *runtime* import.

* The engine knows interfaces only: it is handed a scheduler, a downloader, sinks, gates and
  the ``Hooks`` facade, and never imports the concrete downloader, frontier or state backends,
  the built-in plugins, the CLI or the wiring.
* Concrete components are built in one place, ``crawler.py`` (the CLI and the built-in spiders
  may too); no other module calls their constructors.
* Nothing imports the CLI, and only the package's ``__init__`` imports ``runner``
  (``acrawl.run``/``acrawl.crawl``, a front end like the CLI).
* ``hookspecs.py`` imports nothing from acrawl at runtime, so any module may import it.
* The data and interface modules at the bottom (errors, http, urls, settings, stats, gates,
  frontier, spider, items, forms, linkextractors, crawlspider) import the layers above them
  for type hints only.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "acrawl"
MODULES = sorted(p.stem for p in SRC.glob("*.py"))

#: the layers above the data and interface modules
UPPER_LAYERS = frozenset({
    "cli", "crawler", "downloader", "engine", "filters", "linkextract", "plugins", "progress",
    "project", "redisfrontier", "robots", "runner", "scheduler", "sinks", "site", "spiders",
    "state", "throttle",
})

#: module -> acrawl modules it must not import at all (not even for type checking)
FORBIDDEN: dict[str, frozenset[str]] = {
    # the engine knows interfaces only
    "engine": frozenset({
        "downloader",  # the concrete downloader (the engine calls ``fetch`` on what it is given)
        "state", "redisfrontier",  # the durable and the shared frontier backends
        "filters", "linkextract", "robots",  # built-in plugins: reached through Hooks only
        "crawler", "cli", "runner", "project", "spiders", "site", "progress",  # front ends
    }),
}
# nothing imports the command line; only the package re-exports the Python entry points
for _mod in MODULES:
    if _mod not in ("cli", "__main__"):
        FORBIDDEN[_mod] = FORBIDDEN.get(_mod, frozenset()) | {"cli"}
    if _mod not in ("runner", "__init__"):
        FORBIDDEN[_mod] = FORBIDDEN.get(_mod, frozenset()) | {"runner"}

#: module -> acrawl modules it may import only under ``if TYPE_CHECKING:``
TYPE_ONLY: dict[str, frozenset[str]] = {
    # interfaces the engine is handed; it never builds them
    "engine": frozenset({"frontier", "gates", "plugins", "scheduler", "sinks"}),
    # the data and interface modules sit at the bottom: upper layers only as type hints
    **{low: UPPER_LAYERS for low in ("errors", "http", "urls", "settings", "stats", "gates",
                                      "frontier", "spider", "items", "forms",
                                      "linkextractors", "crawlspider")},
    # hook specs are imported by every plugin: they import nothing from acrawl at runtime
    "hookspecs": frozenset(MODULES),
}

#: class -> modules that may call it (or a named constructor on it), besides its own module
CONSTRUCTED_ONLY_IN: dict[str, frozenset[str]] = {
    name: frozenset({"crawler", "cli", "spiders"})
    for name in ("AiohttpDownloader", "MemoryQueue", "MemoryDupeFilter", "Scheduler",
                 "SqliteState", "RedisFrontier", "Engine")
}


@dataclass(frozen=True)
class Import:
    module: str  # an acrawl module stem ("engine"), or "__init__" for the package
    line: int
    type_only: bool


def _target(node: ast.ImportFrom | ast.Import, alias: ast.alias) -> str | None:
    """The acrawl module an import names, or None if it is not acrawl's."""
    if isinstance(node, ast.Import):
        parts = alias.name.split(".")
        if parts[0] != "acrawl":
            return None
        return parts[1] if len(parts) > 1 else "__init__"
    if node.level == 0:
        parts = (node.module or "").split(".")
        if parts[0] != "acrawl":
            return None
        rest = parts[1:]
    elif node.level == 1:
        rest = node.module.split(".") if node.module else []
    else:  # beyond the package
        return None
    if rest:
        return rest[0]
    return alias.name if alias.name in MODULES else "__init__"  # from . import x


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING", "typing.TYPE_CHECKING"
        ):
            for stmt in node.body:
                ids.update(id(n) for n in ast.walk(stmt))
    return ids


@cache
def _tree(module: str) -> ast.Module:
    path = SRC / f"{module}.py"
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    tree = _tree(module)
    type_only = _type_checking_nodes(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                target = _target(node, alias)
                if target is not None and target != module:
                    out.append(Import(target, node.lineno, id(node) in type_only))
    return tuple(out)


def calls_to(module: str, names: frozenset[str]) -> list[tuple[str, int]]:
    """``(name, line)`` of each ``Name(...)`` or ``Name.constructor(...)`` call in ``module``."""
    found = []
    for node in ast.walk(_tree(module)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            func = func.value  # AiohttpDownloader.from_settings(...)
        if isinstance(func, ast.Name) and func.id in names:
            found.append((func.id, node.lineno))
    return found


def _defined_in(name: str) -> set[str]:
    return {m for m in MODULES for node in _tree(m).body
            if isinstance(node, ast.ClassDef) and node.name == name}


# ------------------------------------------------------------------------------------------------


def test_the_rules_name_real_modules() -> None:
    named = set(FORBIDDEN) | set(TYPE_ONLY)
    for targets in (*FORBIDDEN.values(), *TYPE_ONLY.values()):
        named |= targets
    assert sorted(named - set(MODULES)) == [], "a rule names a module that does not exist"
    for name in CONSTRUCTED_ONLY_IN:
        assert _defined_in(name), f"{name} is not defined in src/acrawl any more"


def test_the_import_parser_sees_imports() -> None:
    crawler = {i.module for i in imports_of("crawler")}
    assert {"engine", "downloader", "plugins"} <= crawler
    hookspecs = imports_of("hookspecs")
    assert hookspecs and all(i.type_only for i in hookspecs)


@pytest.mark.parametrize("module", sorted(m for m in FORBIDDEN if m in MODULES))
def test_forbidden_imports(module: str) -> None:
    bad = [f"{module}.py:{i.line} imports {i.module}" for i in imports_of(module)
           if i.module in FORBIDDEN[module]]
    assert bad == []


@pytest.mark.parametrize("module", sorted(m for m in TYPE_ONLY if m in MODULES))
def test_type_only_imports(module: str) -> None:
    bad = [f"{module}.py:{i.line} imports {i.module} at runtime" for i in imports_of(module)
           if i.module in TYPE_ONLY[module] and not i.type_only]
    assert bad == []


def test_nothing_imports_the_cli() -> None:
    bad = [f"{m}.py:{i.line}" for m in MODULES if m != "cli"
           for i in imports_of(m) if i.module == "cli"]
    assert bad == []


@pytest.mark.parametrize("name", sorted(CONSTRUCTED_ONLY_IN))
def test_components_are_built_only_in_the_wiring(name: str) -> None:
    allowed = CONSTRUCTED_ONLY_IN[name] | _defined_in(name)
    bad = [f"{m}.py:{line} builds {name}" for m in MODULES if m not in allowed
           for _, line in calls_to(m, frozenset({name}))]
    assert bad == []
