"""Items: what a callback yields that is neither a request nor ``None``.

Any type `itemadapter <https://github.com/scrapy/itemadapter>`_ supports is an item: a dict,
a dataclass or attrs instance, a pydantic model, a ``scrapy.Item`` (when Scrapy is
installed). The engine converts each to a plain dict with :func:`to_item` before the sinks
and hooks see it, keeping the item's field order (CSV columns follow it).

>>> import dataclasses
>>> @dataclasses.dataclass
... class Quote:
...     text: str
...     author: str
>>> to_item(Quote("To be.", "Anon"))
{'text': 'To be.', 'author': 'Anon'}
>>> to_item(Link("http://a.test/")) is None     # acrawl's own data is no item
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .http import Failure, Link, Request, Response

if TYPE_CHECKING:
    from itemadapter import ItemAdapter

__all__ = ["is_item", "to_item"]

#: acrawl's attrs classes are attrs instances to itemadapter, but yielded by mistake (a
#: ``response`` instead of an item, a link instead of ``response.follow(link)``); a
#: dataclass or attrs *class* is no item either
_NOT_ITEMS = (Request, Response, Link, Failure, type)
#: type -> whether its instances are items (bounded: types made on the fly are possible)
_item_types: dict[type, bool] = {}
_MAX_TYPES = 1024


def is_item(obj: Any) -> bool:
    """Whether a callback's output ``obj`` is an item (see :func:`to_item`)."""
    return to_item(obj) is not None


def to_item(obj: Any) -> dict[str, Any] | None:
    """``obj`` as an item dict, or ``None`` if it is not an item.

    A dict is returned as it is (the common case, decided before anything else); any other
    type itemadapter supports becomes ``ItemAdapter(obj).asdict()`` (nested items converted
    too), except acrawl's own ``Request``, ``Response``, ``Link`` and ``Failure``. Whether a
    type is an item type is asked once per type.
    """
    if isinstance(obj, dict):
        return obj
    cls = type(obj)
    known = _item_types.get(cls)
    if known is None:
        known = not issubclass(cls, _NOT_ITEMS) and _adapter().is_item_class(cls)
        if len(_item_types) >= _MAX_TYPES:
            _item_types.clear()
        _item_types[cls] = known
    return _adapter()(obj).asdict() if known else None


def _adapter() -> type[ItemAdapter]:
    """itemadapter, imported on first use: it imports pydantic (when installed), 0.1 s and
    15 MiB that a crawl yielding only dicts does not need."""
    from itemadapter import ItemAdapter

    return ItemAdapter
