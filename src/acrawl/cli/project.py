"""Finding spiders: built-ins, a ``.py`` file, or the modules named in ``[tool.acrawl]``.

``acrawl-run NAME`` looks, in order, for a path to a ``.py`` file, a spider ``name`` in the
modules (and packages, with every module under them) listed by the nearest ``pyproject.toml``
(from the current directory upwards), then a built-in spider::

    [tool.acrawl]
    spiders = ["myproj.spiders"]

Reading the configuration itself is :mod:`acrawl.config`'s job.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import os
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from ..config import CONFIG_KEYS, find_config, load_project
from ..demo.spiders import BUILTIN_SPIDERS
from ..errors import ConfigError
from ..settings import DEFAULT_SETTINGS, Layer
from ..spider import Spider

__all__ = ["CONFIG_KEYS", "find_config", "find_spider", "list_spiders", "project_settings",
           "project_spiders"]

logger = logging.getLogger(__name__)


def _spiders_in(module: ModuleType) -> list[type[Spider]]:
    return [
        obj for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Spider) and obj is not Spider and obj.__module__ == module.__name__
    ]


def _spiders_in_tree(module: ModuleType, root: Path) -> list[type[Spider]]:
    """The spiders of ``module`` and, if it is a package, of every module under it (as
    Scrapy's ``SPIDER_MODULES``): ``acrawl genspider`` adds one file per spider."""
    found = _spiders_in(module)
    for info in pkgutil.iter_modules(getattr(module, "__path__", ()), module.__name__ + "."):
        found.extend(_spiders_in_tree(_import(info.name, root), root))
    return found


def _import(modname: str, root: Path) -> ModuleType:
    for path in (root / "src", root):
        if path.is_dir() and str(path) not in sys.path:
            sys.path.insert(0, str(path))
    try:
        return importlib.import_module(modname)
    except Exception as exc:
        raise ConfigError(f"cannot import spider module {modname!r}: "
                          f"{type(exc).__name__}: {exc}") from None


def _load_file(path: Path) -> ModuleType:
    name = f"acrawl_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load spider file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(f"cannot load spider file {path}: {type(exc).__name__}: {exc}") from None
    return module


def _where(cls: type[Spider]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def project_spiders() -> dict[str, list[type[Spider]]]:
    """``name -> classes`` of the spiders in the project's modules; more than one class for
    a name is a conflict, reported when that name is run (and shown by ``--list``)."""
    project = load_project()
    if project is None:
        return {}
    unknown = sorted(set(project.table) - CONFIG_KEYS)
    if unknown:
        settings = sorted(k for k in unknown if k in {s.name for s in DEFAULT_SETTINGS})
        hint = (f"; {', '.join(settings)} belong{'s' if len(settings) == 1 else ''} in "
                "[tool.acrawl.settings]") if settings else ""
        logger.warning("%s: unknown key%s in [tool.acrawl]: %s (known: %s%s)", project.path,
                       "s" if len(unknown) > 1 else "", ", ".join(unknown),
                       ", ".join(sorted(CONFIG_KEYS)), hint)
    out: dict[str, list[type[Spider]]] = {}
    for modname in project.spider_modules:
        for cls in _spiders_in_tree(_import(modname, project.root), project.root):
            if cls.name:
                classes = out.setdefault(cls.name, [])
                if cls not in classes:  # a module listed twice
                    classes.append(cls)
    return out


def project_settings() -> Layer | None:
    """``[tool.acrawl.settings]`` of the project found from here, as a settings layer."""
    project = load_project()
    return None if project is None else project.settings_layer()


def list_spiders() -> dict[str, str]:
    """``name -> where`` for every spider ``acrawl-run`` can find from here."""
    out = {name: "built-in" for name in BUILTIN_SPIDERS}
    for name, classes in project_spiders().items():
        out[name] = (_where(classes[0]) if len(classes) == 1 else
                     "CONFLICT: " + " and ".join(_where(c) for c in classes))
    return out


def _spider_file(ref: str) -> type[Spider]:
    path = Path(ref)
    if path.is_dir():
        raise ConfigError(f"{ref} is a directory, not a spider file (give a .py file or a "
                          "spider name; see acrawl-run --list)")
    if not path.is_file():
        raise ConfigError(f"spider file not found: {ref}")
    if path.suffix != ".py":
        raise ConfigError(f"{ref} is not a .py file (a spider file is Python source named "
                          "*.py)")
    classes = _spiders_in(_load_file(path.resolve()))
    if not classes:
        raise ConfigError(f"no acrawl.Spider subclass in {ref}")
    if len(classes) > 1:
        names = ", ".join(sorted(c.name or c.__name__ for c in classes))
        raise ConfigError(f"{ref} holds several spiders ({names}); keep one per file "
                          "or list the module in [tool.acrawl] spiders")
    return classes[0]


def find_spider(ref: str) -> type[Spider]:
    """The spider class ``ref`` names; ConfigError (with the known names) if none."""
    if ref.endswith(".py") or "/" in ref or os.sep in ref:
        return _spider_file(ref)
    project = project_spiders()
    if ref in project:
        classes = project[ref]
        if len(classes) > 1:
            raise ConfigError(f"spider name {ref!r} is used by several classes: "
                              f"{' and '.join(_where(c) for c in classes)} (a name must be "
                              "unique among the [tool.acrawl] spiders modules)")
        return classes[0]
    if ref in BUILTIN_SPIDERS:
        return BUILTIN_SPIDERS[ref]
    if Path(ref).exists():  # a file or folder here, named without ".py" or a slash
        return _spider_file(ref)
    known = ", ".join(sorted({*BUILTIN_SPIDERS, *project}))
    raise ConfigError(f"unknown spider {ref!r} (known: {known}; see acrawl-run --list)")
