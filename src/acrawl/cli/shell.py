"""``acrawl shell [URL]``: fetch URL as a crawl would and explore the response in Python.

The namespace holds ``response``, ``request``, ``spider``, ``settings``, ``fetch(url_or_request)``
(fetch another page; updates ``response``, ``request`` and ``spider``), ``view(response)``
(save the body to a file and print its path), ``acrawl`` and ``Request``. IPython is used when
it is installed (``pip install acrawl[shell]``), else the standard Python REPL; ``-c EXPR``
evaluates one expression (or runs statements) and prints the result, for scripts and tests.

Each ``fetch`` is a crawl of its own, built as ``acrawl-run`` builds one (settings, plugins,
robots.txt, redirects, the private-address guard), so cookies are not kept between fetches.
"""

from __future__ import annotations

import argparse
import code
import os
import sys
import tempfile
from typing import Any

import acrawl

from ..errors import AcrawlError, ConfigError
from ..http import Request, Response
from ..spider import Spider
from ..testing.probe import Probe
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

__all__ = ["Shell", "shell_main"]


class Shell:
    """The shell's state: the last request, response and spider, and how to fetch."""

    def __init__(self, ns: argparse.Namespace, spider_cls: type[Spider]) -> None:
        self.ns = ns
        self.spider_cls = spider_cls
        self.namespace: dict[str, Any] = {
            "acrawl": acrawl, "Request": Request, "fetch": self.fetch, "view": view,
            "request": None, "response": None, "spider": None, "settings": None,
        }
        self._update(build_crawler(ns, spider_cls), None, None)

    def _update(self, crawler: Any, request: Request | None, response: Response | None) -> None:
        self.namespace.update(spider=crawler.spider, settings=crawler.settings,
                              request=request, response=response)

    def get(self, target: str | Request) -> Response:
        """Fetch ``target`` (a URL or a Request); Failed if there is no response."""
        if isinstance(target, Request):
            request = target
            check_url(request.url)
        elif isinstance(target, str):
            request = Request(check_url(target))
        else:
            raise ConfigError(f"fetch() takes a URL or an acrawl.Request, not "
                              f"{type(target).__name__}")
        meta = {**EVERY_STATUS_BUT_REDIRECTS, **request.meta}
        request = request.replace(meta=meta, dont_filter=True)
        crawler = build_crawler(self.ns, self.spider_cls)
        probe = Probe(crawler)
        run = probe.add(request, capture=True)
        run_async(probe.run())
        self._update(crawler, request, run.response)
        if run.response is None:
            raise Failed(describe_no_response(run))
        return run.response

    def fetch(self, target: str | Request) -> Response | None:
        """``fetch(url_or_request)`` in the shell: a one-line message instead of a traceback."""
        try:
            response = self.get(target)
        except AcrawlError as exc:
            print(f"fetch: {exc}", file=sys.stderr)
            return None
        print(f"fetched <{response.status} {response.url}>", file=sys.stderr)
        return response

    def banner(self) -> str:
        response = self.namespace["response"]
        lines = ["acrawl shell: " + (f"<{response.status} {response.url}>" if response
                                     else "no response yet")]
        lines += ["  response, request       the last fetch (response.css(), .xpath(), .text...)",
                  "  spider, settings        the spider and the settings in effect",
                  "  fetch(url_or_request)   fetch another page (updates the above)",
                  "  view(response)          save the body to a file and print its path"]
        return "\n".join(lines)


def view(response: Response | None) -> str | None:
    """Save ``response``'s body to a temporary file (``.html`` with a ``<base href>`` for
    pages, so their links and images resolve when opened); print and return its path."""
    if response is None:
        print("view: no response", file=sys.stderr)
        return None
    body = response.body
    html = "html" in response.headers.get("Content-Type", "").lower()
    if html and b"<base" not in body[:4096].lower():
        base = f'<base href="{response.url}">'.encode()
        head = body.lower().find(b"<head>")
        body = body[:head + 6] + base + body[head + 6:] if head >= 0 else base + body
    fd, path = tempfile.mkstemp(prefix="acrawl-view-", suffix=".html" if html else ".txt")
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    print(path)
    return path


def _evaluate(source: str, namespace: dict[str, Any]) -> None:
    try:
        compiled = compile(source, "<-c>", "eval")
    except SyntaxError:
        exec(compile(source, "<-c>", "exec"), namespace)
        return
    value = eval(compiled, namespace)
    if value is not None:
        print(value)


def _interact(shell: Shell, repl: str) -> None:
    if repl in ("auto", "ipython"):
        try:
            import IPython
        except ImportError:
            if repl == "ipython":
                raise ConfigError("IPython is not installed (pip install 'acrawl[shell]')") \
                    from None
        else:
            print(shell.banner(), file=sys.stderr)
            IPython.start_ipython(argv=[], user_ns=shell.namespace, display_banner=False)
            return
    try:
        import readline
        import rlcompleter

        readline.set_completer(rlcompleter.Completer(shell.namespace).complete)
        readline.parse_and_bind("tab: complete")
    except ImportError:  # pragma: no cover - platforms without readline
        pass
    code.interact(banner=shell.banner(), local=shell.namespace, exitmsg="")


def shell_main(argv: list[str]) -> int:
    p = command_parser("shell", "Fetch URL as a crawl would and explore the response in "
                                "Python (IPython if installed).")
    p.add_argument("url", nargs="?", help="a URL to fetch first")
    p.add_argument("-c", dest="code", metavar="EXPR",
                   help="evaluate EXPR (or run statements), print the result and exit")
    p.add_argument("--repl", choices=("auto", "ipython", "python"), default="auto",
                   help="the interactive shell (default: IPython when installed)")
    add_crawl_options(p)
    ns = p.parse_args(argv)
    if ns.url:
        check_url(ns.url)
    pairs(ns.args, "-a")
    setup_logging(ns)
    shell = Shell(ns, spider_class(ns))
    if ns.code is not None:
        if ns.url:
            shell.get(ns.url)  # a failure is the command's failure (exit 1)
        try:
            _evaluate(ns.code, shell.namespace)
        except Exception as exc:
            raise Failed(f"-c: {type(exc).__name__}: {exc}") from None
        return 0
    if ns.url:
        shell.fetch(ns.url)
    _interact(shell, ns.repl)
    return 0
