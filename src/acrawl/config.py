"""The project's configuration: the ``[tool.acrawl]`` table of the nearest ``pyproject.toml``.

>>> project = load_project()            # from the current directory upwards; None if none
>>> project.spider_modules, project.settings_layer()

::

    [tool.acrawl]
    spiders = ["myproj.spiders"]          # where ``acrawl-run NAME`` looks for spiders

    [tool.acrawl.settings]                # a settings layer: above the defaults, below the
    concurrency = 32                      # spider's ``settings`` and the command line
    obey_robots = true

Used by the command line (spider lookup, the project settings layer) and by the testing kit
(the same layer in ``acrawl.testing.crawl``, the spider modules whose contracts pytest collects).
Reading a broken file is a :class:`~acrawl.errors.ConfigError`, one line.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import attrs

from .errors import ConfigError
from .settings import Layer

__all__ = ["CONFIG_KEYS", "Project", "find_config", "load_project"]

#: the keys ``[tool.acrawl]`` may hold; others are warned about
CONFIG_KEYS = frozenset({"settings", "spiders"})


def find_config(start: Path | None = None) -> tuple[Path, dict[str, object]] | None:
    """The nearest ``pyproject.toml`` with a ``[tool.acrawl]`` table, and that table."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {candidate}: {exc}") from None
        table = data.get("tool", {}).get("acrawl")
        if isinstance(table, dict):
            return candidate, table
    return None


@attrs.frozen
class Project:
    """A ``pyproject.toml`` with a ``[tool.acrawl]`` table."""

    path: Path
    table: dict[str, Any]

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def spider_modules(self) -> list[str]:
        """The modules ``[tool.acrawl] spiders`` lists (a single string is one module)."""
        modules = self.table.get("spiders", [])
        if isinstance(modules, str):
            modules = [modules]
        if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
            raise ConfigError(f"{self.path}: [tool.acrawl] spiders must be a list of module names")
        return modules

    def settings_layer(self) -> Layer:
        """``[tool.acrawl.settings]`` as the ``"project"`` settings layer (validated with the
        others by :meth:`acrawl.settings.Settings.build`, errors naming this file)."""
        values = self.table.get("settings", {})
        where = f"{self.path} [tool.acrawl.settings]"
        if not isinstance(values, dict):
            raise ConfigError(f"{where} must be a table of setting names to values")
        return Layer("project", values, where=where)


def load_project(start: Path | None = None) -> Project | None:
    """The project found from ``start`` (default: the current directory) upwards, or None."""
    found = find_config(start)
    return None if found is None else Project(found[0], dict(found[1]))
