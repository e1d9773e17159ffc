"""Front ends: acrawl-run, finding spiders, the live progress view.

:func:`main` is the ``acrawl-run`` entry point and :func:`acrawl_main` the ``acrawl`` one: each
loads its command (and with it the whole crawl machinery) only when called, so a Ctrl-C while
it starts is exit 130, not a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from .main import main as run
    except KeyboardInterrupt:
        print("acrawl-run: interrupted", file=sys.stderr)
        return 130
    return run(argv)


def acrawl_main(argv: Sequence[str] | None = None) -> int:
    try:
        from .acrawl import main as run
    except KeyboardInterrupt:
        print("acrawl: interrupted", file=sys.stderr)
        return 130
    return run(argv)
