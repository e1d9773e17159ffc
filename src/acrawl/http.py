"""Request, Response and Link: the data that flows through a crawl.

``Request`` and ``Link`` are frozen attrs classes; derive a changed copy with
``attrs.evolve(request, priority=5)`` or ``request.replace(priority=5)``.
``Response`` decodes its text and builds its parsel selector lazily, once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urljoin

import attrs
from parsel import Selector, SelectorList
from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    to_unicode,
)

from .urls import Joiner, host_key

__all__ = ["Failure", "Link", "Request", "Response", "header_text", "plain_headers"]

#: headers that carry credentials: they stay with their origin (dropped on a cross-origin
#: redirect; from ``default_headers``, sent only to the origins the user named)
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})

Callback = Callable[..., Any] | str | None


def _to_headers(value: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> dict[str, str]:
    if not value:
        return {}
    items = value.items() if isinstance(value, Mapping) else value
    return {k if type(k) is str else header_text(k): v if type(v) is str else header_text(v)
            for k, v in items}


def header_text(value: Any) -> str:
    """A header name or value as ``str``: bytes (Scrapy's header type) decoded as UTF-8
    (Latin-1 if they are not), anything else ``str()``."""
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value).decode("latin-1")
    return str(value)


def plain_headers(headers: dict[str, str]) -> None:
    """Make every name and value of ``headers`` a ``str`` in place (see :func:`header_text`),
    as a middleware ported from Scrapy may set them as bytes; a name given twice that way
    (``b"User-Agent"`` after ``"User-Agent"``) keeps the later value."""
    if all(type(k) is str and type(v) is str for k, v in headers.items()):
        return
    fixed = {header_text(k): header_text(v) for k, v in headers.items()}
    headers.clear()
    headers.update(fixed)


def _to_cookies(value: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """``Request(cookies=...)``: a dict of names to values, or a list of dicts with ``name``,
    ``value`` and optionally ``domain``, ``path``, ``secure`` (Scrapy's two forms), copied."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list | tuple) and all(isinstance(c, Mapping) for c in value):
        return [dict(c) for c in value]
    raise TypeError("Request(cookies=...) takes a dict of names to values or a list of dicts "
                    f"with 'name' and 'value', not {type(value).__name__}")


def _upper(value: str) -> str:
    return str(value).upper()


def _to_body(value: bytes | str | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


@attrs.frozen(slots=True, weakref_slot=False, init=False)
class Request:
    """A request to fetch, Scrapy-style.

    ``callback``/``errback`` are callables (usually spider methods) or method names; ``None``
    means ``spider.parse``. ``depth``, ``retries``, ``redirects`` and ``referer`` are filled in
    by the engine as the crawl goes. ``method`` is upper-cased, ``headers`` become a dict of
    strings, a ``str`` body is UTF-8 encoded, ``meta`` and ``cb_kwargs`` are copied.
    ``cookies`` (a dict, or a list of dicts with ``name``/``value``/``domain``/``path``) go into
    the crawl's cookie jar for this request's URL and are sent with it (the ``cookies``
    component).
    """

    url: str
    callback: Callback = None
    errback: Callback = None
    method: str = "GET"
    headers: dict[str, str] = attrs.field(factory=dict)
    body: bytes | None = None
    meta: dict[str, Any] = attrs.field(factory=dict)
    cb_kwargs: dict[str, Any] = attrs.field(factory=dict)
    priority: int = 0
    dont_filter: bool = False
    cookies: dict[str, Any] | list[dict[str, Any]] | None = None
    depth: int = attrs.field(default=0, kw_only=True)
    retries: int = attrs.field(default=0, kw_only=True)
    redirects: int = attrs.field(default=0, kw_only=True)
    referer: str | None = attrs.field(default=None, kw_only=True)

    # Written out rather than generated with converters: a crawl builds one Request per
    # extracted link, and the defaults need no conversion.
    def __init__(
        self,
        url: str,
        callback: Callback = None,
        errback: Callback = None,
        method: str = "GET",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | str | None = None,
        meta: Mapping[str, Any] | None = None,
        cb_kwargs: Mapping[str, Any] | None = None,
        priority: int = 0,
        dont_filter: bool = False,
        cookies: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None,
        *,
        depth: int = 0,
        retries: int = 0,
        redirects: int = 0,
        referer: str | None = None,
    ) -> None:
        # each slot set through its own descriptor (bound once, below the class): about twice
        # as fast as object.__setattr__, and a request is built for every extracted link
        _url(self, url)
        _callback(self, callback)
        _errback(self, errback)
        _method(self, method if method == "GET" else _upper(method))
        _headers(self, _to_headers(headers) if headers else {})
        _body(self, body if body is None else _to_body(body))
        _meta(self, dict(meta) if meta else {})
        _cb_kwargs(self, dict(cb_kwargs) if cb_kwargs else {})
        _priority(self, priority)
        _dont_filter(self, dont_filter)
        _cookies(self, _to_cookies(cookies) if cookies else None)
        _depth(self, depth)
        _retries(self, retries)
        _redirects(self, redirects)
        _referer(self, referer)

    def replace(self, **changes: Any) -> Request:
        """A copy with ``changes`` applied (``attrs.evolve``)."""
        return attrs.evolve(self, **changes)

    @property
    def host(self) -> str:
        """The politeness slot key: ``host[:port]`` of the URL, lower-cased, unless
        ``meta["download_slot"]`` names another slot (Scrapy's meta key)."""
        meta = self.meta
        if meta:
            slot = meta.get("download_slot")
            if slot is not None:
                return str(slot)
        return host_key(self.url)


def _slot_setter(name: str) -> Callable[[Request, Any], None]:
    setter: Callable[[Request, Any], None] = Request.__dict__[name].__set__
    return setter


_url, _callback, _errback = _slot_setter("url"), _slot_setter("callback"), _slot_setter("errback")
_method, _headers, _body = _slot_setter("method"), _slot_setter("headers"), _slot_setter("body")
_meta, _cb_kwargs = _slot_setter("meta"), _slot_setter("cb_kwargs")
_priority, _dont_filter = _slot_setter("priority"), _slot_setter("dont_filter")
_cookies, _depth, _retries = _slot_setter("cookies"), _slot_setter("depth"), _slot_setter("retries")
_redirects, _referer = _slot_setter("redirects"), _slot_setter("referer")


@attrs.frozen(slots=True)
class Link:
    """A link found on a page by a link extractor. ``url`` is absolute."""

    url: str
    text: str = ""
    nofollow: bool = False


@attrs.frozen(slots=True)
class Failure:
    """What an errback receives: the request that failed and why."""

    request: Request
    exception: BaseException

    @property
    def value(self) -> BaseException:  # Twisted/Scrapy spelling
        return self.exception

    def check(self, *error_types: type[BaseException]) -> type[BaseException] | None:
        """The first of ``error_types`` the exception is an instance of, else ``None``
        (Twisted's ``Failure.check``, as Scrapy errbacks use it)."""
        for error_type in error_types:
            if isinstance(self.exception, error_type):
                return error_type
        return None

    def __str__(self) -> str:
        return f"{type(self.exception).__name__}: {self.exception} ({self.request.url})"


class _Selector(Selector):
    """parsel's ``Selector`` with a faster ``get()`` for string results (attribute values and
    text nodes, what crawls extract most): the same string, without first asking lxml's
    serializer, which raises ``TypeError`` on a string before parsel falls back to it."""

    __slots__ = ()

    def get(self) -> Any:
        root = self.root
        if type(root) is str and self.type in ("html", "xml"):
            return root
        return super().get()

    extract = get


_UNSET: Any = object()
#: the headers of a response made without any (read-only: one object shared by all)
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
_UTF8_BOM = b"\xef\xbb\xbf"


@attrs.define(slots=True, eq=False)
class Response:
    """A downloaded response. Built by the downloader; read by callbacks.

    ``text`` is decoded per the HTTP header, then a BOM / ``<meta charset>``, then detection,
    replacing invalid bytes (it never raises). ``css``/``xpath`` share one parsed tree, built on
    first use; the link extractors reuse it.
    """

    url: str
    #: the defaults (and ``encoding``) are Scrapy's, for a response a middleware makes:
    #: ``Response(url=request.url, body=..., encoding="utf-8", request=request)``
    status: int = 200
    headers: Mapping[str, str] = _NO_HEADERS
    body: bytes = b""
    request: Request = None  # type: ignore[assignment]  # (a middleware's: filled in)
    truncated: bool = False
    #: Scrapy's ``Response.flags``: ``"cached"`` on a response the replay cache answered with
    flags: list[str] = attrs.field(factory=list, kw_only=True)
    #: set by the engine: returns the links of the enabled extractors
    _links_provider: Callable[[Response], list[Link]] | None = attrs.field(
        default=None, alias="links_provider", repr=False
    )
    _text: str | None = attrs.field(default=None, init=False, repr=False)
    #: given (Scrapy's ``encoding=``), it decodes ``text``; else found when first needed
    _encoding: str | None = attrs.field(default=None, alias="encoding", repr=False)
    _selector: Selector | None = attrs.field(default=None, init=False, repr=False)
    _links: list[Link] | None = attrs.field(default=None, init=False, repr=False)
    _base_url: str = attrs.field(default=_UNSET, init=False, repr=False)
    _joiner: Joiner | None = attrs.field(default=None, init=False, repr=False)

    def replace(self, **changes: Any) -> Response:
        """A copy with ``changes`` applied (Scrapy's ``Response.replace``): ``body``,
        ``status``, ``headers``, ``url``, ``flags``...; the copy decodes and parses its own
        body, nothing cached is carried over (the encoding neither, unless given)."""
        changes.setdefault("encoding", None)
        return attrs.evolve(self, **changes)

    # -- decoding -------------------------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        """The request's ``meta``, with ``"depth"`` set to the request's depth, as Scrapy's
        depth middleware leaves it (so ``response.meta.get("depth", 0)`` ports unchanged, and
        ``follow(url, meta=response.meta)`` does not carry a stale depth: each response sets
        its own)."""
        request = self.request
        meta = request.meta
        meta["depth"] = request.depth
        return meta

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "") or ""

    def _decode(self) -> None:
        if self._encoding is not None:  # given, or found as plain UTF-8 by _plain_utf8
            try:
                self._text = to_unicode(self.body, self._encoding)
                return
            except LookupError:  # an unknown encoding given: decode as if none was
                self._encoding = None
        ctype = self.content_type
        try:
            enc, text = html_to_unicode(ctype, self.body, auto_detect_fun=_detect_encoding)
        except Exception:  # pragma: no cover - w3lib is robust, be more so
            enc, text = "utf-8", self.body.decode("utf-8", "replace")
        self._encoding, self._text = enc, text

    def _plain_utf8(self) -> bool:
        """True when ``html_to_unicode`` would decode the body as UTF-8 without a BOM (the
        common case): the same steps (BOM, header charset, ``<meta>``), stopping before the
        costly detection. The parser then reads the bytes as they are, without the decode to
        ``str`` and the re-encode parsel would do."""
        if self._encoding is not None:
            return self._encoding == "utf-8" and not self.body.startswith(_UTF8_BOM)
        if read_bom(self.body)[0] is not None:
            return False
        enc = http_content_type_encoding(self.content_type)
        if enc is None:
            enc = html_body_declared_encoding(self.body)
        if enc == "utf-8":
            self._encoding = enc
            return True
        return False

    @property
    def encoding(self) -> str:
        """The encoding ``text`` was decoded with."""
        if self._encoding is None:
            self._decode()
        assert self._encoding is not None
        return self._encoding

    @property
    def text(self) -> str:
        if self._text is None:
            self._decode()
        assert self._text is not None
        return self._text

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` if it is not JSON)."""
        return json.loads(self.text)

    # -- selectors ------------------------------------------------------------------------------
    @property
    def selector(self) -> Selector:
        if self._selector is None:
            kind = "xml" if _looks_xml(self.content_type) else "html"
            if self.body.strip() and self._plain_utf8():
                self._selector = _Selector(body=self.body, encoding="utf-8", type=kind,
                                           base_url=self.url)
            else:
                self._selector = _Selector(text=self.text or "<html></html>", type=kind,
                                           base_url=self.url)
        return self._selector

    def css(self, query: str) -> SelectorList[Selector]:
        return self.selector.css(query)

    def xpath(self, query: str, **kwargs: Any) -> SelectorList[Selector]:
        return self.selector.xpath(query, **kwargs)

    # -- following ------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The URL relative links resolve against (``<base href>`` if the page has one)."""
        if self._base_url is _UNSET:
            base = self.url
            if self._selector is not None or b"<base" in self.body[:8192].lower():
                href = self.selector.xpath("//base/@href").get()
                if href:
                    base = urljoin(self.url, href.strip())
            self._base_url = base
        return self._base_url

    def urljoin(self, url: str) -> str:
        """``url`` made absolute against the page (its ``<base href>`` if any)."""
        joiner = self._joiner
        if joiner is None:
            joiner = self._joiner = Joiner(self.base_url)
        return joiner.join(url)

    def follow(
        self, url: str | Link | Selector, callback: Callback = None, **kwargs: Any
    ) -> Request:
        """A request for ``url`` (relative to this page), one level deeper.

        A ``mailto:``/``javascript:``/``tel:`` URL gives a request the engine drops and counts
        as filtered; it never raises in the callback.
        """
        if type(url) is str:
            target = url
        elif isinstance(url, Link):
            target = url.url
        elif isinstance(url, Selector):
            target = _selector_href(url)
        elif isinstance(url, str):
            target = str(url)
        elif url is None:
            raise ValueError("follow(): the URL is None (a .get() that selected nothing?)")
        else:
            hint = " (use follow_all)" if isinstance(url, list | tuple | SelectorList) else ""
            raise TypeError(f"follow() takes a URL string, Link or Selector, not "
                            f"{type(url).__name__}{hint}")
        joiner = self._joiner
        if joiner is None:
            joiner = self._joiner = Joiner(self.base_url)
        try:
            absolute = joiner.join(target)
        except ValueError:  # unparsable (e.g. "//["): the engine drops it as an invalid URL
            absolute = target
        if kwargs:
            kwargs.setdefault("depth", self.request.depth + 1)
            kwargs.setdefault("referer", self.url)
            return Request(absolute, callback, **kwargs)
        return Request(absolute, callback, depth=self.request.depth + 1, referer=self.url)

    def follow_all(
        self,
        urls: Iterable[str | Link | Selector] | None = None,
        callback: Callback = None,
        *,
        css: str | None = None,
        xpath: str | None = None,
        **kwargs: Any,
    ) -> list[Request]:
        """Requests for every URL in ``urls``, or every link the ``css``/``xpath`` query selects."""
        if (urls is not None) + (css is not None) + (xpath is not None) != 1:
            raise ValueError("follow_all() takes exactly one of urls, css= or xpath=")
        if urls is None:
            selected = self.css(css) if css is not None else self.xpath(xpath)  # type: ignore[arg-type]
            urls = []
            for sel in selected:
                try:
                    href = _selector_href(sel)
                except ValueError:  # an element without href/src: skipped, as in Scrapy
                    continue
                if href:
                    urls.append(href)
        return [self.follow(u, callback, **kwargs) for u in urls]

    def links(self) -> list[Link]:
        """The links found by the enabled link extractors: absolute, canonical, deduplicated."""
        if self._links is None:
            self._links = self._links_provider(self) if self._links_provider else []
        return self._links

    def __repr__(self) -> str:
        return f"<{self.status} {self.url}>"


def _selector_href(sel: Selector) -> str:
    root = sel.root
    if isinstance(root, str):
        return root
    for attr in ("href", "src"):
        value = sel.attrib.get(attr)
        if value is not None:
            return str(value)
    raise ValueError(f"cannot follow {sel!r}: no href or src attribute")


def _looks_xml(content_type: str) -> bool:
    ct = content_type.split(";", 1)[0].strip().lower()
    return ct.endswith("/xml") or ct.endswith("+xml")


def _detect_encoding(body: bytes) -> str | None:
    """Last resort after header, BOM and ``<meta>``: utf-8 if it decodes, else cp1252."""
    try:
        body[:65536].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > 65530:  # a multi-byte char cut at the window edge
            return "utf-8"
    return "cp1252"

