"""Callback contracts: checks written in a callback's docstring, as in Scrapy.

::

    async def parse_book(self, response):
        \"""One book page.

        @url http://127.0.0.1:8000/product/1
        @cb_kwargs {"shelf": "new"}
        @meta {"handle_httpstatus_list": [404]}
        @returns items 1 1
        @returns requests 0
        @scrapes title price
        \"""

``@url`` is fetched through a real crawl (the spider's settings, filters, robots.txt and the
downloader), the callback runs on the response, and its output is checked: ``@returns items
MIN [MAX]`` and ``@returns requests MIN [MAX]`` count what it yielded (no MAX: at least MIN),
``@scrapes FIELD ...`` wants every item to have those fields. ``@cb_kwargs`` and ``@meta`` (JSON
objects) go into the request. A callback without ``@url`` has no contracts.

``acrawl check`` runs them from the command line; the pytest plugin collects each callback's
contracts as a test item (``acrawl.testing.plugin``).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import RequestIgnored
from ..http import Request
from .probe import CallbackRun, Probe
from .record import open_crawler

if TYPE_CHECKING:
    from ..spider import Spider

__all__ = ["CallbackContracts", "Verdict", "contracts_of", "run_contracts", "spider_contracts"]

KNOWN = ("url", "returns", "scrapes", "cb_kwargs", "meta")
_KINDS = {"item": "items", "items": "items", "request": "requests", "requests": "requests"}


@attrs.define
class CallbackContracts:
    """The contracts of one callback of one spider class."""

    spider_cls: type[Spider]
    callback: str
    url: str = ""
    cb_kwargs: dict[str, Any] = attrs.field(factory=dict)
    meta: dict[str, Any] = attrs.field(factory=dict)
    #: ``("items"|"requests", min, max or None)``
    returns: list[tuple[str, int, int | None]] = attrs.field(factory=list)
    scrapes: list[str] = attrs.field(factory=list)
    #: docstring lines that are not valid contracts (each a failure when run)
    problems: list[str] = attrs.field(factory=list)

    @property
    def spider_name(self) -> str:
        return getattr(self.spider_cls, "name", "") or self.spider_cls.__name__.lower()

    @property
    def label(self) -> str:
        return f"{self.spider_name}.{self.callback}"

    @property
    def count(self) -> int:
        """Contracts to check: ``@url`` itself, each ``@returns`` and ``@scrapes``."""
        return 1 + len(self.returns) + (1 if self.scrapes else 0) + len(self.problems)


@attrs.frozen
class Verdict:
    """The outcome of one callback's contracts: ``failures`` are one line each."""

    contracts: CallbackContracts
    passed: tuple[str, ...]
    failures: tuple[str, ...]
    run: CallbackRun | None = None

    @property
    def ok(self) -> bool:
        return not self.failures


def _parse(spider_cls: type[Spider], name: str, doc: str) -> CallbackContracts | None:
    lines = [ln.strip() for ln in doc.splitlines() if ln.strip().startswith("@")]
    if not any(ln.split(None, 1)[0] == "@url" for ln in lines):
        if lines and any(ln.split(None, 1)[0][1:] in KNOWN for ln in lines):
            c = CallbackContracts(spider_cls, name)
            c.problems.append("has contracts but no @url to run them on")
            return c
        return None
    c = CallbackContracts(spider_cls, name)
    for line in lines:
        word, _, rest = line.partition(" ")
        key, rest = word[1:], rest.strip()
        if key == "url":
            if len(rest.split()) != 1:
                c.problems.append(f"{line}: expected one URL")
            c.url = rest
        elif key in ("cb_kwargs", "meta"):
            try:
                value = json.loads(rest)
            except ValueError as exc:
                c.problems.append(f"{line}: not JSON ({exc})")
                continue
            if not isinstance(value, dict):
                c.problems.append(f"{line}: expected a JSON object")
                continue
            setattr(c, key, value)
        elif key == "returns":
            parts = rest.split()
            kind = _KINDS.get(parts[0]) if parts else None
            try:
                bounds = [int(p) for p in parts[1:]]
            except ValueError:
                bounds = []
            if kind is None or not 1 <= len(bounds) <= 2 or min(bounds) < 0 or (
                    len(bounds) == 2 and bounds[0] > bounds[1]):
                c.problems.append(f"{line}: expected @returns items|requests MIN [MAX]")
                continue
            c.returns.append((kind, bounds[0], bounds[1] if len(bounds) == 2 else None))
        elif key == "scrapes":
            if not rest:
                c.problems.append(f"{line}: expected field names")
            c.scrapes.extend(rest.split())
        else:
            import difflib

            close = difflib.get_close_matches(key, KNOWN, n=1)
            hint = f"did you mean @{close[0]}?" if close else "known: " + ", ".join(
                "@" + k for k in KNOWN)
            c.problems.append(f"unknown contract {word} ({hint})")
    return c


