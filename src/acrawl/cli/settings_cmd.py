"""``acrawl settings [--get NAME]``: the settings a crawl would run with, and for each the
layer it came from: ``default``, ``project`` (``[tool.acrawl.settings]``), ``spider`` (with
``--spider``) or ``command line`` (``-s`` and the shorthands)."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ConfigError
from .common import (
    add_crawl_options,
    build_crawler,
    command_parser,
    pairs,
    setup_logging,
    spider_class,
)

__all__ = ["settings_main"]


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def settings_main(argv: list[str]) -> int:
    p = command_parser("settings", "Print the effective settings and the layer each came "
                                   "from (default, project, spider, command line).")
    p.add_argument("--get", metavar="NAME", help="print only the value of NAME")
    add_crawl_options(p, spider_help="include this spider's settings (a name, a .py file or "
                                     "a built-in)")
    ns = p.parse_args(argv)
    pairs(ns.args, "-a")
    setup_logging(ns)
    settings = build_crawler(ns, spider_class(ns)).settings
    if ns.get is not None:
        name = ns.get.strip().lower().replace("-", "_")
        if name not in settings:
            import difflib

            close = difflib.get_close_matches(name, list(settings), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown setting {ns.get!r}{hint}")
        print(_shown(settings[name]))
        return 0
    rows = [(name, _shown(settings[name]), settings.origin(name)) for name in sorted(settings)]
    width = max(len(r[0]) for r in rows)
    value_width = min(max(len(r[1]) for r in rows), 60)
    print(f"{'setting':{width}}  {'value':{value_width}}  from")
    for name, value, origin in rows:
        print(f"{name:{width}}  {value:{value_width}}  {origin}")
    return 0
