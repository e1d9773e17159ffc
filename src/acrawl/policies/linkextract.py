"""Built-in link extractor plugin: ``<a href>`` and ``<area href>`` of HTML pages.

It walks the page's one lxml tree (the same tree ``response.css``/``xpath`` use), so a page is
parsed at most once. Links with ``rel="nofollow"`` are reported with ``nofollow=True``.

libxml2 stops parsing a document nested deeper than its limit (2,047 levels with
``huge_tree``, 255 without): the tree then ends inside the nesting, and the links in and after
it are not in it. Such a cut tree is recognised by its last element lying that deep, and the
links are then found by :func:`scan_links`, from the parser's events instead of its tree
(libxml2 limits the depth of the trees it builds only).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..hookspecs import hookimpl
from ..http import Link

if TYPE_CHECKING:
    from ..http import Response

__all__ = ["acrawl_extract_links", "is_html", "scan_links"]

logger = logging.getLogger(__name__)

_TAGS = ("a", "area")
#: a tree whose last element is this deep was cut by the parser's depth limit (libxml2 stops at
#: 255 levels, 2,047 with huge_tree; real pages are nowhere near either)
_CUT_DEPTH = 250


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
    if _cut(root):
        logger.info("%s is nested deeper than the HTML parser goes: links found by a scan of "
                    "its text", response.url)
        return scan_links(response)
    out: list[Link] = []
    for el in root.iter(*_TAGS):
        href = el.get("href")
        if not href:
            continue
        rel = (el.get("rel") or "").lower()
        out.append(Link(href, (el.text or "").strip(), "nofollow" in rel))
    return out


def _cut(root: Any) -> bool:
    """True if the tree ends ``_CUT_DEPTH`` levels deep: where a parse stopped by the depth
    limit ends (its last node is the deepest one). A few steps on ordinary pages."""
    el = root
    for _ in range(_CUT_DEPTH):
        try:
            el = el[-1]
        except (IndexError, TypeError):
            return False
    return True


class _LinkTarget:
    """An lxml parser target collecting links from start-tag events: no tree is built, so
    there is no depth to limit (libxml2 enforces its depth limit only when it builds a tree).
    Only ``start`` is defined, so lxml calls back for nothing else."""

    def __init__(self) -> None:
        self.links: list[Link] = []

    def start(self, tag: str, attrib: Any) -> None:
        if tag == "a" or tag == "area":
            href = attrib.get("href")
            if href:
                self.links.append(Link(href, "", "nofollow" in (attrib.get("rel") or "").lower()))

    def close(self) -> list[Link]:
        return self.links


def scan_links(response: Response) -> list[Link]:
    """The ``<a href>``/``<area href>`` links of an HTML page, in document order, from lxml's
    parser events rather than its tree: linear in the page, whatever its nesting. Only used
    when the tree was cut; the links come without their text."""
    from lxml import etree

    target = _LinkTarget()
    if response._plain_utf8():
        source: str | bytes = response.body
        parser = etree.HTMLParser(target=target, encoding="utf-8", huge_tree=True)
    else:
        source = response.text
        parser = etree.HTMLParser(target=target, huge_tree=True)
    try:
        links: list[Link] = etree.fromstring(source, parser)
    except etree.LxmlError:  # (nothing left to parse, say): what was found stands
        links = target.close()
    return links
