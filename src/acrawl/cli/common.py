"""What the ``acrawl`` subcommands share: their parser, the crawl options (``--spider``, ``-s``,
``-a``, ``-p`` and a few shorthands), building the crawler exactly as ``acrawl-run`` does
(project settings, spider settings, plugins), and how a failure is reported.

Usage errors are :class:`~acrawl.errors.ConfigError` (exit 2, one line); a command that ran
but could not do its job raises :class:`Failed` (exit 1, one line). Neither shows a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import AcrawlError, ConfigError, RequestIgnored
from ..ops.logformat import setup_logging as _setup_logging
from ..spider import Spider
from ..testing.probe import CallbackRun
from ..testing.record import open_crawler
from ..urls import FETCHABLE_SCHEMES, host_key, scheme_of
from .main import _pairs
from .project import find_spider

if TYPE_CHECKING:
    from ..crawler import Crawler

__all__ = ["DefaultSpider", "Failed", "add_crawl_options", "build_crawler", "check_url",
           "command_parser", "crawl_settings", "describe_no_response", "run_async",
           "setup_logging", "spider_class"]

T = TypeVar("T")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Failed(AcrawlError):
    """The command ran but could not do what was asked (exit 1, one line)."""


class DefaultSpider(Spider):
    """The spider of ``acrawl fetch``/``shell``/``settings``/``explain`` without ``--spider``:
    no allowed hosts, no settings of its own."""

    name = "default"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def command_parser(command: str, description: str) -> argparse.ArgumentParser:
    return _Parser(prog=f"acrawl {command}", description=description)


def add_crawl_options(p: argparse.ArgumentParser, *, spider_help: str | None = None) -> None:
    """``--spider``, ``-s``, ``-a``, ``-p``, ``--no-robots``, ``--timeout``, ``--log-level``."""
    p.add_argument("--spider", metavar="NAME", help=spider_help or (
        "the spider whose settings, allowed hosts and plugins apply (a name, a .py file or a "
        "built-in; default: none)"))
    p.add_argument("-s", "--set", action="append", default=[], metavar="KEY=VALUE",
                   help="setting override; repeatable")
    p.add_argument("-a", dest="args", action="append", default=[], metavar="NAME=VALUE",
                   help="spider argument; repeatable")
    p.add_argument("-p", "--plugin", action="append", default=[], metavar="MODULE",
                   help="register a plugin module; repeatable")
    p.add_argument("--no-robots", action="store_true", help="do not fetch or obey robots.txt")
    p.add_argument("--timeout", type=float, metavar="SECONDS")
    p.add_argument("--log-level", metavar="LEVEL", default=None,
                   help="DEBUG, INFO, WARNING or ERROR (the default, but WARNING for parse)")


def crawl_settings(ns: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = _pairs(ns.set, "-s")
    if ns.no_robots:
        settings["obey_robots"] = False
    if ns.timeout is not None:
        settings["timeout"] = ns.timeout
    if ns.log_level is not None:
        settings["log_level"] = ns.log_level
    return settings


def setup_logging(ns: argparse.Namespace, default: str = "ERROR") -> None:
    """``default`` (ERROR: these commands report what went wrong themselves; ``parse`` shows
    WARNING too) unless ``--log-level`` says otherwise."""
    level = str(ns.log_level or default).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"setting 'log_level' expects a log level, got {ns.log_level!r}")
    _setup_logging(level)


def spider_class(ns: argparse.Namespace) -> type[Spider]:
    return find_spider(ns.spider) if ns.spider else DefaultSpider


def build_crawler(ns: argparse.Namespace, spider_cls: type[Spider]) -> Crawler:
    """The crawler ``acrawl-run`` would build: project, spider and command-line settings,
    installed and ``-p`` plugins, ``-a`` arguments."""
    return open_crawler(spider_cls, settings=crawl_settings(ns), plugins=ns.plugin,
                        spider_args=_pairs(ns.args, "-a"), project=True,
                        pipelines=bool(getattr(ns, "pipelines", False)))


#: ``fetch``/``shell``: every status reaches the caller, except redirects, which are followed
#: (Scrapy's ``fetch`` does the same)
EVERY_STATUS_BUT_REDIRECTS = {"handle_httpstatus_list": sorted(
    set(range(100, 600)) - set(range(300, 400)))}


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; ConfigError otherwise."""
    if scheme_of(url) not in FETCHABLE_SCHEMES or not host_key(url):
        hint = " (did you mean http://" + url + "?)" if "://" not in url and url else ""
        raise ConfigError(f"not an http(s) URL: {url!r}{hint}")
    return url


def describe_no_response(run: CallbackRun) -> str:
    """Why ``run``'s request got no response, in one line."""
    url = run.request.url
    failure = run.failure
    if isinstance(failure, RequestIgnored):
        reason = failure.reason or "ignored"
        if reason.startswith("robots"):
            what = ("its robots.txt could not be fetched, so the crawl keeps off that "
                    "origin (is the host up?)" if reason == "robots_unavailable"
                    else "robots.txt disallows it")
            return (f"{url} not fetched: {what} (filtered/{reason}; --no-robots "
                    "fetches without robots.txt)")
        return f"{url} not fetched: refused by {reason} (filtered/{reason})"
    if failure is not None:
        text = " ".join(str(failure).split())
        where = "" if url in text else f"{url}: "
        return f"{where}{type(failure).__name__}: {text}"
    if run.fate:
        return f"{url} not fetched: {run.fate.replace('filtered/', 'URL filter ')} ({run.fate})"
    return f"{url}: no response"


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def report(prog: str, exc: BaseException) -> int:
    """Print ``exc`` as the one line it is; its exit code."""
    if isinstance(exc, ConfigError):
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, AcrawlError):
        print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    logging.getLogger("acrawl").debug("internal error", exc_info=exc)
    print(f"{prog}: error: internal error: {type(exc).__name__}: {exc} (--log-level DEBUG "
          "shows the traceback)", file=sys.stderr)
    return EXIT_FAILED


def pairs(values: Sequence[str], what: str) -> dict[str, str]:
    return _pairs(values, what)
