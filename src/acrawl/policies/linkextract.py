"""Built-in link extractor plugin: ``<a href>`` and ``<area href>`` of HTML pages.

It walks the page's one lxml tree (the same tree ``response.css``/``xpath`` use), so a page is
parsed at most once. Links with ``rel="nofollow"`` are reported with ``nofollow=True``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ..http import Link

if TYPE_CHECKING:
    from ..http import Response

__all__ = ["acrawl_extract_links", "is_html"]

_TAGS = ("a", "area")


def is_html(response: Response) -> bool:
    ctype = response.content_type.split(";", 1)[0].strip().lower()
    if ctype:
        return ctype in ("text/html", "application/xhtml+xml") or ctype.startswith("text/html")
    head = response.body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


@hookimpl
def acrawl_extract_links(response: Response) -> list[Link] | None:
    if not is_html(response):
        return None
    root = response.selector.root
    if not hasattr(root, "iter"):
        return None
    out: list[Link] = []
    for el in root.iter(*_TAGS):
        href = el.get("href")
        if not href:
            continue
        rel = (el.get("rel") or "").lower()
        out.append(Link(href, (el.text or "").strip(), "nofollow" in rel))
    return out
