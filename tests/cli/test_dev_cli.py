"""``acrawl``: the command and its subcommands' shared behaviour; ``acrawl run`` is
``acrawl-run``."""

from __future__ import annotations

from pathlib import Path

from e2e_support import Runner, assert_ok, assert_usage_error, read_jsonl

from acrawl.demo.site import LinkSite


def test_no_command_and_an_unknown_one_are_usage_errors(dev: Runner) -> None:
    assert_usage_error(dev.run(), "which command?", "run", "explain")
    assert_usage_error(dev.run("chek"), "unknown command 'chek'", "did you mean 'check'")


def test_help_lists_every_command(dev: Runner) -> None:
    result = dev.run("--help")
    assert_ok(result)
    for command in ("run", "new", "genspider", "shell", "fetch", "parse", "check", "settings",
                    "explain"):
        assert f"  {command} " in result.stdout, result.stdout
    assert dev.run("--version").stdout.startswith("acrawl ")


def test_a_subcommand_option_error_is_one_line_naming_the_command(dev: Runner) -> None:
    assert_usage_error(dev.run("fetch", "--no-such-option", "http://127.0.0.1:9/"),
                       "acrawl fetch:", "--no-such-option")
    assert_usage_error(dev.run("settings", "-s", "concurrency=zero"), "acrawl settings:",
                       "concurrency", "zero")


def test_acrawl_run_is_acrawl_run(dev: Runner, acrawl: Runner, tmp_path: Path, serve) -> None:
    srv = serve(LinkSite(pages=12))
    args = ("links", "-a", f"url={srv.base_url}/", "--no-progress")
    one = dev.run("run", *args, "-o", "dev.jsonl")
    other = acrawl.run(*args, "-o", "run.jsonl")
    assert_ok(one)
    assert_ok(other)
    urls = sorted(i["url"] for i in read_jsonl(tmp_path / "dev.jsonl"))
    assert urls == sorted(i["url"] for i in read_jsonl(tmp_path / "run.jsonl"))
    assert len(urls) == 12
    assert dev.run("run", "--list").stdout == acrawl.run("--list").stdout
    # the same messages and exit codes, from the same code
    assert dev.run("run", "nope").stderr == acrawl.run("nope").stderr
    assert dev.run("run", "nope").returncode == 2
