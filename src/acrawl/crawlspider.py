"""``CrawlSpider`` and ``Rule``: declarative crawling, as in Scrapy.

>>> class Quotes(CrawlSpider):
...     name = "quotes"
...     start_urls = ["http://127.0.0.1:8000/"]
...     rules = (
...         Rule(LinkExtractor(allow=r"/page/\\d+/")),                    # follow, no items
...         Rule(LinkExtractor(allow=r"/author/"), callback="parse_author"),
...     )
...
...     def parse_author(self, response):
...         yield {"name": response.css("h3::text").get()}

For every page the crawl reaches, each rule's link extractor runs in order; a link goes to
the first rule that extracts it (links are deduplicated across rules per page), and its
request carries the rule's index in ``meta["rule"]``. Rule requests are handled by one named
spider method, ``_parse_rule``, so a durable or shared frontier (``--state``,
``--frontier``), which stores callbacks by name, resumes them like any other request.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar

import attrs

from .errors import CallbackError, ConfigError
from .http import Failure, Link, Request, Response
from .items import is_item
from .linkextractors import LinkExtractor
from .spider import Spider
from .urls import canonicalize

__all__ = ["CrawlSpider", "Rule"]

logger = logging.getLogger(__name__)


class Rule:
    """How a :class:`CrawlSpider` treats the links one extractor finds.

    Args:
        link_extractor: what finds the links (default: ``LinkExtractor()``, every link).
        callback: the spider method (or its name) that parses the pages the links lead to;
            ``None``: no callback (the pages are only followed).
        cb_kwargs: keyword arguments for ``callback``.
        follow: whether the rules also run on those pages; default ``True`` without a
            callback, ``False`` with one.
        process_links: ``f(links) -> links``, called with each page's links of this rule
            (a method or its name), e.g. to filter or rewrite them.
        process_request: ``f(request, response) -> request | None``, called for each request
            this rule makes (a method or its name); ``None`` drops it.
        errback: called with an :class:`acrawl.Failure` when a request of this rule fails.
    """

    __slots__ = ("callback", "cb_kwargs", "errback", "follow", "link_extractor",
                 "process_links", "process_request")

    def __init__(
        self,
        link_extractor: LinkExtractor | None = None,
        callback: Callable[..., Any] | str | None = None,
        cb_kwargs: dict[str, Any] | None = None,
        follow: bool | None = None,
        process_links: Callable[[list[Link]], Iterable[Link]] | str | None = None,
        process_request: Callable[[Request, Response], Request | None] | str | None = None,
        errback: Callable[[Failure], Any] | str | None = None,
    ) -> None:
        self.link_extractor = link_extractor if link_extractor is not None else LinkExtractor()
        self.callback = callback
        self.cb_kwargs = dict(cb_kwargs or {})
        self.follow = follow if follow is not None else callback is None
        self.process_links = process_links
        self.process_request = process_request
        self.errback = errback

    def __repr__(self) -> str:
        return (f"Rule({self.link_extractor!r}, callback={_name(self.callback)!r}, "
                f"follow={self.follow})")

    def _bound(self, spider: Spider, index: int) -> _BoundRule:
        """This rule with the names resolved to ``spider``'s methods; ConfigError if one is
        not a method of the spider."""
        resolved: dict[str, Callable[..., Any] | None] = {}
        for attr in ("callback", "process_links", "process_request", "errback"):
            value = getattr(self, attr)
            if isinstance(value, str):
                method = getattr(spider, value, None)
                if not callable(method):
                    raise ConfigError(f"spider {spider.name!r}: rule {index} {attr} "
                                      f"{value!r} is not a method of the spider")
                value = method
            elif value is not None and not callable(value):
                raise ConfigError(f"spider {spider.name!r}: rule {index} {attr} must be a "
                                  f"method name or a callable, got {value!r}")
            resolved[attr] = value
        return _BoundRule(link_extractor=self.link_extractor, cb_kwargs=self.cb_kwargs,
                          follow=self.follow, **resolved)


@attrs.frozen
class _BoundRule:
    """A rule of one spider instance: callables only."""

    link_extractor: LinkExtractor
    callback: Callable[..., Any] | None
    cb_kwargs: dict[str, Any]
    follow: bool
    process_links: Callable[[list[Link]], Iterable[Link]] | None
    process_request: Callable[[Request, Response], Request | None] | None
    errback: Callable[[Failure], Any] | None


def _name(func: Any) -> str | None:
    return func if func is None or isinstance(func, str) else getattr(
        func, "__name__", repr(func))


class CrawlSpider(Spider):
    """A spider that follows links by ``rules`` (Scrapy's ``CrawlSpider``).

    The start URLs are handled by ``parse`` (do not override it): ``parse_start_url`` gives
    their items, then the rules run. Each rule's callback gets the pages its links lead to;
    ``process_results(response, results)`` sees what a callback returned.
    """

    rules: ClassVar[Sequence[Rule]] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if type(self).parse is not CrawlSpider.parse:
            logger.warning("spider %r overrides parse, which CrawlSpider uses for its start "
                           "URLs: override parse_start_url instead", self.name)
        self._compile_rules()

    def _compile_rules(self) -> None:
        rules = self.rules
        if isinstance(rules, Rule) or not isinstance(rules, Sequence):
            raise ConfigError(f"spider {self.name!r}: rules must be a list or tuple of "
                              f"acrawl.Rule, got {rules!r:.80}")
        for i, rule in enumerate(rules):
            if not isinstance(rule, Rule):
                raise ConfigError(f"spider {self.name!r}: rule {i} is not an acrawl.Rule: "
                                  f"{rule!r:.80}")
        self._rules = [rule._bound(self, i) for i, rule in enumerate(rules)]

    # -- what users override ---------------------------------------------------------------------
    def parse_start_url(self, response: Response, **kwargs: Any) -> Any:
        """The output for a start URL's response (none by default)."""
        return ()

    def process_results(self, response: Response, results: Any) -> Any:
        """What a rule callback (or ``parse_start_url``) returned, before it is routed."""
        return results

    # -- the callbacks the requests carry --------------------------------------------------------
    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        """Start URLs: ``parse_start_url``'s output, then the rules' requests."""
        async for out in self._parse_response(response, self.parse_start_url, kwargs, True):
            yield out

    async def _parse_rule(self, response: Response, **cb_kwargs: Any) -> AsyncIterator[Any]:
        """The callback of every request a rule made: that rule's callback, then (if it
        follows) the rules again."""
        rule = self._rule_of(response.request)
        async for out in self._parse_response(response, rule.callback,
                                              {**rule.cb_kwargs, **cb_kwargs}, rule.follow):
            yield out

    async def _rule_errback(self, failure: Failure) -> AsyncIterator[Any]:
        """The errback of the requests of a rule with an errback."""
        rule = self._rule_of(failure.request)
        if rule.errback is not None:
            async for out in _outputs(rule.errback(failure)):
                yield out

    # -- machinery --------------------------------------------------------------------------------
    def _rule_of(self, request: Request) -> _BoundRule:
        index = request.meta.get("rule")
        if type(index) is not int or not 0 <= index < len(self._rules):
            raise CallbackError(
                f"{request.url}: meta['rule'] is {index!r}, not one of the spider's "
                f"{len(self._rules)} rules (a request stored before the rules changed?)",
                request)
        return self._rules[index]

    async def _parse_response(self, response: Response, callback: Callable[..., Any] | None,
                              cb_kwargs: dict[str, Any], follow: bool) -> AsyncIterator[Any]:
        failed: Exception | None = None
        if callback is not None:
            try:
                result = callback(response, **cb_kwargs)
                if inspect.isawaitable(result):
                    result = await result
                async for out in _outputs(self.process_results(response, result)):
                    yield out
            except Exception as exc:  # the links are still followed; then it is reported
                failed = exc
        if follow:
            for request in self._requests_to_follow(response):
                yield request
        if failed is not None:
            raise failed

    def _requests_to_follow(self, response: Response) -> Iterator[Request]:
        seen: set[str] = set()
        depth = response.request.depth + 1
        for index, rule in enumerate(self._rules):
            links = [link for link in rule.link_extractor.extract_links(response)
                     if canonicalize(link.url) not in seen]
            if rule.process_links is not None:
                links = list(rule.process_links(links))
            errback = self._rule_errback if rule.errback is not None else None
            for link in links:
                seen.add(canonicalize(link.url))
                request = Request(link.url, self._parse_rule, errback,
                                  meta={"rule": index, "link_text": link.text},
                                  depth=depth, referer=response.url)
                if rule.process_request is None:
                    yield request
                    continue
                processed = rule.process_request(request, response)
                if processed is not None:
                    yield processed


async def _outputs(result: Any) -> AsyncIterator[Any]:
    """Whatever a callback returned, one output at a time (as the engine routes it)."""
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        return
    if isinstance(result, Request | str | bytes) or is_item(result):
        yield result
    elif isinstance(result, AsyncIterable):
        async for out in result:
            yield out
    elif isinstance(result, Iterable):
        for out in result:
            yield out
    else:
        yield result
