"""Requests built from form data, HTML forms and JSON: Scrapy's ``FormRequest`` and
``JsonRequest``.

>>> FormRequest("http://a.test/login", formdata={"user": "ann"}).body
b'user=ann'
>>> JsonRequest("http://a.test/api", data={"page": 2}).method
'POST'

In a callback, submit the page's form with its hidden fields (a CSRF token, say), the
selected options and checked boxes, and your own values on top::

    def parse(self, response):
        yield acrawl.FormRequest.from_response(
            response, formdata={"username": "ann", "password": "secret"},
            callback=self.after_login)

Both are subclasses of :class:`~acrawl.Request` with no fields of their own: a stored
request (``--state``, ``--frontier``) comes back as the equivalent ``Request``.
``from_response`` reads the form with `form2request <https://github.com/scrapy/form2request>`_.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import attrs
from form2request import form2request
from parsel import Selector

from .http import Callback, Request, Response

__all__ = ["FormRequest", "JsonRequest"]

logger = logging.getLogger(__name__)

FormData = Mapping[str, Any] | Iterable[tuple[str, Any]]

#: methods whose form data goes into the URL's query instead of the body
_QUERY_METHODS = frozenset({"GET", "HEAD"})
_CLICKABLES = ('descendant::input[re:test(@type, "^(submit|image)$", "i")]'
               '|descendant::button[not(@type) or re:test(@type, "^submit$", "i")]')
_REGEX_NS = {"re": "http://exslt.org/regular-expressions"}
_URLENCODED = "application/x-www-form-urlencoded"
JSON_ACCEPT = "application/json, text/javascript, */*; q=0.01"


def _has_header(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
                name: str) -> bool:
    if not headers:
        return False
    keys = headers.keys() if isinstance(headers, Mapping) else (k for k, _ in headers)
    return any(str(k).lower() == name for k in keys)


def _with_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
                  defaults: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``headers`` as a dict, plus each of ``defaults`` it does not have (any case)."""
    out = dict(headers.items() if isinstance(headers, Mapping) else headers or ())
    for name, value in defaults:
        if not _has_header(out, name.lower()):
            out[name] = value
    return out


def _pairs(formdata: FormData) -> list[tuple[str, Any]]:
    """``formdata`` as (name, value) pairs; a ``None`` value leaves the field out."""
    items = formdata.items() if isinstance(formdata, Mapping) else formdata
    try:
        return [(k, v) for k, v in items if v is not None]
    except (TypeError, ValueError):
        raise ValueError("formdata must be a dict or an iterable of (name, value) "
                         f"pairs, got {formdata!r:.80}") from None


