"""``acrawl check [SPIDER]``: run the contracts in the spiders' callback docstrings.

Each callback with an ``@url`` is run on that URL, fetched as a crawl would fetch it, and its
output checked against its ``@returns`` and ``@scrapes`` lines (see
:mod:`acrawl.testing.contracts`). Every failure is one line; the exit code is 1 when one
failed, 0 when all passed (or there were none).
"""

from __future__ import annotations

from ..errors import ConfigError
from ..spider import Spider
from ..testing.contracts import contracts_of, run_contracts
from .common import (
    add_crawl_options,
    command_parser,
    crawl_settings,
    pairs,
    run_async,
    setup_logging,
)
from .project import find_spider, project_spiders

__all__ = ["check_main"]


def _spiders(ref: str | None) -> list[type[Spider]]:
    if ref:
        return [find_spider(ref)]
    found = project_spiders()
    if not found:
        raise ConfigError("no spiders to check: give a spider (a name or a .py file), or list "
                          "spider modules in [tool.acrawl] spiders in pyproject.toml")
    out = []
    for name, classes in sorted(found.items()):
        if len(classes) > 1:
            find_spider(name)  # the conflict, as acrawl-run reports it
        out.append(classes[0])
    return out


def check_main(argv: list[str]) -> int:
    p = command_parser("check", "Run the contracts (@url, @returns, @scrapes, @cb_kwargs, "
                                "@meta) in the spiders' callback docstrings.")
    p.add_argument("spider_ref", nargs="?", metavar="SPIDER",
                   help="a spider name or .py file (default: every spider of the project)")
    p.add_argument("-l", "--list", action="store_true", help="list the contracts and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="also print what passed")
    add_crawl_options(p)
    ns = p.parse_args(argv)
    if ns.spider:
        raise ConfigError("give the spider as acrawl check SPIDER, not --spider")
    pairs(ns.args, "-a")
    setup_logging(ns)
    spiders = _spiders(ns.spider_ref)
    if ns.list:
        for cls in spiders:
            for c in contracts_of(cls):
                lines = [f"@url {c.url}" if c.url else "(no @url)"]
                lines += [f"@returns {k} {lo}{'' if hi is None else f' {hi}'}"
                          for k, lo, hi in c.returns]
                if c.scrapes:
                    lines.append("@scrapes " + " ".join(c.scrapes))
                print(f"{c.label}: {'; '.join(lines)}")
        return 0
    checked = failed = callbacks = 0
    for cls in spiders:
        verdicts = run_async(run_contracts(cls, settings=crawl_settings(ns), plugins=ns.plugin,
                                           spider_args=pairs(ns.args, "-a")))
        for v in verdicts:
            callbacks += 1
            checked += len(v.passed) + len(v.failures)
            failed += len(v.failures)
            for line in v.failures:
                print(f"FAIL {v.contracts.label}: {line}")
            if ns.verbose:
                for line in v.passed:
                    print(f"ok   {v.contracts.label}: {line}")
    if not callbacks:
        print("no contracts found (a callback's docstring needs an @url line)")
        return 0
    print(f"{checked} contract{'s' if checked != 1 else ''} in {callbacks} "
          f"callback{'s' if callbacks != 1 else ''}: {checked - failed} passed, {failed} failed")
    return 1 if failed else 0
