"""``acrawl fetch URL`` and ``acrawl parse URL --spider NAME``: one URL through a real crawl.

Both run the URL as a start request of a crawl built as ``acrawl-run`` builds it (the
project's, the spider's and the command line's settings, the plugins, the URL filters,
robots.txt, retries, redirects and the downloader with its private-address guard), through
:class:`acrawl.testing.Probe`. ``fetch`` prints the body (or ``--headers``) of the response,
whatever its status; ``parse`` runs a callback on it and prints what it yielded, following the
requests it yields ``--depth`` levels deep, and what the crawl did with each.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..errors import ConfigError
from ..http import Request, Response
from ..testing.probe import CallbackRun, Probe, callback_name, resolve_callback
from .common import (
    EVERY_STATUS_BUT_REDIRECTS,
    Failed,
    add_crawl_options,
    build_crawler,
    check_url,
    command_parser,
    describe_no_response,
    pairs,
    run_async,
    setup_logging,
    spider_class,
)

__all__ = ["fetch_main", "parse_main"]


def fetch_main(argv: list[str]) -> int:
    p = command_parser("fetch", "Download URL as a crawl would (settings, plugins, robots.txt, "
                                "redirects, the private-address guard) and print the body.")
    p.add_argument("url")
    p.add_argument("--headers", action="store_true",
                   help="print the status line and the response headers instead of the body")
    add_crawl_options(p)
    ns = p.parse_args(argv)
    url = check_url(ns.url)
    setup_logging(ns)
    probe = Probe(build_crawler(ns, spider_class(ns)))
    run = probe.add(Request(url, meta=EVERY_STATUS_BUT_REDIRECTS, dont_filter=True),
                    capture=True)
    run_async(probe.run())
    response = run.response
    if response is None:
        raise Failed(describe_no_response(run))
    if ns.headers:
        print(f"HTTP {response.status} {response.url}")
        for name, value in response.headers.items():
            print(f"{name}: {value}")
    else:
        sys.stdout.buffer.write(response.body)
        sys.stdout.flush()
    if not 200 <= response.status < 300:
        print(f"acrawl fetch: HTTP {response.status} {response.url}", file=sys.stderr)
    return 0


def _json_object(raw: str | None, option: str) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{option} must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{option} must be a JSON object, got {raw!r}")
    return value


def parse_main(argv: list[str]) -> int:
    p = command_parser("parse", "Fetch URL as the spider's crawl would, run a callback on it "
                                "and print the items and requests it yields.")
    p.add_argument("url")
    add_crawl_options(p, spider_help="the spider whose callback runs (a name, a .py file or "
                                     "a built-in); required")
    p.add_argument("-c", "--callback", metavar="NAME", help="the callback (default: parse)")
    p.add_argument("--depth", type=int, default=1, metavar="N",
                   help="follow the requests callbacks yield, N levels in all (default 1: "
                        "only URL's callback)")
    p.add_argument("--cb-kwargs", metavar="JSON", help="keyword arguments for the callback")
    p.add_argument("--meta", metavar="JSON", help="the request's meta")
    p.add_argument("--pipelines", action="store_true",
                   help="also run the items through the spider's pipelines (off by default, "
                        "as in scrapy parse)")
    ns = p.parse_args(argv)
    if not ns.spider:
        raise ConfigError("which spider? --spider NAME (see acrawl-run --list)")
    if ns.depth < 1:
        raise ConfigError(f"--depth must be 1 or more, got {ns.depth}")
    url = check_url(ns.url)
    cb_kwargs = _json_object(ns.cb_kwargs, "--cb-kwargs")
    meta = _json_object(ns.meta, "--meta")
    pairs(ns.args, "-a")
    setup_logging(ns, "WARNING")
    crawler = build_crawler(ns, spider_class(ns))
    resolve_callback(crawler.spider, ns.callback)  # an unknown name is a usage error
    probe = Probe(crawler, depth=ns.depth)
    root = probe.add(Request(url, callback=ns.callback, cb_kwargs=cb_kwargs, meta=meta))
    run_async(probe.run())
    _print_run(root)
    failed = [r for r in probe.runs if r.error is not None or r.invalid or (
        r is root and r.response is None)]
    if root.response is None:
        raise Failed(describe_no_response(root))
    return 1 if failed else 0


def _dumps(item: Any) -> str:
    return json.dumps(item, ensure_ascii=False, default=str)


def _describe_request(request: Request) -> str:
    extra = []
    if request.method != "GET":
        extra.append(request.method)
    extra.append(f"callback={callback_name(request.callback)}")
    if request.cb_kwargs:
        extra.append(f"cb_kwargs={_dumps(request.cb_kwargs)}")
    return f"{request.url}  ({', '.join(extra)})"


def _heading(run: CallbackRun) -> str:
    response: Response | None = run.response
    where = f"<{response.status} {response.url}>" if response is not None else run.request.url
    return (f">>> level {run.level}, depth {run.request.depth}: {where} -> "
            f"{run.callback}")


def _print_run(run: CallbackRun) -> None:
    print(_heading(run))
    if run.response is None:
        print(f"  not fetched: {describe_no_response(run)}")
    else:
        print(f"  items ({len(run.items)})")
        for item in run.items:
            print(f"    {_dumps(item)}")
        print(f"  requests ({len(run.requests)})")
        for i, request in enumerate(run.requests):
            fate = run.fates.get(i, "not scheduled")
            print(f"    {_describe_request(request)} -> {fate}")
        if run.links:
            print(f"  links followed by follow_links ({len(run.links)})")
            for i, request in enumerate(run.links):
                print(f"    {request.url} -> {run.link_fates.get(i, 'not scheduled')}")
        for bad in run.invalid:
            print(f"  ERROR: yielded a {type(bad).__name__}, neither a request nor an item: "
                  f"{bad!r:.200}")
        if run.error is not None:
            print(f"  ERROR: the callback raised {type(run.error).__name__}: {run.error}")
    for child in run.children:
        _print_run(child)