class FormRequest(Request):
    """A request carrying form data (Scrapy's ``FormRequest``).

    ``formdata`` (a dict or (name, value) pairs; a list value repeats the field) is
    URL-encoded: into the body with ``Content-Type: application/x-www-form-urlencoded`` (unless
    ``headers`` has one), or, for GET and HEAD, into the URL's query (replacing the query the
    URL had, as a browser does). The method defaults to POST when there is form data, else GET.
    """

    __slots__ = ()

    def __init__(
        self,
        url: str,
        callback: Callback = None,
        errback: Callback = None,
        method: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | str | None = None,
        meta: Mapping[str, Any] | None = None,
        cb_kwargs: Mapping[str, Any] | None = None,
        priority: int = 0,
        dont_filter: bool = False,
        *,
        formdata: FormData | None = None,
        **kwargs: Any,
    ) -> None:
        pairs = _pairs(formdata) if formdata is not None else []
        if method is None:
            method = "POST" if pairs else "GET"
        if pairs:
            encoded = urlencode(pairs, doseq=True)
            if method.upper() in _QUERY_METHODS:
                url = urlunsplit(urlsplit(url)._replace(query=encoded))
            else:
                body = encoded
                headers = _with_headers(headers, [("Content-Type", _URLENCODED)])
        super().__init__(url, callback, errback, method, headers, body, meta, cb_kwargs,
                         priority, dont_filter, **kwargs)

    @classmethod
    def from_response(
        cls,
        response: Response,
        *,
        formdata: FormData | None = None,
        formname: str | None = None,
        formid: str | None = None,
        formnumber: int = 0,
        formcss: str | None = None,
        formxpath: str | None = None,
        clickdata: Mapping[str, Any] | None = None,
        dont_click: bool = False,
        **kwargs: Any,
    ) -> FormRequest:
        """The request that submitting a form of ``response`` sends, as a browser would.

        The form is the first one matching ``formname`` (its ``name``), ``formid``,
        ``formxpath`` or ``formcss`` (an element in or the form itself), in that order, else
        form number ``formnumber``; none matching is a ``ValueError``.

        The data is the form's fields as the page has them (hidden inputs, text, the
        *selected* option of each select, checked checkboxes and radios, textareas), then
        ``formdata`` on top (a ``None`` value removes a field), then the name and value of
        the clicked submit button: the first, or the one ``clickdata`` picks by attributes
        (``{"name": "go"}``, ``{"value": "Next"}``) and/or by position among the buttons
        (``{"nr": 1}``); ``dont_click=True`` clicks none. The URL is the form's ``action``
        resolved against the page (its ``<base href>``), the method and encoding the form's
        (``method=`` overrides it; multipart forms are sent URL-encoded, as Scrapy does).
        Other keyword arguments (``callback``, ``meta``, ``headers``, ...) go to the request.
        """
        selector = _form_selector(response)
        form = _find_form(selector, response.url, formname=formname, formid=formid,
                          formnumber=formnumber, formcss=formcss, formxpath=formxpath)
        click: Any = False if dont_click else _clicked(form, clickdata)
        enctype = None
        if (form.get("enctype") or "").lower() == "multipart/form-data":
            logger.warning("form at %s is multipart/form-data; sending it URL-encoded",
                           response.url)
            enctype = _URLENCODED
        method = kwargs.pop("method", None)
        data: Any = None
        if formdata is not None:  # (None values stay: form2request drops those fields)
            data = dict(formdata) if isinstance(formdata, Mapping) else list(formdata)
            if not all(isinstance(p, tuple | list) and len(p) == 2 for p in
                       (data.items() if isinstance(data, dict) else data)):
                raise ValueError("formdata must be a dict or an iterable of (name, value) "
                                 f"pairs, got {formdata!r:.80}")
        built = form2request(form, data, click=click, method=method, enctype=enctype)
        url = built.url
        override = kwargs.pop("url", None)
        if override is not None:
            target = response.urljoin(override)
            if built.method in _QUERY_METHODS:
                target = urlunsplit(urlsplit(target)._replace(query=urlsplit(url).query))
            url = target
        headers = _with_headers(kwargs.pop("headers", None), built.headers)
        return cls(url, method=built.method, headers=headers, body=built.body or None, **kwargs)


def _form_selector(response: Response) -> Selector:
    """An HTML selector of ``response`` whose documents URL is the page's base URL (so
    ``form.action`` resolves against ``<base href>``); the response's own when it is one."""
    base = response.base_url
    sel = response.selector
    if sel.type == "html" and base == response.url:
        return sel
    return Selector(text=response.text or "<html></html>", type="html", base_url=base)


def _describe(forms: list[Any]) -> str:
    shown = []
    for i, f in enumerate(forms[:10]):
        attrs_ = " ".join(f"{a}={f.get(a)!r}" for a in ("name", "id", "action") if f.get(a))
        shown.append(f"#{i}" + (f" ({attrs_})" if attrs_ else ""))
    return ", ".join(shown) + (", ..." if len(forms) > 10 else "")


