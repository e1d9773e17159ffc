"""The versioned request codec of the frontier backends that store requests outside this
process: the SQLite state (``--state``) and the shared Redis frontier (``--frontier``).

>>> data = encode_request(Request("http://a.test/", "parse_item", meta={"page": 2}))
>>> decode_request(data).meta
{'page': 2}

A request becomes one JSON object with a format version (``"v": 1``) and short keys;
callbacks and errbacks are stored by the *name* of a spider method, ``meta`` and
``cb_kwargs`` must be plain JSON data. Nothing is pickled, and decoding never imports or calls
anything: a row that is not a request this codec wrote is refused with
:class:`~acrawl.errors.SerializationError`. The format is described in docs/state.md.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from ..errors import SerializationError
from ..http import Request

if TYPE_CHECKING:
    from ..spider import Spider

__all__ = ["FORMAT_VERSION", "decode_request", "encode_request"]

#: the ``"v"`` of every encoded request (and the ``format`` of a ``--state`` database)
FORMAT_VERSION = 1


def _callback_name(cb: Any, spider: Spider | None, what: str, url: str) -> str | None:
    if cb is None or isinstance(cb, str):
        return cb
    owner = getattr(cb, "__self__", None)
    name = getattr(cb, "__name__", None)
    if owner is not None and owner is spider and name and getattr(spider, name, None) == cb:
        return name
    raise SerializationError(
        f"request {url}: {what} {cb!r} is not a method of the spider; a durable or shared "
        "frontier stores callbacks by name")


def encode_request(request: Request, spider: Spider | None = None) -> bytes:
    """``request`` as versioned JSON bytes; SerializationError if it cannot be stored (a
    callback or errback that is not a method of ``spider``, ``meta``/``cb_kwargs`` that are
    not plain JSON data)."""
    data = {
        "v": FORMAT_VERSION,
        "url": request.url,
        "cb": _callback_name(request.callback, spider, "callback", request.url),
        "eb": _callback_name(request.errback, spider, "errback", request.url),
        "m": request.method,
        "h": request.headers or None,
        "b": base64.b64encode(request.body).decode() if request.body else None,
        "meta": request.meta or None,
        "kw": request.cb_kwargs or None,
        "p": request.priority,
        "df": request.dont_filter,
        "d": request.depth,
        "r": request.retries,
        "rd": request.redirects,
        "ref": request.referer,
    }
    if request.cookies:
        data["ck"] = request.cookies
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise SerializationError(
            f"request {request.url}: meta/cb_kwargs/cookies must be plain JSON data "
            f"(str, int, float, bool, None, list, dict) to be stored: {exc}") from None


#: stored field -> the types it may hold (a damaged or foreign row is refused, not crawled)
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "url": (str,), "cb": (str, type(None)), "eb": (str, type(None)), "m": (str,),
    "h": (dict, type(None)), "b": (str, type(None)), "meta": (dict, type(None)),
    "kw": (dict, type(None)), "p": (int,), "df": (bool,), "d": (int,), "r": (int,),
    "rd": (int,), "ref": (str, type(None)), "ck": (dict, list, type(None)),
}


def decode_request(raw: bytes | str) -> Request:
    """The inverse of :func:`encode_request` (never unpickles or imports anything);
    SerializationError for anything that is not a request it wrote."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise SerializationError(f"stored request is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("v") != FORMAT_VERSION:
        raise SerializationError(f"unsupported stored request format: {str(raw)[:80]}")
    for key, types in _FIELD_TYPES.items():
        value = data.get(key)
        if (key == "url" or value is not None) and (
                not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
            raise SerializationError(f"stored request field {key!r} is not "
                                     f"{' or '.join(t.__name__ for t in types)}: {value!r:.80}")
    headers = data.get("h") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise SerializationError(f"stored request headers are not strings: {headers!r:.80}")
    try:
        body = base64.b64decode(data["b"], validate=True) if data.get("b") else None
    except ValueError as exc:
        raise SerializationError(f"stored request body is not base64: {exc}") from None
    cookies = data.get("ck")
    if isinstance(cookies, list) and not all(isinstance(c, dict) for c in cookies):
        raise SerializationError(f"stored request cookies are not dicts: {cookies!r:.80}")
    return Request(
        data["url"], data.get("cb"), data.get("eb"), method=data.get("m", "GET"),
        headers=headers or None, body=body,
        meta=data.get("meta"), cb_kwargs=data.get("kw"), priority=data.get("p", 0),
        dont_filter=data.get("df", False), depth=data.get("d", 0), retries=data.get("r", 0),
        redirects=data.get("rd", 0), referer=data.get("ref"), cookies=cookies,
    )
