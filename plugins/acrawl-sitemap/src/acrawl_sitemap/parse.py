"""Reading sitemaps: bytes in, entries out, with no network and bounded memory.

>>> kind, entries = sitemap_entries(body)          # doctest: +SKIP
>>> kind
'urlset'
>>> entries[0]
{'loc': 'https://example.com/a', 'lastmod': '2024-05-01', 'alternate': ['https://example.com/de/a']}

An entry is a dict of the ``<url>`` (or ``<sitemap>``) element's children by local name, their
text stripped, as Scrapy's ``Sitemap`` gives them to ``sitemap_filter``; the ``href`` of each
``<xhtml:link rel="alternate">`` is collected in ``entry["alternate"]``. Only entries whose
``<loc>`` is a plain absolute http(s) URL are returned.

XML is parsed without DTDs, entity expansion or network access, so an external entity (XXE)
never reads a local file; a ``<loc>`` that holds an entity or any other node is dropped.
Gzip is inflated in 1 MiB steps and stops at ``max_size`` (a gzip bomb costs that much).
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from protego import Protego

__all__ = ["DEFAULT_MAX_SIZE", "SitemapTooLarge", "gunzip", "iter_locs", "modified_since",
           "parse_lastmod", "parse_sitemap", "robots_sitemaps", "sitemap_entries"]

MiB = 1024 * 1024
DEFAULT_MAX_SIZE = 50 * MiB  # the sitemaps.org limit, uncompressed
_CHUNK = 1 * MiB
GZIP_MAGIC = b"\x1f\x8b"

Entry = dict[str, Any]


class SitemapTooLarge(ValueError):
    """A sitemap is larger than ``sitemap_max_size`` once decompressed."""


def sitemap_entries(
    body: bytes, max_size: int = DEFAULT_MAX_SIZE, *, text_ok: bool = True
) -> tuple[str | None, list[Entry]]:
    """``(kind, entries)`` of a sitemap body (gzipped or not).

    ``kind`` is ``"urlset"``, ``"sitemapindex"``, ``"text"`` (one URL a line; only when
    ``text_ok``) or ``None`` (not a sitemap). Raises :class:`SitemapTooLarge` past
    ``max_size`` bytes, ``zlib.error`` on a broken gzip stream.
    """
    data = gunzip(body, max_size) if body[:2] == GZIP_MAGIC else body
    if len(data) > max_size:
        raise SitemapTooLarge(len(data))
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        if not text_ok:
            return None, []
        lines = data.decode("utf-8", "replace").splitlines()
        urls = [u for u in (line.strip() for line in lines) if _is_http(u) and " " not in u]
        return ("text" if urls else None), [{"loc": u} for u in urls]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             remove_comments=True, remove_pis=True, recover=True,
                             load_dtd=False, dtd_validation=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None, []
    if root is None or not isinstance(root.tag, str):
        return None, []
    kind = etree.QName(root).localname
    child = {"urlset": "url", "sitemapindex": "sitemap"}.get(kind)
    if child is None:
        return None, []
    entries = []
    for element in root.iterchildren(tag=etree.Element):
        if etree.QName(element).localname == child:
            entry = _entry(element)
            if entry is not None:
                entries.append(entry)
    return kind, entries


def _entry(element: Any) -> Entry | None:
    entry: Entry = {}
    alternate: list[str] = []
    for node in element.iterchildren(tag=etree.Element):
        name = etree.QName(node).localname
        if name == "link":
            rel = (node.get("rel") or "alternate").lower().split()
            href = (node.get("href") or "").strip()
            if "alternate" in rel and _is_http(href):
                alternate.append(href)
        elif name == "loc":
            # the first <loc> only; one with child nodes (elements, unexpanded entities) is
            # not a plain URL
            if "loc" not in entry:
                url = (node.text or "").strip() if len(node) == 0 else ""
                entry["loc"] = url if _is_http(url) else ""
        elif name not in entry:
            entry[name] = (node.text or "").strip()
    if not entry.get("loc"):
        return None
    if alternate:
        entry["alternate"] = alternate
    return entry


def parse_sitemap(
    body: bytes, max_size: int = DEFAULT_MAX_SIZE, *, text_ok: bool = True
) -> tuple[str | None, list[str]]:
    """``(kind, urls)``: :func:`sitemap_entries` with only each entry's ``loc``."""
    kind, entries = sitemap_entries(body, max_size, text_ok=text_ok)
    return kind, [e["loc"] for e in entries]


def iter_locs(entries: Iterable[Entry], alternate: bool = False) -> Iterator[str]:
    """Each entry's ``loc``, then (with ``alternate``) its alternate-language URLs."""
    for entry in entries:
        loc = entry.get("loc")
        if loc:
            yield loc
        if alternate:
            yield from entry.get("alternate") or ()


# -- lastmod ------------------------------------------------------------------------------------

_YEAR_MONTH = re.compile(r"(\d{4})(?:-(\d{2}))?")


def parse_lastmod(value: Any) -> dt.datetime | None:
    """A W3C datetime (``2024``, ``2024-05``, ``2024-05-01``, ``2024-05-01T10:00Z``,
    ``...T10:00:00.5+02:00``) as an aware datetime (UTC when no zone is given), or ``None``
    if ``value`` is not one. A ``date`` or ``datetime`` is taken as it is."""
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        match = _YEAR_MONTH.fullmatch(text)
        try:
            if match:
                when = dt.datetime(int(match[1]), int(match[2] or 1), 1)
            else:
                when = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def modified_since(entries: Iterable[Entry], since: dt.datetime | None) -> Iterator[Entry]:
    """The entries last modified on or after ``since``; an entry without a ``lastmod`` that
    :func:`parse_lastmod` reads is kept (nothing says it is old)."""
    for entry in entries:
        if since is not None:
            when = parse_lastmod(entry.get("lastmod"))
            if when is not None and when < since:
                continue
        yield entry


# -- robots.txt, gzip ---------------------------------------------------------------------------


def robots_sitemaps(robots_txt: str, robots_url: str) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt, absolute."""
    return [urljoin(robots_url, u.strip()) for u in Protego.parse(robots_txt).sitemaps]


def gunzip(body: bytes, max_size: int) -> bytes:
    """Decompress gzip ``body`` in bounded chunks; :class:`SitemapTooLarge` past ``max_size``.
    A truncated stream gives what it holds."""
    out = bytearray()
    data = body
    while data[:2] == GZIP_MAGIC:  # each member of a (possibly multi-member) gzip stream
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not inflater.eof:
            chunk = inflater.decompress(data, _CHUNK)
            out += chunk
            if len(out) > max_size:
                raise SitemapTooLarge(len(out))
            data = inflater.unconsumed_tail
            if not data and not chunk:  # input used up and nothing pending: truncated
                break
        data = inflater.unused_data
    return bytes(out)


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://")) and len(url) > 8