def contracts_of(spider_cls: type[Spider]) -> list[CallbackContracts]:
    """The contracts in the docstrings of ``spider_cls``'s methods, in definition order."""
    methods: dict[str, Any] = {}
    for klass in reversed(spider_cls.__mro__):
        for name, obj in vars(klass).items():
            if isinstance(obj, staticmethod | classmethod):
                obj = obj.__func__
            if inspect.isfunction(obj) and not name.startswith("_"):
                methods[name] = obj
    out = []
    for name, func in methods.items():
        doc = inspect.getdoc(func)
        if doc and "@" in doc:
            parsed = _parse(spider_cls, name, doc)
            if parsed is not None:
                out.append(parsed)
    return out


def _bounds(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"at least {lo}"
    return f"exactly {lo}" if lo == hi else f"{lo} to {hi}"


def _no_response(run: CallbackRun) -> str:
    failure = run.failure
    if isinstance(failure, RequestIgnored):
        if failure.reason == "robots_unavailable":
            return ("not fetched: its robots.txt could not be fetched (is the site up?) "
                    "(filtered/robots_unavailable)")
        return f"not fetched: refused by {failure.reason} (filtered/{failure.reason})"
    if failure is not None:
        return f"{type(failure).__name__}: {' '.join(str(failure).split())}"
    if run.fate:
        return f"not fetched ({run.fate})"
    return "no response"


def judge(contracts: CallbackContracts, run: CallbackRun) -> Verdict:
    """Check ``run`` (the callback's output on the ``@url`` response) against ``contracts``."""
    failures = list(contracts.problems)
    passed: list[str] = []
    if run.response is None:
        failures.append(f"@url {contracts.url}: {_no_response(run)}")
        return Verdict(contracts, tuple(passed), tuple(failures), run)
    if run.error is not None:
        failures.append(f"raised {type(run.error).__name__}: {run.error} (on {run.response!r})")
        return Verdict(contracts, tuple(passed), tuple(failures), run)
    passed.append(f"@url {contracts.url}")
    for bad in run.invalid:
        failures.append(f"yielded a {type(bad).__name__}, neither a request nor an item")
    for kind, lo, hi in contracts.returns:
        got = len(run.items if kind == "items" else run.requests)
        text = f"@returns {kind} {lo}{'' if hi is None else f' {hi}'}"
        if got < lo or (hi is not None and got > hi):
            failures.append(f"{text}: got {got} {kind}, expected {_bounds(lo, hi)} "
                            f"(from {run.response!r})")
        else:
            passed.append(text)
    if contracts.scrapes:
        text = "@scrapes " + " ".join(contracts.scrapes)
        bad = [(i, [f for f in contracts.scrapes if f not in item])
               for i, item in enumerate(run.items)]
        bad = [(i, missing) for i, missing in bad if missing]
        if bad:
            i, missing = bad[0]
            more = f" (and {len(bad) - 1} more items)" if len(bad) > 1 else ""
            failures.append(f"{text}: item {i + 1} of {len(run.items)} lacks "
                            f"{', '.join(missing)}{more}")
        else:
            passed.append(text)
    return Verdict(contracts, tuple(passed), tuple(failures), run)


async def run_contracts(
    spider_cls: type[Spider],
    contracts: Iterable[CallbackContracts] | None = None,
    *,
    settings: Mapping[str, Any] | None = None,
    plugins: Iterable[str] = (),
    spider_args: Mapping[str, Any] | None = None,
    project: bool = True,
    download_handler: Any = None,
) -> list[Verdict]:
    """Run the contracts of ``spider_cls`` (default: all of them) in one crawl."""
    todo = list(contracts_of(spider_cls) if contracts is None else contracts)
    runnable = [c for c in todo if c.url and not c.problems]
    verdicts: dict[int, Verdict] = {id(c): Verdict(c, (), tuple(c.problems)) for c in todo}
    if runnable:
        crawler = open_crawler(spider_cls, settings=settings, plugins=plugins,
                               download_handler=download_handler, project=project,
                               spider_args=spider_args)
        probe = Probe(crawler, forward=False)
        runs = [probe.add(Request(c.url, callback=c.callback, cb_kwargs=c.cb_kwargs,
                                  meta=c.meta, dont_filter=True)) for c in runnable]
        await probe.run()
        for c, run in zip(runnable, runs, strict=True):
            verdicts[id(c)] = judge(c, run)
    return [verdicts[id(c)] for c in todo]


def spider_contracts(spiders: Iterable[type[Spider]]) -> list[CallbackContracts]:
    """Every contract of every spider in ``spiders``."""
    return [c for cls in spiders for c in contracts_of(cls)]
