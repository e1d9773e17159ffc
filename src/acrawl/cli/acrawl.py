"""``acrawl COMMAND [options]``: the developer's loop around a spider.

::

    acrawl run SPIDER ...          the same as acrawl-run SPIDER ... (the same code)
    acrawl new NAME                a project: pyproject.toml, a spiders package, a test
    acrawl genspider NAME URL      a spider file in the project's spiders package
    acrawl shell [URL] [-c EXPR]   fetch, then a Python shell with response, fetch(), view()
    acrawl fetch URL               the body (or --headers) as the crawl would download it
    acrawl parse URL --spider S    run a callback on URL; print the items and requests
    acrawl check [SPIDER]          run the callbacks' docstring contracts
    acrawl settings [--get NAME]   the effective settings, and where each came from
    acrawl explain URL             why URL would be fetched or not, rule by rule

Each subcommand module is imported only when it runs. Exit codes: 0 done, 1 the command ran
but failed (a contract failed, the URL could not be fetched), 2 usage or configuration error
(one line, no traceback), 130 interrupted.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Callable, Sequence

from ..version import __version__

__all__ = ["COMMANDS", "main"]

#: command -> (module in acrawl.cli, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("main", "main", "run a spider (the same as acrawl-run)"),
    "new": ("scaffold", "new_main", "create a project: pyproject.toml, spiders, a test"),
    "genspider": ("scaffold", "genspider_main", "add a spider to the project"),
    "shell": ("shell", "shell_main", "fetch a URL and explore the response in Python"),
    "fetch": ("inspect", "fetch_main", "download a URL as a crawl would; print the body"),
    "parse": ("inspect", "parse_main", "run a spider callback on a URL; print its output"),
    "check": ("check", "check_main", "run the callbacks' docstring contracts"),
    "settings": ("settings_cmd", "settings_main", "show the effective settings"),
    "explain": ("explain", "explain_main", "why a URL would be fetched or not"),
}


def _usage() -> str:
    lines = ["usage: acrawl COMMAND [options]   (acrawl COMMAND --help for its options)", "",
             "commands:"]
    lines += [f"  {name:10} {text}" for name, (_, _, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("acrawl: error: which command? (" + ", ".join(COMMANDS) +
              "; see acrawl --help)", file=sys.stderr)
        return 2
    command, rest = args[0], args[1:]
    if command in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if command == "--version":
        print(f"acrawl {__version__}")
        return 0
    if command not in COMMANDS:
        close = difflib.get_close_matches(command, list(COMMANDS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        print(f"acrawl: error: unknown command {command!r} ({hint}commands: "
              f"{', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    modname, funcname, _ = COMMANDS[command]
    func: Callable[[list[str]], int] = getattr(
        importlib.import_module(f"{__package__}.{modname}"), funcname)
    if command == "run":
        return func(rest)  # acrawl-run itself: its own messages and exit codes
    from .common import report

    try:
        return func(rest)
    except KeyboardInterrupt:
        print(f"acrawl {command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # acrawl fetch URL | head: the reader is gone; say nothing
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        return report(f"acrawl {command}", exc)
