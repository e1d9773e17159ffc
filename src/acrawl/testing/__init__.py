"""acrawl's testing kit: a fake site declared in the test, ``crawl()`` to run a spider
against it in-process, and callback contracts (``acrawl check``) as pytest items.

>>> from acrawl.testing import FakeSite, Page, crawl, flaky
>>> with FakeSite({"/": "<a href='/a'>a</a>", "/a": flaky("<h1>A</h1>")}) as site:
...     record = crawl(MySpider, start_urls=[site.url("/")])
>>> record.items, record.stats["pages"], site.hits("/a")

The pytest plugin (``acrawl.testing.plugin``, registered through the ``pytest11`` entry point)
adds the ``acrawl_site`` fixture. Names are imported on first use, so loading the plugin costs
no crawler import. See docs/developing.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contracts import CallbackContracts, Verdict, contracts_of, run_contracts
    from .probe import CallbackRun, Probe
    from .record import CrawlRecord, Recorder, crawl, crawl_async
    from .site import (
        FakeSite,
        Hit,
        Page,
        flaky,
        gzip_bomb,
        redirect,
        redirect_chain,
        reset,
        robots,
        stall,
        trickle,
    )

__all__ = [
    "CallbackContracts",
    "CallbackRun",
    "CrawlRecord",
    "FakeSite",
    "Hit",
    "Page",
    "Probe",
    "Recorder",
    "Verdict",
    "contracts_of",
    "crawl",
    "crawl_async",
    "flaky",
    "gzip_bomb",
    "redirect",
    "redirect_chain",
    "reset",
    "robots",
    "run_contracts",
    "stall",
    "trickle",
]

_WHERE = {
    **dict.fromkeys(("CallbackContracts", "Verdict", "contracts_of", "run_contracts"),
                    "contracts"),
    **dict.fromkeys(("CallbackRun", "Probe"), "probe"),
    **dict.fromkeys(("CrawlRecord", "Recorder", "crawl", "crawl_async"), "record"),
    **dict.fromkeys(("FakeSite", "Hit", "Page", "flaky", "gzip_bomb", "redirect",
                     "redirect_chain", "reset", "robots", "stall", "trickle"), "site"),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'acrawl.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