def _find_form(selector: Selector, url: str, *, formname: str | None, formid: str | None,
               formnumber: int, formcss: str | None, formxpath: str | None) -> Any:
    root = selector.root
    forms = root.xpath("//form")
    if not forms:
        raise ValueError(f"no <form> element found in {url}")
    wanted = []
    if formname is not None:
        wanted.append(f"name {formname!r}")
        found = root.xpath("//form[@name=$v]", v=formname)
        if found:
            return found[0]
    if formid is not None:
        wanted.append(f"id {formid!r}")
        found = root.xpath("//form[@id=$v]", v=formid)
        if found:
            return found[0]
    for kind, query in (("xpath", formxpath), ("css", formcss)):
        if query is None:
            continue
        wanted.append(f"{kind} {query!r}")
        nodes = selector.xpath(query) if kind == "xpath" else selector.css(query)
        for node in nodes:
            el = node.root
            while el is not None and getattr(el, "tag", None) != "form":
                el = el.getparent()
            if el is not None:
                return el
    if wanted:
        raise ValueError(f"no <form> with {' or '.join(wanted)} in {url} "
                         f"(forms there: {_describe(forms)})")
    try:
        if formnumber < 0:
            raise IndexError(formnumber)
        return forms[formnumber]
    except IndexError:
        raise ValueError(f"form number {formnumber} not found in {url}: it has "
                         f"{len(forms)} form{'s' if len(forms) != 1 else ''}") from None


def _clicked(form: Any, clickdata: Mapping[str, Any] | None) -> Any:
    """The submit element ``clickdata`` picks (None: let form2request click the first)."""
    if clickdata is None:
        return None
    clickables = form.xpath(_CLICKABLES, namespaces=_REGEX_NS)
    criteria = {k: str(v) for k, v in clickdata.items() if k != "nr"}
    matching = [el for el in clickables
                if all(el.get(k) == v for k, v in criteria.items())]
    nr = clickdata.get("nr")
    if nr is not None:
        if not isinstance(nr, int) or not 0 <= nr < len(matching):
            raise ValueError(f"no clickable element matching clickdata {dict(clickdata)!r} "
                             f"({len(matching)} match the other criteria)")
        return matching[nr]
    if len(matching) == 1:
        return matching[0]
    if not matching:
        raise ValueError(f"no clickable element matching clickdata {dict(clickdata)!r}")
    raise ValueError(f"{len(matching)} clickable elements match clickdata "
                     f"{dict(clickdata)!r}; add criteria or 'nr'")


class JsonRequest(Request):
    """A request with a JSON body (Scrapy's ``JsonRequest``).

    ``data`` is serialised with ``json.dumps(data, sort_keys=True, **dumps_kwargs)`` as the
    body, and makes the method POST unless ``method`` is given; a ``body`` given too wins
    (``data`` is then ignored, with a warning). ``Content-Type: application/json`` and
    ``Accept: application/json, text/javascript, */*; q=0.01`` are set unless ``headers``
    has them. Without ``data`` it is a GET asking for JSON.
    """

    __slots__ = ()

    def __init__(
        self,
        url: str,
        callback: Callback = None,
        errback: Callback = None,
        method: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | str | None = None,
        meta: Mapping[str, Any] | None = None,
        cb_kwargs: Mapping[str, Any] | None = None,
        priority: int = 0,
        dont_filter: bool = False,
        *,
        data: Any = None,
        dumps_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if data is not None:
            if body is not None:
                logger.warning("JsonRequest(%s): both body and data given; data is ignored", url)
            else:
                body = _dumps(data, dumps_kwargs)
                if method is None:
                    method = "POST"
        headers = _with_headers(headers, [("Content-Type", "application/json"),
                                          ("Accept", JSON_ACCEPT)])
        super().__init__(url, callback, errback, method or "GET", headers, body, meta,
                         cb_kwargs, priority, dont_filter, **kwargs)

    def replace(self, **changes: Any) -> Request:
        """A copy with ``changes`` applied; ``data=`` (and ``dumps_kwargs=``) re-encode the
        body, as in Scrapy."""
        data = changes.pop("data", None)
        dumps_kwargs = changes.pop("dumps_kwargs", None)
        if data is not None and changes.get("body") is None:
            changes["body"] = _dumps(data, dumps_kwargs)
        return attrs.evolve(self, **changes)


def _dumps(data: Any, dumps_kwargs: Mapping[str, Any] | None) -> str:
    return json.dumps(data, **{"sort_keys": True, **(dumps_kwargs or {})})
