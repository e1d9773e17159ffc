"""``acrawl-run SPIDER [options]``: the command line.

Exit codes: 0 finished; 1 finished, but the spider or a sink raised errors; 2 usage or
configuration error (one line, no traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..crawler import Crawler, CrawlResult
from ..errors import ConfigError, FrontierUnavailable
from ..ops.logformat import is_json, setup_logging
from ..runner import stop_on_signals
from ..version import __version__
from .progress import Progress, summary_lines
from .project import find_spider, list_spiders, project_settings

__all__ = ["main"]

logger = logging.getLogger("acrawl")

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        self.exit(EXIT_USAGE, f"acrawl-run: error: {message} (see acrawl-run --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="acrawl-run", description="Run an acrawl spider.")
    p.add_argument("spider", nargs="?", help="spider name, path to a .py file, or a built-in "
                   "(demo, links, bench)")
    p.add_argument("--list", action="store_true", help="list the spiders found and exit")
    p.add_argument("--list-components", action="store_true",
                   help="list the middlewares, spider middlewares and pipelines of SPIDER's "
                        "crawl in the order they run, and exit")
    p.add_argument("-o", "--output", action="append", default=[], metavar="URI",
                   help="items.jsonl, items.json, items.csv, sqlite:///x.db, - (stdout); "
                   "repeatable")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-s", "--set", action="append", default=[], metavar="KEY=VALUE",
                   help="setting override; repeatable")
    p.add_argument("-a", dest="args", action="append", default=[], metavar="NAME=VALUE",
                   help="spider argument; repeatable")
    p.add_argument("-p", "--plugin", action="append", default=[], metavar="MODULE",
                   help="register a plugin module; repeatable")
    p.add_argument("--state", metavar="DIR", help="durable, resumable crawl state in DIR")
    p.add_argument("--frontier", metavar="URL", help="shared frontier, redis://HOST:PORT/DB")
    p.add_argument("--cache", metavar="DIR", dest="cache_dir",
                   help="replay cache: record responses in DIR and serve them on re-runs")
    p.add_argument("--cache-mode", choices=("record", "replay", "refresh"),
                   help="record (default: serve fresh entries, fetch and store the rest), "
                        "replay (never touch the network), refresh (fetch and store all)")
    p.add_argument("--concurrency", type=int, metavar="N")
    p.add_argument("--per-host", type=int, metavar="N", dest="per_host_concurrency")
    p.add_argument("--delay", type=float, metavar="SECONDS", dest="download_delay")
    p.add_argument("--max-pages", type=int, metavar="N")
    p.add_argument("--max-depth", type=int, metavar="N")
    p.add_argument("--timeout", type=float, metavar="SECONDS")
    p.add_argument("--no-robots", action="store_true", help="do not fetch or obey robots.txt")
    p.add_argument("--close-timeout", type=float, metavar="SECONDS",
                   help="stop after this many seconds of crawling")
    p.add_argument("--close-item-count", type=int, metavar="N",
                   help="stop once N items are scraped")
    p.add_argument("--close-error-count", type=int, metavar="N",
                   help="stop once N errors are counted")
    p.add_argument("--memory-limit", type=float, metavar="MB", dest="memory_limit_mb",
                   help="stop once the process's resident memory passes MB MiB")
    p.add_argument("--metrics-port", type=int, metavar="PORT",
                   help="serve Prometheus metrics on 127.0.0.1:PORT/metrics")
    p.add_argument("--log-format", choices=("text", "json"),
                   help="text (default) or json: one JSON object per log line")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="live progress on stderr (default: when stderr is a terminal)")
    p.add_argument("--log-level", metavar="LEVEL")
    p.add_argument("--stats", metavar="PATH", help="write the final stats as JSON to PATH")
    p.add_argument("--version", action="version", version=f"acrawl {__version__}")
    return p


def _pairs(values: Sequence[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in values:
        key, sep, value = raw.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} must look like NAME=VALUE, got {raw!r}")
        out[key.strip()] = value
    return out


def settings_from_args(ns: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = _pairs(ns.set, "-s")
    for name in ("concurrency", "per_host_concurrency", "download_delay", "max_pages",
                 "max_depth", "timeout", "log_level", "cache_dir", "cache_mode", "close_timeout",
                 "close_item_count", "close_error_count", "memory_limit_mb", "metrics_port",
                 "log_format"):
        value = getattr(ns, name)
        if value is not None:
            settings[name] = value
    if ns.no_robots:
        settings["obey_robots"] = False
    if ns.overwrite:
        settings["overwrite"] = True
    return settings


def _check_writable(path: Path, option: str) -> None:
    """Create ``path``'s missing parent directories (as ``-o`` does) and make sure a file can
    be written there, before the crawl rather than after it; ConfigError if not."""
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a directory (give a file path, e.g. "
                          f"{path / 'stats.json'})")
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a"):
            pass
    except OSError as exc:
        blocker = next((d for d in path.parents if d.exists() and not d.is_dir()), None)
        reason = f"{blocker} is not a directory" if blocker else exc.strerror or str(exc)
        raise ConfigError(f"{option} {path}: cannot write there: {reason}") from None
    if not existed:
        path.unlink(missing_ok=True)  # written at the end; none is left if the crawl fails


def _say(message: str, *, level: int = logging.ERROR, **fields: Any) -> None:
    """A line of acrawl-run's own on stderr: plain text, or a JSON record with
    ``--log-format json`` (so that every line a machine reads parses)."""
    if is_json():  # whatever the log level, as the text lines are
        cli = logging.getLogger("acrawl.cli")
        cli.handle(cli.makeRecord(cli.name, level, "", 0, message, (), None,
                                  extra={"stats": fields}))
    else:
        print(message, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except ConfigError as exc:
        _say(f"acrawl-run: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("acrawl-run: interrupted", level=logging.WARNING)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    ns = build_parser().parse_args(argv)
    # until the settings give the level: warnings about the config, unless --log-level is
    # quieter than that
    quiet = str(ns.log_level or "").upper() in ("ERROR", "CRITICAL")
    setup_logging(ns.log_level.upper() if quiet else "WARNING", ns.log_format or "text")
    if ns.list:
        for name, where in sorted(list_spiders().items()):
            print(f"{name:20} {where}")
        return EXIT_OK
    if not ns.spider:
        raise ConfigError("which spider? (acrawl-run SPIDER, or acrawl-run --list)")
    settings = settings_from_args(ns)
    spider_args = _pairs(ns.args, "-a")
    spider_cls = find_spider(ns.spider)
    crawler = Crawler.create(spider_cls, spider_args=spider_args, settings=settings,
                             outputs=ns.output, plugins=ns.plugin, state_dir=ns.state,
                             frontier_url=ns.frontier, project_settings=project_settings())
    if ns.list_components:
        for line in component_lines(crawler):
            print(line)
        return EXIT_OK
    if ns.stats:
        _check_writable(Path(ns.stats), "--stats")
    setup_logging(crawler.settings["log_level"], crawler.settings["log_format"])
    if crawler.state is not None and crawler.state.resumed is not None:
        r = crawler.state.resumed
        logger.warning("resuming crawl in %s: %d requests pending (%d were in flight), "
                       "%d done, %d URLs seen", ns.state, r["pending"], r["requeued"], r["done"],
                       r["seen"])
    json_logs = crawler.settings["log_format"] == "json"
    show_progress = (sys.stderr.isatty() and not json_logs) if ns.progress is None else ns.progress
    crawler.log_stats = not show_progress  # the live view shows the same figures
    try:
        result = _run(crawler, show_progress)
    except ConfigError:
        raise
    except Exception as exc:  # a frontier backend gone (Redis down, disk full), a bug
        logger.debug("crawl failed", exc_info=True)
        if ns.stats and isinstance(exc, FrontierUnavailable):
            # the crawl stopped cleanly (sinks closed): what it counted until then
            reason = crawler.stats.values.get("finish_reason", "frontier_unavailable")
            _write_stats(ns.stats, crawler, CrawlResult(reason=reason, stats=crawler.stats))
        _say(f"acrawl-run: error: the crawl stopped: {type(exc).__name__}: {exc} "
             "(items written so far are kept; --log-level DEBUG shows the traceback)")
        return EXIT_ERRORS
    lines = summary_lines(result.stats, result.reason)
    if json_logs:  # one record: the first line as its message, the stats as its fields
        _say(lines[0], level=logging.INFO, reason=result.reason, **result.stats.to_dict())
    else:
        for line in lines:
            print(line, file=sys.stderr)
    if ns.stats and not _write_stats(ns.stats, crawler, result):
        return EXIT_ERRORS
    if result.reason == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_ERRORS if result.errors else EXIT_OK


def _write_stats(path: str, crawler: Crawler, result: CrawlResult) -> bool:
    """``--stats PATH``: the crawl's stats as JSON; False (after one line) if they cannot be
    written."""
    data = {"spider": crawler.spider.name, "reason": result.reason, **result.stats.to_dict()}
    shared = getattr(crawler.frontier, "crawl_stats", None)
    if shared:  # --frontier: the whole crawl's counters; this worker's under "worker"
        data = {"spider": crawler.spider.name, "reason": result.reason, **shared,
                "worker": result.stats.to_dict()}
    try:
        Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")
    except OSError as exc:
        _say(f"acrawl-run: cannot write stats to {path}: {exc}")
        return False
    return True


def component_lines(crawler: Crawler) -> list[str]:
    """``--list-components``: one line per component, by stage, in the order they run."""
    middlewares, spider_mws, pipelines = crawler.components()
    lines = []
    for stage, slots in (("middleware", middlewares), ("spider middleware", spider_mws),
                         ("pipeline", pipelines)):
        for n, slot in enumerate(slots, 1):
            lines.append(f"{stage:18} {n:2}  {slot.name:20} {slot.origin}")
    return lines


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _tune_gc() -> None:
    """A crawl allocates many short-lived containers (requests, selectors, items) and makes few
    reference cycles: collect the young generation every 10,000 allocations instead of 700,
    and move the start-up heap (modules, settings, plugins) out of the collector's sight. This
    is ~4% of the CPU of a link-following crawl; cyclic garbage is still collected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _run(crawler: Crawler, show_progress: bool) -> CrawlResult:
    _tune_gc()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_crawl(crawler, show_progress))


async def _crawl(crawler: Crawler, show_progress: bool) -> CrawlResult:
    with stop_on_signals(crawler):  # the first Ctrl-C drains and saves, a second stops now
        progress = Progress(crawler) if show_progress else None
        if progress is not None:
            progress.start()
        try:
            return await crawler.crawl()
        finally:
            if progress is not None:
                await progress.stop()
