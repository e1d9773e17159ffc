"""``[tool.acrawl.settings]``: the project's settings layer, between the defaults and the
spider's ``settings``, validated as ``-s`` is (``acrawl-run``; ``acrawl settings`` shows it)."""

from __future__ import annotations

from pathlib import Path

from e2e_support import Runner, assert_ok, assert_usage_error, read_jsonl, write_module

from acrawl.demo.site import LinkSite

SPIDER = """
    import acrawl

    class Pages(acrawl.Spider):
        name = "pages"
        follow_links = True
        settings = {SETTINGS}

        def parse(self, response):
            yield {{"url": response.url}}
"""


def _project(root: Path, settings: str, spider_settings: str = "{}") -> None:
    write_module(root, "pyproject.toml", f"""
        [tool.acrawl]
        spiders = ["proj.spiders"]

        [tool.acrawl.settings]
        {settings}
    """)
    write_module(root, "proj/__init__.py", "")
    write_module(root, "proj/spiders.py", SPIDER.format(SETTINGS=spider_settings))


def test_project_settings_apply_to_acrawl_run(acrawl: Runner, tmp_path: Path, serve) -> None:
    srv = serve(LinkSite(pages=30))
    _project(tmp_path, "max_pages = 4\nobey_robots = false")
    result = acrawl.run("pages", "-a", f"start_urls={srv.base_url}/", "-o", "o.jsonl")
    assert_ok(result)
    assert len(read_jsonl(tmp_path / "o.jsonl")) == 4
    assert srv.hits[f"{srv.base_url}/robots.txt"] == 0  # obey_robots = false, from the project


def test_spider_settings_override_the_project_and_the_command_line_both(
        acrawl: Runner, tmp_path: Path, serve) -> None:
    srv = serve(LinkSite(pages=30))
    _project(tmp_path, "max_pages = 4", spider_settings='{"max_pages": 6}')
    url = f"start_urls={srv.base_url}/"
    assert_ok(acrawl.run("pages", "-a", url, "-o", "spider.jsonl"))
    assert len(read_jsonl(tmp_path / "spider.jsonl")) == 6
    assert_ok(acrawl.run("pages", "-a", url, "--max-pages", "2", "-o", "cli.jsonl"))
    assert len(read_jsonl(tmp_path / "cli.jsonl")) == 2


def test_a_bad_project_setting_is_a_usage_error_naming_the_file(acrawl: Runner,
                                                                tmp_path: Path) -> None:
    _project(tmp_path, 'timeout = "soon"')
    result = acrawl.run("pages", "-a", "start_urls=http://127.0.0.1:9/")
    line = assert_usage_error(result, "pyproject.toml", "[tool.acrawl.settings]", "timeout",
                              "soon")
    assert "finite number" in line
    _project(tmp_path, "concurency = 3")
    assert_usage_error(acrawl.run("pages", "-a", "start_urls=http://127.0.0.1:9/"),
                       "[tool.acrawl.settings]", "concurency", "did you mean 'concurrency'")


def test_project_settings_must_be_a_table(acrawl: Runner, tmp_path: Path) -> None:
    write_module(tmp_path, "pyproject.toml", """
        [tool.acrawl]
        spiders = []
        settings = 3
    """)
    assert_usage_error(acrawl.run("links", "-a", "url=http://127.0.0.1:9/"),
                       "[tool.acrawl.settings]", "table")


def test_the_settings_key_is_not_warned_about(acrawl: Runner, tmp_path: Path, serve) -> None:
    srv = serve(LinkSite(pages=3))
    _project(tmp_path, "obey_robots = false")
    result = acrawl.run("pages", "-a", f"start_urls={srv.base_url}/", "--list")
    assert_ok(result)
    assert "unknown key" not in result.stderr
