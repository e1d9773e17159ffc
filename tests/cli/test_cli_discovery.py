"""Finding spiders: ``[tool.acrawl]`` in pyproject.toml (from a subdirectory), ``.py`` files,
built-ins, ``--list``, and the one-line errors for unknown or broken spiders."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import PagesSite, Runner, assert_ok, assert_usage_error, read_jsonl, write_module

SPIDERS = '''
    import acrawl

    class Shopper(acrawl.Spider):
        name = "shopper"

        def __init__(self, url, **kwargs):
            super().__init__(**kwargs)
            self.start_urls = [url]
            self.allowed_hosts = ["127.0.0.1"]

        async def parse(self, response):
            yield {"spider": self.name, "url": response.url,
                   "title": response.css("title::text").get(),
                   "color": getattr(self, "color", None)}
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)

    class Other(acrawl.Spider):
        name = "other-one"

        def parse(self, response):
            return None
'''

PYPROJECT = '''
    [project]
    name = "myproj"
    version = "0"

    [tool.acrawl]
    spiders = ["{module}"]
'''


@pytest.fixture
def small_site(serve) -> str:
    site = PagesSite({
        "/": "<html><title>Home</title><a href='/a'>a</a> <a href='b'>b</a></html>",
        "/a": "<html><title>A</title><a href='/'>home</a></html>",
        "/b": "<html><title>B</title></html>",
    })
    return serve(site).base_url


def _project(root: Path, layout: str) -> Path:
    pkg = root / "src" / "myproj" if layout == "src" else root / "myproj"
    write_module(pkg, "__init__.py", "")
    write_module(pkg, "spiders.py", SPIDERS)
    write_module(root, "pyproject.toml", PYPROJECT.format(module="myproj.spiders"))
    sub = root / "data" / "deeper"
    sub.mkdir(parents=True)
    return sub


@pytest.mark.parametrize("layout", ["flat", "src"])
def test_project_spider_found_from_a_subdirectory(acrawl: Runner, tmp_path: Path,
                                                  small_site: str, layout: str) -> None:
    sub = _project(tmp_path / "proj", layout)
    listed = acrawl.run("--list", cwd=sub)
    assert_ok(listed)
    names = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    assert {"shopper", "other-one", "demo", "links", "bench"} <= names, listed.stdout
    result = acrawl.run("shopper", "-a", f"url={small_site}/", "-a", "color=teal",
                        "-o", "out.jsonl", cwd=sub)
    assert_ok(result)
    items = read_jsonl(sub / "out.jsonl")
    assert {it["url"] for it in items} == {small_site + "/", small_site + "/a",
                                           small_site + "/b"}
    assert {it["spider"] for it in items} == {"shopper"}
    assert {it["color"] for it in items} == {"teal"}


def test_list_outside_a_project_shows_builtins_only(acrawl: Runner, tmp_path: Path) -> None:
    result = acrawl.run("--list")
    assert_ok(result)
    names = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert names >= {"demo", "links", "bench"}
    assert "shopper" not in names


def test_unknown_spider(acrawl: Runner, tmp_path: Path) -> None:
    assert_usage_error(acrawl.run("no-such-spider"), "no-such-spider")
    sub = _project(tmp_path / "proj", "flat")
    line = assert_usage_error(acrawl.run("shoper", cwd=sub), "shoper")
    assert "shopper" in line, "the known names should be listed"


def test_no_spider_given(acrawl: Runner) -> None:
    assert_usage_error(acrawl.run())


@pytest.mark.parametrize("how", ["bare", pytest.param("dotslash", marks=pytest.mark.slow),
                                 "absolute", "subdir"])
def test_spider_given_as_a_py_file(acrawl: Runner, tmp_path: Path, small_site: str,
                                   how: str) -> None:
    folder = tmp_path / "spiders" if how == "subdir" else tmp_path
    write_module(folder, "helper_mod.py", "COLOR = 'from-helper'\n")
    path = write_module(folder, "shop_spider.py", '''
        import acrawl
        from helper_mod import COLOR   # a sibling module of the spider file

        class FileSpider(acrawl.Spider):
            name = "filespider"
            allowed_hosts = ["127.0.0.1"]

            def start_requests(self):
                yield acrawl.Request(self.url)

            def parse(self, response):
                yield {"url": response.url, "color": COLOR, "name": self.name}
    ''')
    ref = {"bare": "shop_spider.py", "dotslash": "./shop_spider.py", "absolute": str(path),
           "subdir": "spiders/shop_spider.py"}[how]
    result = acrawl.run(ref, "-a", f"url={small_site}/", "-o", "out.jsonl")
    assert_ok(result)
    items = read_jsonl(tmp_path / "out.jsonl")
    assert items == [{"url": small_site + "/", "color": "from-helper", "name": "filespider"}]


def test_py_file_that_does_not_exist(acrawl: Runner) -> None:
    assert_usage_error(acrawl.run("missing_spider.py"), "missing_spider.py")


def test_py_file_without_a_spider(acrawl: Runner, tmp_path: Path) -> None:
    write_module(tmp_path, "empty.py", "X = 1\n")
    assert_usage_error(acrawl.run("empty.py"), "empty.py")


def test_py_file_with_a_syntax_error(acrawl: Runner, tmp_path: Path) -> None:
    write_module(tmp_path, "broken.py", "import acrawl\n\nclass S(acrawl.Spider:\n    pass\n")
    assert_usage_error(acrawl.run("broken.py"), "broken.py")


def test_py_file_raising_on_import(acrawl: Runner, tmp_path: Path) -> None:
    write_module(tmp_path, "raising.py", "import acrawl\nraise ImportError('no lxml here')\n")
    assert_usage_error(acrawl.run("raising.py"), "raising.py")


def test_project_spider_module_with_a_syntax_error(acrawl: Runner, tmp_path: Path) -> None:
    sub = _project(tmp_path / "proj", "flat")
    write_module(tmp_path / "proj" / "myproj", "spiders.py", "def broken(:\n    pass\n")
    assert_usage_error(acrawl.run("shopper", cwd=sub), "myproj.spiders")
    assert_usage_error(acrawl.run("--list", cwd=sub), "myproj.spiders")
    # even a built-in is not run past a broken project configuration silently with a traceback
    result = acrawl.run("links", "-a", "url=http://127.0.0.1:9/", cwd=sub)
    assert "Traceback" not in result.stderr


def test_project_spider_module_that_does_not_exist(acrawl: Runner, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_module(root, "pyproject.toml", PYPROJECT.format(module="nowhere.spiders"))
    assert_usage_error(acrawl.run("--list", cwd=root), "nowhere.spiders")


def test_unreadable_pyproject(acrawl: Runner, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_module(root, "pyproject.toml", "[tool.acrawl\nspiders = [\n")
    (root / "sub").mkdir()
    assert_usage_error(acrawl.run("--list", cwd=root / "sub"), "pyproject.toml")


def test_bad_spiders_value_in_pyproject(acrawl: Runner, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_module(root, "pyproject.toml", "[tool.acrawl]\nspiders = 3\n")
    assert_usage_error(acrawl.run("--list", cwd=root), "spiders")


@pytest.mark.parametrize("ref", ["somedir", "somedir/", "./somedir", "pkg.py"])
def test_a_directory_is_not_a_spider_file(acrawl: Runner, tmp_path: Path, ref: str) -> None:
    """Not "spider file not found": it is there, but it is a directory."""
    (tmp_path / "somedir").mkdir()
    (tmp_path / "pkg.py").mkdir()
    line = assert_usage_error(acrawl.run(ref), ref, "is a directory")
    assert "not found" not in line


def test_a_file_that_is_not_python_source(acrawl: Runner, tmp_path: Path) -> None:
    write_module(tmp_path, "spider.txt", "import acrawl\n")
    assert_usage_error(acrawl.run("spider.txt"), "spider.txt", "not a .py file")


def test_a_stray_file_does_not_shadow_a_built_in_spider(acrawl: Runner, tmp_path: Path,
                                                        small_site: str) -> None:
    """A file called ``links`` in the current directory (no ``.py``, no slash: a name, not a
    path) is not taken for the spider file."""
    (tmp_path / "links").write_text("not python\n")
    result = acrawl.run("links", "-a", f"url={small_site}/", "-o", "out.jsonl")
    assert_ok(result)
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 3


def _two_modules_one_name(root: Path) -> None:
    write_module(root / "myproj", "__init__.py", "")
    write_module(root / "myproj", "spiders.py", SPIDERS)
    write_module(root / "myproj", "more.py", '''
        import acrawl

        class ShopperToo(acrawl.Spider):
            name = "shopper"

            def parse(self, response):
                return None
    ''')
    write_module(root, "pyproject.toml", '''
        [tool.acrawl]
        spiders = ["myproj.spiders", "myproj.more"]
    ''')


def test_two_spiders_with_one_name_is_an_error_naming_both(acrawl: Runner, tmp_path: Path,
                                                           small_site: str) -> None:
    """The first one used to win silently, and ``--list`` showed only it."""
    root = tmp_path / "proj"
    _two_modules_one_name(root)
    result = acrawl.run("shopper", "-a", f"url={small_site}/", cwd=root)
    assert_usage_error(result, "'shopper'", "myproj.spiders.Shopper", "myproj.more.ShopperToo")
    listed = acrawl.run("--list", cwd=root)
    assert_ok(listed)
    [line] = [ln for ln in listed.stdout.splitlines() if ln.split()[0] == "shopper"]
    assert "myproj.spiders.Shopper" in line and "myproj.more.ShopperToo" in line, line
    assert "conflict" in line.lower()
    # the other spiders of the project still run
    assert_ok(acrawl.run("other-one", cwd=root))


def test_unknown_config_keys_are_a_one_line_warning(acrawl: Runner, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _project(root, "flat")
    write_module(root, "pyproject.toml", '''
        [tool.acrawl]
        spiders = ["myproj.spiders"]
        spider = ["myproj.other"]
        concurrency = 4
    ''')
    result = acrawl.run("--list", cwd=root)
    assert_ok(result)
    assert "shopper" in result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "WARNING" in lines[0] and "pyproject.toml" in lines[0]
    assert "concurrency, spider" in lines[0] and "known: settings, spiders" in lines[0], lines[0]
    assert "concurrency belongs in [tool.acrawl.settings]" in lines[0], lines[0]


def test_a_spiders_package_is_searched_module_by_module(acrawl: Runner, tmp_path: Path) -> None:
    """``spiders = ["proj.spiders"]`` naming a package finds the spiders of every module
    under it (one file per spider, as ``acrawl genspider`` writes them), as Scrapy's
    ``SPIDER_MODULES`` does."""
    root = tmp_path / "proj"
    write_module(root, "pyproject.toml", '[tool.acrawl]\nspiders = ["proj.spiders"]\n')
    write_module(root, "proj/__init__.py", "")
    write_module(root, "proj/spiders/__init__.py", "")
    for name in ("alpha", "beta"):
        write_module(root, f"proj/spiders/{name}.py", f"""
            import acrawl

            class S(acrawl.Spider):
                name = "{name}"
        """)
    write_module(root, "proj/spiders/more/__init__.py", "")
    write_module(root, "proj/spiders/more/gamma.py", """
        import acrawl

        class G(acrawl.Spider):
            name = "gamma"
    """)
    result = acrawl.run("--list", cwd=root)
    assert_ok(result)
    for name, where in (("alpha", "proj.spiders.alpha.S"), ("beta", "proj.spiders.beta.S"),
                        ("gamma", "proj.spiders.more.gamma.G")):
        assert any(line.split() == [name, where] for line in result.stdout.splitlines()), \
            result.stdout
    write_module(root, "proj/spiders/broken.py", "import no_such_module_here\n")
    assert_usage_error(acrawl.run("alpha", cwd=root), "proj.spiders.broken",
                       "no_such_module_here")
