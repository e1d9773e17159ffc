"""``acrawl.items.to_item``: what counts as an item, and the dict it becomes."""

from __future__ import annotations

import dataclasses
from typing import Any

import attrs
import pytest

from acrawl.http import Failure, Link, Request, Response
from acrawl.items import is_item, to_item


@dataclasses.dataclass
class Quote:
    text: str
    author: str
    tags: list[str] = dataclasses.field(default_factory=list)


@attrs.define
class Author:
    name: str
    born: str | None = None
    quote: Quote | None = None


def test_a_dict_is_returned_as_it_is() -> None:
    item = {"b": 1, "a": 2}
    assert to_item(item) is item


def test_a_dataclass_becomes_a_dict_in_field_order() -> None:
    item = to_item(Quote("To be.", "Anon", ["life"]))
    assert item == {"text": "To be.", "author": "Anon", "tags": ["life"]}
    assert list(item) == ["text", "author", "tags"]


def test_an_attrs_instance_becomes_a_dict_with_nested_items_converted() -> None:
    item = to_item(Author("Jane", "1775", Quote("x", "Jane")))
    assert item == {"name": "Jane", "born": "1775",
                    "quote": {"text": "x", "author": "Jane", "tags": []}}
    assert list(item) == ["name", "born", "quote"]


def test_a_pydantic_model_is_an_item() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Book(pydantic.BaseModel):
        title: str
        price: float
        isbn: str | None = None

    item = to_item(Book(title="T", price=1.5))
    assert item == {"title": "T", "price": 1.5, "isbn": None}
    assert list(item) == ["title", "price", "isbn"]


def test_a_scrapy_item_is_an_item_when_scrapy_is_installed() -> None:
    scrapy = pytest.importorskip("scrapy")

    class Product(scrapy.Item):
        name = scrapy.Field()
        price = scrapy.Field()

    assert to_item(Product(name="n", price=2)) == {"name": "n", "price": 2}


def _response() -> Response:
    return Response("http://a.test/", 200, {}, b"", Request("http://a.test/"))


@pytest.mark.parametrize("obj", [
    pytest.param(_response(), id="Response"),
    pytest.param(Link("http://a.test/"), id="Link"),
    pytest.param(Request("http://a.test/"), id="Request"),
    pytest.param(Failure(Request("http://a.test/"), ValueError("x")), id="Failure"),
    pytest.param(Quote, id="a dataclass class"),
    pytest.param(Author, id="an attrs class"),
    pytest.param("text", id="str"),
    pytest.param(3, id="int"),
    pytest.param([{"a": 1}], id="list"),
    pytest.param(None, id="None"),
])
def test_what_is_no_item(obj: Any) -> None:
    assert to_item(obj) is None
    assert not is_item(obj)


def test_the_answer_per_type_is_remembered_but_does_not_leak_between_types() -> None:
    assert to_item(Quote("a", "b")) is not None
    assert to_item("a") is None
    assert to_item(Quote("c", "d")) == {"text": "c", "author": "d", "tags": []}
