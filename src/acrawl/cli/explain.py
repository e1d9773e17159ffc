"""``acrawl explain URL [--spider NAME] [--state DIR]``: why URL would be fetched or not.

The request goes through each rule the crawl applies, in the crawl's order (see
docs/architecture.md, "The life of a request"), and each says what it would do:

1. ``scheme`` — only http and https (``dropped/scheme``), and a host (``dropped/invalid_url``);
2. ``max_depth`` — a link at ``--depth N`` (default 1; a start URL is depth 0);
3. the URL filters of the plugins, through the ``Hooks`` facade, each by name
   (``allowed_hosts`` and any installed or ``-p`` filter; ``filtered/<name>``);
4. ``dedup`` — against the crawl in ``--state DIR`` when given (``dropped/duplicate``);
5. the gates, opened as the crawl opens them: ``robots`` (robots.txt fetched live, with the
   crawl's user agent) and any plugin's (``filtered/<reason>``);
6. ``private_addresses`` — the address guard: the host resolved as a download would, refused
   if it is loopback/private/link-local and the spider did not name it.

The first refusal decides; later rules are still asked where they can be, so every reason to
refuse is shown. Exit 0 if the URL would be fetched, 1 if not, 2 on a usage error.

To explain a new component, give it ``explain(request)`` or ``describe(request)`` (see
:mod:`acrawl.explain`); rules named in the ``disable`` setting, once the crawl has one, are
reported as off.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ConnectError
from ..explain import OFF, PASS, REFUSE, SKIPPED, Explanation, Step
from ..frontier.sqlite import state_has_seen
from ..http import Request
from ..urls import FETCHABLE_SCHEMES, canonicalize, fingerprint, host_key, hostname, scheme_of
from .common import (
    add_crawl_options,
    build_crawler,
    command_parser,
    pairs,
    run_async,
    setup_logging,
    spider_class,
)

if TYPE_CHECKING:
    from ..crawler import Crawler

__all__ = ["explain", "explain_main"]


def _disabled(crawler: Crawler) -> set[str]:
    """The component names ``-s disable=...`` switches off, when the crawl has that setting."""
    value = crawler.settings.get("disable")
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    return {str(v) for v in value or ()}


async def _own_step(component: Any, request: Request) -> Step | None:
    explain = getattr(component, "explain", None)
    if not callable(explain):
        return None
    step = explain(request)
    if inspect.isawaitable(step):
        step = await step
    return step if isinstance(step, Step) else None


async def explain(crawler: Crawler, url: str, *, depth: int = 1,
                  state_dir: str | None = None) -> Explanation:
    """The steps for ``url`` in ``crawler``'s crawl (as a link at ``depth``, or as the start
    URL it is)."""
    spider, settings, hooks = crawler.spider, crawler.settings, crawler.hooks
    disabled = _disabled(crawler)
    start_urls = {canonicalize(u) for u in spider.start_urls if scheme_of(u) in FETCHABLE_SCHEMES}
    is_start = scheme_of(url) in FETCHABLE_SCHEMES and canonicalize(url) in start_urls
    request = Request(url, depth=0 if is_start else depth)
    steps: list[Step] = []

    def add(rule: str, verdict: str, detail: str) -> None:
        steps.append(Step(rule, OFF if rule in disabled and verdict != SKIPPED else verdict,
                          f"switched off (disable={rule})" if rule in disabled else detail))

    # 1. scheme and host: nothing else can be asked about a URL without them
    scheme = scheme_of(url)
    if scheme not in FETCHABLE_SCHEMES:
        steps.append(Step("scheme", REFUSE, f"{scheme or 'no scheme'}: only http and https are "
                                            "fetched (dropped/scheme)"))
        return Explanation(url, tuple(steps))
    if not host_key(url):
        steps.append(Step("scheme", REFUSE, "no host in the URL (dropped/invalid_url)"))
        return Explanation(url, tuple(steps))
    steps.append(Step("scheme", PASS, f"{scheme} with host {host_key(url)}"))

    # 2. depth
    limit = settings["max_depth"]
    where = "a start URL of the spider: depth 0" if is_start else f"a link at depth {depth}"
    if limit is None:
        add("max_depth", PASS, f"{where}; max_depth is not set")
    elif request.depth > limit:
        add("max_depth", REFUSE, f"{where} > max_depth {limit} (dropped/max_depth)")
    else:
        add("max_depth", PASS, f"{where} <= max_depth {limit}")

    # 3. the URL filters, each plugin by name
    for label, verdict in hooks.url_filter_verdicts(url, request, spider):
        hosts = ", ".join(spider.allowed_hosts)
        if isinstance(verdict, Exception):
            add(label, REFUSE, f"the filter raised {type(verdict).__name__}: {verdict} "
                               "(filtered/plugin_error)")
        elif verdict is False:
            why = f"{hostname(url)} is not in allowed_hosts ({hosts})" if (
                label == "allowed_hosts") else "the filter returned False"
            add(label, REFUSE, f"{why} (filtered/{label})")
        elif label == "allowed_hosts":
            add(label, PASS, f"{hostname(url)} is allowed ({hosts})" if hosts
                else "allowed_hosts is empty: every host is allowed")
        else:
            add(label, PASS, "allowed" if verdict else "no objection")

    # 4. dedup
    if state_dir is None:
        add("dedup", PASS, "no --state given: a new crawl has seen nothing (within a crawl, "
                           "a second request for the same page is dropped/duplicate)")
    else:
        owner, seen = state_has_seen(state_dir, fingerprint(request))
        if owner != spider.name:
            add("dedup", PASS, f"--state {state_dir} holds a crawl of spider {owner!r}, not "
                               f"{spider.name!r}: that crawl would refuse to resume")
        elif seen:
            add("dedup", REFUSE, f"already seen by the crawl in {state_dir} (dropped/duplicate)")
        else:
            add("dedup", PASS, f"not seen by the crawl in {state_dir}")

    # 5. the gates (robots.txt, fetched live), as the crawl opens them
    gates = hooks.open_gates(settings, spider, crawler.fetch)
    try:
        if not any(getattr(g, "name", "") == "robots" for g in gates):
            add("robots", OFF, "obey_robots is false: robots.txt is not fetched")
        for gate in gates:
            name = str(getattr(gate, "name", type(gate).__name__))
            own = await _own_step(gate, request)
            if own is not None:
                steps.append(own)
                continue
            reason = await gate.check(request)
            describe = getattr(gate, "describe", None)
            detail = describe(request) if callable(describe) else None
            if reason:
                what = {"robots": "robots.txt disallows it",
                        "robots_unavailable": "robots.txt could not be fetched"}.get(
                    reason, f"refused ({reason})")
                add(name, REFUSE, f"{what}{': ' + detail if detail else ''} (filtered/{reason})")
            else:
                add(name, PASS, detail or "allowed")

        # 6. the private-address guard, as the download would apply it
        host = hostname(url)
        if settings["allow_private_addresses"]:
            add("private_addresses", OFF, "allow_private_addresses is true")
        elif crawler.is_trusted_host(host):
            add("private_addresses", PASS, f"{host} is named by the spider (start_urls or "
                                           "allowed_hosts): it may be a private address")
        else:
            try:
                refusal = await crawler.downloader.address_refusal(url)
            except ConnectError as exc:
                add("private_addresses", PASS, f"{exc} (the download would fail: ConnectError)")
            else:
                if refusal:
                    add("private_addresses", REFUSE, f"{refusal}, and the spider does not name "
                                                     f"{host} (failed/BlockedAddress)")
                else:
                    add("private_addresses", PASS, f"{host} resolves to public addresses only")
    finally:
        for gate in gates:
            await gate.close()
        await crawler.downloader.close()
    return Explanation(url, tuple(steps))


def explain_main(argv: list[str]) -> int:
    p = command_parser("explain", "Why URL would be fetched or not: each rule of the crawl "
                                  "in order, and the one that decided.")
    p.add_argument("url")
    p.add_argument("--depth", type=int, default=1, metavar="N",
                   help="the depth of the link (default 1: found on a start page; a start URL "
                        "of the spider is depth 0)")
    p.add_argument("--state", metavar="DIR", help="check dedup against the crawl in DIR")
    add_crawl_options(p)
    ns = p.parse_args(argv)
    pairs(ns.args, "-a")
    setup_logging(ns)
    if ns.depth < 0:
        raise ConfigError(f"--depth must be 0 or more, got {ns.depth}")
    if ns.state is not None:
        state_has_seen(ns.state, b"")  # a missing or unreadable state is a usage error
    crawler = build_crawler(ns, spider_class(ns))
    result = run_async(explain(crawler, ns.url, depth=ns.depth, state_dir=ns.state))
    print(f"{ns.url} (spider {crawler.spider.name!r})")
    width = max(len(s.rule) for s in result.steps)
    for step in result.steps:
        print(f"  {step.verdict.upper() if step.verdict == REFUSE else step.verdict:7} "
              f"{step.rule:{width}}  {step.detail}")
    decided = result.decided_by
    print("=> fetched" if decided is None else f"=> not fetched: decided by {decided.rule}")
    return 0 if decided is None else 1
