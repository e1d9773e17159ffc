"""``acrawl new`` and ``acrawl genspider``: a newcomer's project installs offline and passes
its own tests; generated spiders run."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

import pytest
from e2e_support import Runner, assert_ok, assert_usage_error, base_env, describe

import acrawl

MAIN = "import sys; from acrawl.cli.acrawl import main; sys.exit(main())"


def _fresh_venv(where: Path) -> Path:
    """A new venv that sees this one's packages (as ``--system-site-packages`` would see the
    system's): acrawl and its dependencies are installed, nothing is downloaded."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site_dir = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                               "get_paths()['purelib'])"], check=True, capture_output=True,
                              text=True).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(site_dir, "outer.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


@pytest.mark.slow
def test_a_newcomer_project_installs_and_passes_its_tests(tmp_path: Path) -> None:
    """acrawl new shop && cd shop && pip install -e . && acrawl genspider books URL &&
    python -m pytest — in a venv of its own, offline."""
    python = _fresh_venv(tmp_path / "venv")
    env = base_env()

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, describe(result)
        return result

    run("-c", MAIN, "new", "shop", cwd=tmp_path)
    project = tmp_path / "shop"
    # offline: no index; the build backend is the one installed (pip would fetch it otherwise)
    run("-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", "-e", ".",
        cwd=project)
    listed = run("-m", "pip", "list", cwd=project).stdout
    assert any(line.split()[:2] == ["shop", "0.1.0"] for line in listed.splitlines()), listed
    run("-c", MAIN, "genspider", "books", "http://127.0.0.1:8000/", cwd=project)
    assert (project / "shop" / "spiders" / "books.py").is_file()
    result = run("-m", "pytest", "-p", "no:cacheprovider", cwd=project)
    assert "2 passed" in result.stdout, result.stdout
    spiders = run("-c", MAIN, "run", "--list", cwd=tmp_path / "shop" / "tests").stdout
    assert "books                shop.spiders.books.BooksSpider" in spiders
    assert "example              shop.spiders.example.ExampleSpider" in spiders


def test_new_writes_the_project(dev: Runner, tmp_path: Path) -> None:
    result = dev.run("new", "shop")
    assert_ok(result)
    root = tmp_path / "shop"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        ".gitignore", "README.md", "pyproject.toml", "shop/__init__.py",
        "shop/spiders/__init__.py", "shop/spiders/example.py", "tests/test_example.py"]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    assert config["project"]["dependencies"] == [f"acrawl[testing]>={acrawl.__version__}"]
    assert config["tool"]["acrawl"] == {"spiders": ["shop.spiders"],
                                        "settings": {"concurrency": 8}}
    readme = (root / "README.md").read_text()
    for step in ("pip install -e .", "python -m pytest", "acrawl genspider", "acrawl shell",
                 "acrawl parse", "acrawl check", "acrawl-run"):
        assert step in readme, step
    assert "cd shop && pip install -e . && python -m pytest" in result.stdout
    assert_ok(dev.run("new", "other", "elsewhere/place"))
    assert (tmp_path / "elsewhere" / "place" / "other" / "spiders" / "example.py").is_file()


def test_new_refuses(dev: Runner, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("")
    assert_usage_error(dev.run("new", "taken"), "taken exists")
    assert_usage_error(dev.run("new", "my-shop"), "Python identifier")
    assert_usage_error(dev.run("new", "class"), "Python identifier")
    assert_usage_error(dev.run("new", "json"), "shadow", "json")
    assert_usage_error(dev.run("new", "aiohttp"), "installed module")
    assert_usage_error(dev.run("new"), "name")


def test_genspider_writes_a_spider_that_runs(dev: Runner, tmp_path: Path,
                                             acrawl_site: Any) -> None:
    site = acrawl_site({"/": '<title>Home</title><a href="/a">a</a>', "/a": "<title>A</title>"})
    assert_ok(dev.run("new", "shop", "."))
    result = dev.run("genspider", "pages", site.url("/"))
    assert_ok(result)
    source = (tmp_path / "shop" / "spiders" / "pages.py").read_text()
    assert "class PagesSpider(acrawl.Spider):" in source
    assert f'start_urls = ["{site.url("/")}"]' in source
    assert 'allowed_hosts = ["127.0.0.1"]' in source
    parsed = dev.run("parse", site.url("/"), "--spider", "pages")
    assert_ok(parsed)
    item = json.dumps({"url": site.url("/"), "title": "Home"})
    assert f"    {item}" in parsed.stdout.splitlines()
    assert f"{site.url('/a')}  (callback=parse) -> scheduled" in parsed.stdout
    assert "books" not in dev.run("run", "--list").stdout
    assert "pages" in dev.run("run", "--list").stdout
    # a bare host is https://HOST/
    assert_ok(dev.run("genspider", "far", "example.com"))
    assert 'start_urls = ["https://example.com/"]' in (
        tmp_path / "shop" / "spiders" / "far.py").read_text()


def test_genspider_templates(dev: Runner, tmp_path: Path) -> None:
    assert_ok(dev.run("new", "shop", "."))
    result = dev.run("genspider", "maps", "http://127.0.0.1:8000/", "--template", "sitemap")
    assert_ok(result)
    source = (tmp_path / "shop" / "spiders" / "maps.py").read_text()
    assert 'sitemap_urls = ["http://127.0.0.1:8000/robots.txt"]' in source
    crawl = dev.run("genspider", "rules", "http://127.0.0.1:8000/", "-t", "crawl")
    if hasattr(acrawl, "CrawlSpider"):  # CrawlSpider/Rule/LinkExtractor are another branch's
        assert_ok(crawl)
        listed = dev.run("run", "--list")
        assert "rules                shop.spiders.rules.RulesSpider" in listed.stdout, listed
    else:
        assert_usage_error(crawl, "crawl template", "acrawl.CrawlSpider")
        assert not (tmp_path / "shop" / "spiders" / "rules.py").exists()
    assert "maps                 shop.spiders.maps.MapsSpider" in dev.run("run", "--list").stdout


def test_genspider_refuses(dev: Runner, tmp_path: Path) -> None:
    assert_usage_error(dev.run("genspider", "books", "http://127.0.0.1:8000/"),
                       "no project here", "acrawl new")
    assert_ok(dev.run("new", "shop", "."))
    assert_usage_error(dev.run("genspider", "example", "http://127.0.0.1:8000/"),
                       "example.py exists")
    assert_ok(dev.run("genspider", "books", "http://127.0.0.1:8000/"))
    assert_usage_error(dev.run("genspider", "books", "http://127.0.0.1:8000/"), "exists",
                       "--force")
    assert_ok(dev.run("genspider", "books", "http://127.0.0.1:9000/", "--force"))
    assert_usage_error(dev.run("genspider", "bad-name", "http://127.0.0.1:8000/"),
                       "Python identifier")
    assert_usage_error(dev.run("genspider", "ok", "ftp://127.0.0.1/"), "not an http(s) URL")
    assert_usage_error(dev.run("genspider", "ok", "http://127.0.0.1/", "-t", "fancy"),
                       "--template", "fancy")
    (tmp_path / "shop" / "spiders" / "other.py").write_text(
        "import acrawl\n\nclass X(acrawl.Spider):\n    name = 'taken'\n")
    assert_usage_error(dev.run("genspider", "taken", "http://127.0.0.1:8000/"),
                       "spider named 'taken' already", "shop.spiders.other.X")
