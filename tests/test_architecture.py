"""Import rules: which acrawl module may know which (docs/architecture.md, "Dependency direction").

The rules are data, below. Each source file under ``src/acrawl`` is parsed with ``ast`` and named
by its dotted path inside the package (``core.engine``, ``frontier.redis``, ``http``); a rule
that names a package (``download``) covers the package and every module in it. Imports inside
``if TYPE_CHECKING:`` are *type-only*, every other import (module level or inside a function)
is a *runtime* import.

* The top level holds the data and the interfaces (``errors``, ``http``, ``urls``, ``settings``,
  ``stats``, ``spider``, ``hookspecs``, ``gates``, ...): it imports the machinery below it in the
  subpackages for type hints only.
* ``core`` (the engine, the scheduler, the component chains) knows interfaces only: it is handed
  a downloader, a frontier, sinks, gates and components, and never imports ``download``, the
  frontier backends, ``policies``, ``sinks``' implementations, the wiring or the front ends.
* In ``frontier``, the contract (``base``), the request codec and per-host politeness know no
  backend; the backends (``memory``, ``sqlite``, ``redis``) build on them.
* Concrete components are built in one place, ``crawler`` (the CLI and the built-in spiders
  may too); no other module calls their constructors.
* ``ops`` (guardrails, logs, metrics) watches a crawl through what the wiring hands it: it
  imports the bottom layer only, never the engine, the components or the wiring.
* Nothing imports the CLI, and only the package's ``__init__`` and the CLI import ``runner``
  (``acrawl.run``/``acrawl.crawl``, a front end like the CLI, whose signal handling the CLI
  shares); ``hookspecs`` imports nothing from acrawl at runtime.
* There are no import cycles, not even through type-only imports.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "acrawl"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or "__init__"


FILES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}
MODULES = sorted(FILES)
PACKAGES = sorted({m.rsplit(".", 1)[0] for m in MODULES if "." in m})


def covers(rule: str, module: str) -> bool:
    """``rule`` names ``module`` itself or a package that holds it."""
    return module == rule or module.startswith(rule + ".")


#: the bottom layer: data and interfaces, imported by everything above
BASE = frozenset({
    "__init__", "version", "errors", "http", "urls", "headers", "settings", "stats", "spider",
    "hookspecs",
    "gates",
    "sinks", "sinks.base", "frontier", "frontier.base", "frontier.codec", "config", "explain",
    # the Scrapy-shaped user API built on the data: items, forms, link extractors, CrawlSpider
    "items", "forms", "linkextractors", "crawlspider",
})
#: what the bottom layer may name only in type hints
MACHINERY = frozenset({"core", "download", "frontier", "policies", "sinks", "cli", "demo",
                       "crawler", "plugins", "runner", "testing", "ops"})

#: module or package -> modules or packages it must not import at all (not even for types)
FORBIDDEN: dict[str, frozenset[str]] = {
    # the core knows interfaces only
    "core": frozenset({
        "download",  # the concrete downloader (the engine calls ``fetch`` on what it is given)
        "frontier.memory", "frontier.sqlite", "frontier.redis",  # the frontier backends
        "policies",  # built-in components: handed in as components, or reached through Hooks
        "sinks.builtin",  # the built-in sinks
        "crawler", "cli", "demo",  # wiring and front ends
    }),
    "download": frozenset({"core", "frontier", "policies", "crawler", "cli", "demo"}),
    "frontier": frozenset({"core", "download", "policies", "crawler", "cli", "demo"}),
    # the frontier contract, the request codec and politeness: what every backend builds on
    **{shared: frozenset({"frontier.memory", "frontier.sqlite", "frontier.redis"})
       for shared in ("frontier.base", "frontier.codec", "frontier.politeness")},
    "policies": frozenset({"crawler", "cli", "demo", "download", "frontier.sqlite",
                           "frontier.redis"}),
    "sinks": frozenset({"core", "download", "frontier", "policies", "crawler", "cli", "demo"}),
    "crawler": frozenset({"cli", "demo", "testing"}),
    # the testing kit runs real crawls through the wiring (Crawler.create), never around it
    "testing": frozenset({"core", "download", "frontier", "policies", "sinks.builtin", "cli",
                          "demo"}),
    # watches a running crawl from beside the engine, through what the wiring hands it
    "ops": frozenset({"core", "download", "frontier", "policies", "sinks", "crawler", "cli",
                      "demo"}),
}

#: module or package -> modules or packages it may import only under ``if TYPE_CHECKING:``
TYPE_ONLY: dict[str, frozenset[str]] = {
    # interfaces the engine is handed; it never builds them
    "core.engine": frozenset({"frontier", "gates", "plugins", "core.scheduler", "sinks"}),
    # the data and interface modules sit at the bottom: the machinery only as type hints
    **{low: MACHINERY - {low.split(".")[0]} for low in BASE - {"__init__"}},
    # hook specs are imported by every plugin: they import nothing from acrawl at runtime
    "hookspecs": frozenset(MODULES),
}

#: class -> modules that may call it (or a named constructor on it), besides its own module
CONSTRUCTED_ONLY_IN: dict[str, frozenset[str]] = {
    name: frozenset({"crawler", "cli.main", "demo.spiders"})
    for name in ("AiohttpDownloader", "MemoryQueue", "MemoryDupeFilter", "Scheduler",
                 "SqliteState", "RedisFrontier", "Politeness", "Engine")
}


@dataclass(frozen=True)
class Import:
    module: str  # a dotted acrawl module ("core.engine"), or "__init__" for the package
    line: int
    type_only: bool


def _resolve(base: list[str], rest: str, alias: str) -> str:
    """The acrawl module ``from <base>.<rest> import <alias>`` names."""
    parts = [*base, *(rest.split(".") if rest else [])]
    candidate = ".".join([*parts, alias])
    if candidate in FILES:  # from .core import engine
        return candidate
    return ".".join(parts) or "__init__"


def _target(module: str, node: ast.ImportFrom | ast.Import, alias: ast.alias) -> str | None:
    """The acrawl module an import names, or None if it is not acrawl's."""
    if isinstance(node, ast.Import):
        parts = alias.name.split(".")
        return ".".join(parts[1:]) or "__init__" if parts[0] == "acrawl" else None
    if node.level == 0:
        parts = (node.module or "").split(".")
        if parts[0] != "acrawl":
            return None
        return _resolve([], ".".join(parts[1:]), alias.name)
    here = [] if module == "__init__" else module.split(".")
    is_package = FILES[module].name == "__init__.py"
    package = here if is_package else here[:-1]
    up = node.level - 1
    if up > len(package):
        return None  # beyond the package
    return _resolve(package[:len(package) - up], node.module or "", alias.name)


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
    path = FILES[module]
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    tree = _tree(module)
    type_only = _type_checking_nodes(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                target = _target(module, node, alias)
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


def _rules_for(module: str, rules: dict[str, frozenset[str]]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for owner, targets in rules.items():
        if covers(owner, module):
            out |= targets
    return out


def _graph() -> dict[str, set[str]]:
    """module -> modules it imports (runtime or type-only); importing ``a.b`` imports ``a``."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m in MODULES:
        for i in imports_of(m):
            parts = i.module.split(".")
            for n in range(1, len(parts) + 1):
                target = ".".join(parts[:n])
                if target in FILES and target != m and not covers(m, target):
                    graph[m].add(target)
    return graph


# ------------------------------------------------------------------------------------------------


def test_the_rules_name_real_modules() -> None:
    named = set(FORBIDDEN) | set(TYPE_ONLY) | set(BASE)
    for targets in (*FORBIDDEN.values(), *TYPE_ONLY.values()):
        named |= targets
    assert sorted(named - set(MODULES) - set(PACKAGES)) == [], \
        "a rule names a module that does not exist"
    for name in CONSTRUCTED_ONLY_IN:
        assert _defined_in(name), f"{name} is not defined in src/acrawl any more"


def test_the_tree_has_its_layers() -> None:
    assert {"core", "download", "frontier", "policies", "sinks", "cli", "demo",
            "ops"} <= set(PACKAGES)


def test_the_import_parser_sees_imports() -> None:
    crawler = {i.module for i in imports_of("crawler")}
    assert {"core.engine", "download.downloader", "plugins"} <= crawler
    hookspecs = imports_of("hookspecs")
    assert hookspecs and all(i.type_only for i in hookspecs)
    # relative imports from inside a subpackage resolve to the right module
    engine = {i.module for i in imports_of("core.engine")}
    assert {"errors", "http", "core.scheduler"} <= engine


@pytest.mark.parametrize("module", MODULES)
def test_forbidden_imports(module: str) -> None:
    forbidden = _rules_for(module, FORBIDDEN)
    bad = [f"{module}:{i.line} imports {i.module}" for i in imports_of(module)
           if any(covers(rule, i.module) for rule in forbidden)]
    assert bad == []


@pytest.mark.parametrize("module", MODULES)
def test_type_only_imports(module: str) -> None:
    type_only = _rules_for(module, TYPE_ONLY)
    bad = [f"{module}:{i.line} imports {i.module} at runtime" for i in imports_of(module)
           if not i.type_only and any(covers(rule, i.module) for rule in type_only)]
    assert bad == []


def test_nothing_imports_the_cli() -> None:
    bad = [f"{m}:{i.line}" for m in MODULES if not covers("cli", m)
           for i in imports_of(m) if covers("cli", i.module)]
    assert bad == []


def test_only_the_front_ends_import_the_runner() -> None:
    bad = [f"{m}:{i.line}" for m in MODULES
           if m not in ("runner", "__init__") and not covers("cli", m)
           for i in imports_of(m) if i.module == "runner"]
    assert bad == []


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for module in MODULES:
        if module not in state:
            visit(module)
    assert [" -> ".join(c) for c in cycles] == []


@pytest.mark.parametrize("name", sorted(CONSTRUCTED_ONLY_IN))
def test_components_are_built_only_in_the_wiring(name: str) -> None:
    allowed = CONSTRUCTED_ONLY_IN[name] | _defined_in(name)
    bad = [f"{m}:{line} builds {name}" for m in MODULES if m not in allowed
           for _, line in calls_to(m, frozenset({name}))]
    assert bad == []
