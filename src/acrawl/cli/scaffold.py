"""``acrawl new NAME [DIR]`` and ``acrawl genspider NAME URL [--template basic|crawl|sitemap]``.

``new`` writes a project that installs and passes its own test at once: a pyproject.toml with
``[tool.acrawl]`` (spiders, settings) depending on ``acrawl[testing]`` (which brings pytest), a
spiders package with an example spider for the demo shop, a test using the testing kit, and a
README saying what to do next. ``genspider`` adds one spider module to the project's spiders
package. The templates are package data, in ``acrawl/cli/templates/``.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import sys
from importlib.resources import files
from pathlib import Path
from string import Template

import acrawl

from ..config import load_project
from ..errors import ConfigError
from ..urls import hostname, scheme_of
from .common import check_url, command_parser
from .project import project_spiders

__all__ = ["genspider_main", "new_main"]

TEMPLATES = files("acrawl.cli") / "templates"
#: the project files: template -> path in the project (``package`` is the package name)
PROJECT_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "gitignore.tmpl": ".gitignore",
    "package/__init__.py.tmpl": "{package}/__init__.py",
    "package/spiders/__init__.py.tmpl": "{package}/spiders/__init__.py",
    "package/spiders/example.py.tmpl": "{package}/spiders/example.py",
    "tests/test_example.py.tmpl": "tests/test_example.py",
}
SPIDER_TEMPLATES = ("basic", "crawl", "sitemap")


def _identifier(name: str, what: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or keyword.iskeyword(name):
        raise ConfigError(f"{what} {name!r} must be a Python identifier (letters, digits and "
                          "_, not starting with a digit)")
    return name


def _render(template: str, **values: str) -> str:
    return Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)


def new_main(argv: list[str]) -> int:
    p = command_parser("new", "Create a project: pyproject.toml, a spiders package with an "
                              "example spider, a test using acrawl's testing kit, a README.")
    p.add_argument("name", help="the project and its Python package (an identifier)")
    p.add_argument("directory", nargs="?", help="where to create it (default: ./NAME)")
    ns = p.parse_args(argv)
    package = _identifier(ns.name, "project name")
    if package in sys.stdlib_module_names or package in ("acrawl", "test", "tests"):
        raise ConfigError(f"project name {package!r} would shadow the module {package!r}; "
                          "pick another")
    if importlib.util.find_spec(package) is not None:
        raise ConfigError(f"project name {package!r} is the name of an installed module; "
                          "pick another")
    root = Path(ns.directory or package)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigError(f"{root} exists and is not an empty directory")
    values = {"name": ns.name, "package": package, "acrawl_version": acrawl.__version__}
    for template, target in PROJECT_FILES.items():
        path = root / target.format(package=package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_render(f"project/{template}", **values), encoding="utf-8")
    print(f"created project {ns.name!r} in {root}/ (spiders in {package}/spiders/)")
    print(f"next: cd {root} && pip install -e . && python -m pytest   (see {root}/README.md)")
    return 0


def _spiders_dir(root: Path, module: str) -> Path:
    rel = Path(*module.split("."))
    for base in (root / "src", root):
        if (base / rel).is_dir():
            return base / rel
        if (base / rel).with_suffix(".py").is_file():
            raise ConfigError(f"{module} is a module, not a package: genspider adds one file "
                              f"per spider to a package (make {rel} a folder with an "
                              "__init__.py)")
    raise ConfigError(f"the spiders package {module} of [tool.acrawl] spiders is not in "
                      f"{root} (looked for {rel}/ and src/{rel}/)")


def genspider_main(argv: list[str]) -> int:
    p = command_parser("genspider", "Add a spider to the project's spiders package (the first "
                                    "module of [tool.acrawl] spiders).")
    p.add_argument("name", help="the spider's name and module (an identifier)")
    p.add_argument("url", help="its start URL (a bare host means https://HOST/)")
    p.add_argument("-t", "--template", choices=SPIDER_TEMPLATES, default="basic",
                   help="basic (the default), crawl (CrawlSpider rules) or sitemap")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    ns = p.parse_args(argv)
    name = _identifier(ns.name, "spider name")
    url = ns.url if scheme_of(ns.url) else f"https://{ns.url}"
    url = check_url(url if "/" in url.split("://", 1)[1] else url + "/")
    if ns.template == "crawl" and not hasattr(acrawl, "CrawlSpider"):
        raise ConfigError("the crawl template needs acrawl.CrawlSpider, which this acrawl "
                          "does not have")
    project = load_project()
    if project is None or not project.spider_modules:
        raise ConfigError("no project here: run genspider inside a project made by acrawl new "
                          "(a pyproject.toml with [tool.acrawl] spiders)")
    folder = _spiders_dir(project.root, project.spider_modules[0])
    path = folder / f"{name}.py"
    if path.exists() and not ns.force:
        raise ConfigError(f"{path} exists (--force replaces it)")
    existing = project_spiders().get(name)
    if existing and not (ns.force and all(c.__module__.endswith("." + name) for c in existing)):
        raise ConfigError(f"the project has a spider named {name!r} already "
                          f"({existing[0].__module__}.{existing[0].__qualname__})")
    host = hostname(url)
    origin = url.split("://", 1)[0] + "://" + url.split("://", 1)[1].split("/", 1)[0]
    cls = "".join(part.capitalize() for part in name.split("_") if part) + "Spider"
    path.write_text(_render(f"spider/{ns.template}.py.tmpl", name=name, url=url, host=host,
                            origin=origin, cls=cls), encoding="utf-8")
    print(f"created {path} (spider {name!r}, template {ns.template})")
    if ns.template == "sitemap" and importlib.util.find_spec("acrawl_sitemap") is None:
        print("note: the sitemap template needs the acrawl-sitemap plugin "
              "(pip install acrawl-sitemap)", file=sys.stderr)
    print(f"try: acrawl parse {url} --spider {name}")
    return 0
