"""The built-in sinks (JSON Lines, JSON, XML, CSV, SQLite, stdout) and the plugin that opens
them for ``-o`` URIs. They implement :class:`acrawl.sinks.base.Sink`.

Every batch leaves a file output valid: JSON Lines gets whole lines, and a JSON array or XML
feed is closed again after each batch, so a killed crawl's files parse (``--state`` then cuts
them back to the last checkpoint and completes them).

File outputs take options after a ``?`` (Scrapy's ``FEEDS`` options), and ``.gz`` compresses::

    items.csv?fields=name,price          only these fields, in this order
    items.jsonl?overwrite=true           this output replaced, whatever --overwrite says
    items-{batch}.jsonl?batch_item_count=1000   a new file every 1000 items (items-1, ...)
    items.jsonl.gz                       gzip-compressed (also .json.gz, .csv.gz, .xml.gz)
    sqlite:///x.db?table=t&fields=a,b    one column per field (these fields, or the items')
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import enum
import functools
import gzip
import io
import itertools
import json
import logging
import math
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import attrs

from ..errors import ConfigError
from ..hookspecs import hookimpl
from .base import Sink

try:  # optional speed extra
    import orjson
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    orjson = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = [
    "BatchSink",
    "CsvSink",
    "JsonArraySink",
    "JsonLinesSink",
    "Sink",
    "SqliteSink",
    "StdoutSink",
    "XmlSink",
    "acrawl_open_sink",
    "dumps_item",
    "sink_for_uri",
]

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------
# encoding
# ------------------------------------------------------------------------------------------------


def _default(obj: Any) -> Any:
    """Turn a value JSON cannot hold into one it can (a string, list or dict); never raises:
    a value whose conversion raises (a half-built object) becomes ``"<TypeName>"``."""
    try:
        return _convert(obj)
    except Exception:
        return f"<{type(obj).__name__}>"


def _convert(obj: Any) -> Any:
    if isinstance(obj, dt.date | dt.time):  # datetime is a date
        return obj.isoformat()
    if isinstance(obj, bytes | bytearray | memoryview):
        return bytes(obj).decode("utf-8", "backslashreplace")
    if isinstance(obj, set | frozenset):
        try:
            return sorted(obj)
        except TypeError:
            return list(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if attrs.has(type(obj)):
        return attrs.asdict(obj, recurse=False)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, tuple | list):
        return list(obj)
    return str(obj)  # Decimal, UUID, Path, timedelta, anything else


def _plain(obj: Any) -> Any:
    """Recursively make ``obj`` JSON-safe, keys included (the slow path for odd keys); NaN and
    infinities become ``None`` (null, as orjson writes them: strict JSON has no such numbers)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, str | int | bool) or obj is None:
        return obj
    if isinstance(obj, dict):
        return {k if isinstance(k, str) else str(_plain(k)): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return _plain(_default(obj))


def _dumps(obj: Any) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            pass  # ints beyond 64 bits, lone surrogates, odd keys: the stdlib copes
    try:
        text = json.dumps(obj, default=_default, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False)
    except (TypeError, ValueError) as exc:  # tuple keys, NaN or infinity
        if "ircular" in str(exc):  # a circular reference: no JSON for that item
            raise
        obj = _plain(obj)
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escape them, so the output stays valid UTF-8
        return json.dumps(obj, default=_default, separators=(",", ":")).encode("ascii")


def dumps_item(item: Mapping[str, Any]) -> bytes:
    """Encode one item as compact UTF-8 JSON (no newline). Uses orjson when installed.

    Values JSON cannot hold become strings or lists: datetimes ISO 8601, bytes decoded as UTF-8,
    sets sorted lists, attrs/dataclass instances objects, anything else ``str(value)``.
    """
    return _dumps(item)


# ------------------------------------------------------------------------------------------------
# file sinks
# ------------------------------------------------------------------------------------------------


class _FileSink:
    """A sink writing one local file, opened at ``open()``; subclasses encode the batches."""

    append = False  # JSONL appends to an existing file unless overwrite is set

    def __init__(self, *, path: str | Path, overwrite: bool = False,
                 fields: Sequence[str] | None = None, compress: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.overwrite = overwrite
        #: only these fields are written, in this order (``?fields=a,b``)
        self.fields = list(fields) if fields else None
        #: gzip-compressed (``.gz``)
        self.compress = compress
        self._fh: IO[bytes] | None = None
        self._raw: IO[bytes] | None = None  # the file under the gzip stream
        self._created = False  # open() made the file (so discard() may remove it)
        #: where the closing bytes (``_tail``) start: the end of what was written
        self._body_end = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r}, overwrite={self.overwrite})"

    async def open(self) -> None:
        mode = "wb" if self.overwrite else "ab" if self.append else "xb"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._created = not self.path.exists()
            fh: IO[bytes] = open(self.path, mode)  # noqa: ASYNC230 - one small open, by design
            if self.compress:  # (appending adds a gzip member: readers see one stream)
                self._raw = fh
                fh = gzip.GzipFile(fileobj=fh, mode="wb")  # type: ignore[assignment]
            self._fh = fh
        except FileExistsError:
            raise ConfigError(
                f"output {str(self.path)!r} exists; use --overwrite (-s overwrite=true) "
                "to replace it"
            ) from None
        except OSError as exc:
            raise ConfigError(f"cannot open output {str(self.path)!r}: {exc.strerror}") from None
        try:
            self._start(fh)
            self._body_end = fh.tell()
            if not self.compress:
                self._close_file()
        except BaseException:
            await self.close()
            raise

    def _start(self, fh: IO[bytes]) -> None:
        """Write whatever goes before the first item."""

    def _encode(self, items: list[dict[str, Any]]) -> bytes:
        raise NotImplementedError

    def _tail(self) -> bytes:
        """What closes the document (``]`` of a JSON array). An uncompressed output gets it
        after every batch, and the next batch is written over it: the file is a valid
        document after each write, so a killed crawl leaves a file that parses."""
        return b""

    def _close_file(self) -> None:
        """Write the tail at the end of the body, and flush (not past the tail)."""
        tail = self._tail()
        if tail and self._fh is not None:
            self._fh.seek(self._body_end)
            self._fh.write(tail)
            self._fh.flush()

    def _select(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items as written: only ``fields`` (those an item has), in their order."""
        fields = self.fields
        if fields is None:
            return items
        return [{f: item[f] for f in fields if f in item} for item in items]

    async def write(self, items: list[dict[str, Any]]) -> None:
        if self._fh is None:
            raise RuntimeError(f"{self!r} is not open")
        if items:
            data = self._encode(self._select(items))
            if self.compress or not self._tail():
                self._fh.write(data)
                self._fh.flush()  # (a gzip stream: a sync flush, so the data is in the file)
                self._body_end += len(data)
                return
            # one write over the old tail: the batch and the tail again
            self._fh.seek(self._body_end)
            self._fh.write(data + self._tail())
            self._fh.flush()
            self._body_end += len(data)

    # -- durable crawls (--state): cut back to the last committed position on resume ----------
    def pristine(self) -> bool:
        """True if the output exists and holds only what ``open()`` writes, no item (so
        replacing it loses nothing)."""
        if self.compress:
            return False
        try:
            if self.path.stat().st_size > 64:
                return False
            data = self.path.read_bytes()
        except OSError:
            return False
        start = io.BytesIO()
        self._start(start)
        head = start.getvalue()
        # (a kill may come between creating the file, writing its start and its tail)
        return (head + self._tail()).startswith(data) or data == head

    def checkpoint(self) -> dict[str, Any]:
        """The position after everything written so far, made durable (fsync)."""
        if self._fh is None:
            raise RuntimeError(f"{self!r} is not open")
        if self.compress:
            raise _not_resumable(self, "a compressed output cannot be cut back to a position")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return {"offset": self._body_end, **self._state()}

    async def resume(self, checkpoint: dict[str, Any]) -> None:
        """Reopen the output of an interrupted crawl, dropping what came after
        ``checkpoint`` (items of pages that were not completed and will be fetched again)."""
        offset = _position(checkpoint, "offset", self.path)
        try:
            self._fh = open(self.path, "r+b")  # noqa: ASYNC230 - one small open, by design
        except OSError as exc:
            raise ConfigError(f"cannot resume output {str(self.path)!r}: {exc.strerror}; "
                              "it was moved or deleted since the crawl was interrupted") from None
        if offset > self._fh.seek(0, io.SEEK_END):
            self._fh.close()
            self._fh = None
            raise ConfigError(f"cannot resume output {str(self.path)!r}: it is shorter than "
                              "when the crawl was interrupted (was it replaced?)")
        self._fh.truncate(offset)
        self._fh.seek(0, io.SEEK_END)
        self._body_end = offset
        self._restore(checkpoint)
        self._close_file()

    def discard(self) -> None:
        """The crawl did not start (another output was refused): remove the file if
        :meth:`open` created it, so it does not block the next run. Call after ``close``."""
        if self._created:
            self._created = False
            with contextlib.suppress(OSError):
                self.path.unlink()

    def _state(self) -> dict[str, Any]:
        return {}

    def _restore(self, checkpoint: dict[str, Any]) -> None:
        return None

    async def close(self) -> None:
        fh, self._fh = self._fh, None
        raw, self._raw = self._raw, None
        if fh is None:
            return
        try:
            if self.compress:  # (uncompressed: the tail is there since the last write)
                fh.write(self._tail())
            fh.flush()
        finally:
            fh.close()
            if raw is not None:
                raw.close()


def _not_resumable(sink: Any, why: str) -> ConfigError:
    """The error for an output a resumable crawl (``--state``) cannot use; the file
    ``open()`` created is removed first, so the corrected command runs as is."""
    with contextlib.suppress(Exception):
        fh, sink._fh = sink._fh, None
        if fh is not None:
            fh.close()
        raw, sink._raw = getattr(sink, "_raw", None), None
        if raw is not None:
            raw.close()
        sink.discard()
    return ConfigError(f"output {str(sink.path)!r} cannot be resumed with --state ({why}); "
                       "write an uncompressed, unbatched output and compress or split it "
                       "afterwards")


_LAST_LINE_MAX = 1024 * 1024  # how much of a JSON Lines file's end is read to cut a line


class JsonLinesSink(_FileSink):
    """JSON Lines (``.jsonl``, ``.jl``, ``.ndjson``): one object a line; appends to a file."""

    append = True

    def _start(self, fh: IO[bytes]) -> None:
        if self.overwrite or self.compress or fh.tell() == 0:
            return
        # appending to a file whose last line has no newline: a line cut by a kill is cut
        # off (so every line stays one item); a complete one (another tool's file) is kept
        with open(self.path, "rb") as f:
            size = f.seek(0, io.SEEK_END)
            f.seek(max(0, size - _LAST_LINE_MAX))
            tail = f.read()
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        if cut < 0 and size > len(tail):
            fh.write(b"\n")  # a last line longer than we look at: keep it
            return
        last = tail[cut + 1:]
        try:
            json.loads(last)
        except ValueError:
            fh.truncate(size - len(last))
            fh.seek(0, io.SEEK_END)
            log.warning("%s: its last line was cut (%d bytes, by an interrupted write?); "
                        "removed before appending", self.path, len(last))
        else:
            fh.write(b"\n")

    def _encode(self, items: list[dict[str, Any]]) -> bytes:
        return b"".join(dumps_item(item) + b"\n" for item in items)


class JsonArraySink(_FileSink):
    """A JSON array (``.json``), written incrementally; valid JSON after every batch (the
    closing ``]`` is rewritten after each), so also after a kill."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._first = True

    def _start(self, fh: IO[bytes]) -> None:
        fh.write(b"[")

    def _encode(self, items: list[dict[str, Any]]) -> bytes:
        body = b",\n".join(dumps_item(item) for item in items)  # first: it may raise
        prefix = b"\n" if self._first else b",\n"
        self._first = False
        return prefix + body

    def _tail(self) -> bytes:
        return b"\n]\n"

    def _state(self) -> dict[str, Any]:
        return {"first": self._first}

    def _restore(self, checkpoint: dict[str, Any]) -> None:
        self._first = bool(checkpoint.get("first", True))


class CsvSink(_FileSink):
    """CSV (``.csv``) with a header from the first item's keys (or ``fields``); nested values
    as JSON."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fields: list[str] | None = None
        self._warned = False

    @staticmethod
    def _cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, str | int | float):
            return value
        if not isinstance(value, dict | list | tuple):
            value = _default(value)
            if isinstance(value, str):
                return value
        return _dumps(value).decode("utf-8")

    def _encode(self, items: list[dict[str, Any]]) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf)
        fields = self._fields
        if fields is None:
            fields = self.fields or [str(k) for k in items[0]]
            writer.writerow(fields)
        known = set(fields)
        for item in items:
            row = {str(k): v for k, v in item.items()}
            if not self._warned and self.fields is None and not row.keys() <= known:
                self._warned = True
                log.warning("%s: item keys %s are not in the CSV header %s and are left out "
                            "(warned once)", self.path, sorted(row.keys() - known), fields)
            writer.writerow([self._cell(row.get(name)) for name in fields])
        self._fields = fields  # (only once the batch is encoded: a failed one wrote nothing)
        return buf.getvalue().encode("utf-8", "backslashreplace")

    def _select(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return items  # the header decides; a missing field is an empty cell

    def _state(self) -> dict[str, Any]:
        return {"fields": self._fields}

    def _restore(self, checkpoint: dict[str, Any]) -> None:
        fields = checkpoint.get("fields")
        if fields is not None and not (
                isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
            raise ConfigError(f"cannot resume output {str(self.path)!r}: its recorded CSV "
                              "header in the state is damaged")
        self._fields = fields


#: characters XML 1.0 cannot hold (C0 controls but tab/CR/LF, lone surrogates, U+FFFE/F)
_NOT_XML = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
#: XML 1.0 (5th edition) name characters, without the colon (namespaces)
_NAME_START = ("A-Z_a-z\xc0-\xd6\xd8-\xf6\xf8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
               "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
               "\U00010000-\U000effff")
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_XML_DEPTH = 32  # nesting written as elements; deeper values become text


@functools.cache
def _xml_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(not XML, not in a name, starts a name), compiled when an XML output first needs
    them: their large character classes take about 10 ms to compile, which every other
    crawl would pay at start-up."""
    return (re.compile(_NOT_XML),
            re.compile(f"[^{_NAME_START}\\-.0-9\xb7\u0300-\u036f\u203f-\u2040]"),
            re.compile(f"[{_NAME_START}]"))


def _xml_name(name: Any) -> str:
    """``name`` as an XML element name: characters other than letters, digits, ``_``, ``-``
    and ``.`` become ``_``, and a name that cannot start one gets a leading ``_``."""
    _, not_in_name, name_starts = _xml_patterns()
    text = not_in_name.sub("_", str(name))
    return text if name_starts.match(text) else "_" + text


def _xml_text(value: str) -> str:
    return _xml_patterns()[0].sub("\ufffd", value).translate(_XML_ESCAPES)


def _xml_value(value: Any, depth: int = 0) -> str:
    """The content of a field's element, as Scrapy's XmlItemExporter writes it: a dict as
    one element per key, a list as ``<value>`` elements, a string as text, ``None`` as
    nothing, anything else as ``str()`` (datetimes ISO 8601, bytes decoded as UTF-8)."""
    if isinstance(value, str):
        return _xml_text(value)
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return str(value)
    if depth >= _XML_DEPTH:
        return _xml_text(str(value))
    if isinstance(value, Mapping):
        return "".join(_xml_element(k, v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return "".join(_xml_element("value", v, depth + 1) for v in value)
    converted = _default(value)  # (a set: sorted, as in the JSON outputs)
    if isinstance(converted, str):
        return _xml_text(converted)
    return _xml_value(converted, depth + 1)


def _xml_element(name: Any, value: Any, depth: int = 0) -> str:
    tag = _xml_name(name)
    return f"<{tag}>{_xml_value(value, depth)}</{tag}>"


class XmlSink(_FileSink):
    """XML (``.xml``) in the layout of Scrapy's ``XmlItemExporter``: one ``<item>`` a line
    in ``<items>``, a field per element (lists as ``<value>`` elements, dicts nested). Valid
    after every batch (``</items>`` is rewritten after each), so also after a kill."""

    def _start(self, fh: IO[bytes]) -> None:
        fh.write(b'<?xml version="1.0" encoding="utf-8"?>\n<items>\n')

    def _encode(self, items: list[dict[str, Any]]) -> bytes:
        return "".join(
            "<item>" + "".join(_xml_element(k, v) for k, v in item.items()) + "</item>\n"
            for item in items).encode("utf-8")

    def _tail(self) -> bytes:
        return b"</items>\n"


# ------------------------------------------------------------------------------------------------
# sqlite and stdout
# ------------------------------------------------------------------------------------------------


_SQLITE_MAX_COLUMNS = 1000  # field columns of a table, at most (SQLite's limit: 2000)
_INT64 = range(-(2 ** 63), 2 ** 63)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _sql_value(value: Any) -> Any:
    """A field value as SQLite stores it: numbers, strings and ``None`` as they are (a bool
    as 0/1, an integer beyond 64 bits as text), bytes decoded as UTF-8, lists, dicts and
    other nested values as JSON text, anything else as the JSON outputs write it."""
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, str):
        return value if not _SURROGATE.search(value) else value.encode(
            "utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if value in _INT64 else str(value)
    if isinstance(value, dict | list | tuple):
        return _dumps(value).decode("utf-8")
    converted = _default(value)
    return converted if isinstance(converted, str) else _dumps(converted).decode("utf-8")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteSink:
    """SQLite (``sqlite:///x.db?table=items``): a table with one column per field, after
    ``rowid`` (the write order). The columns are ``?fields=`` (only those, in that order),
    or else the first item's fields, and a field that comes later gets a column then
    (``ALTER TABLE ADD COLUMN``). A field that cannot have its own column (``rowid``, a
    name differing from another only in case, past 1000 columns) goes into a JSON object in
    the column ``_overflow``. Values: numbers, strings and NULL as they are, booleans 0/1,
    lists and dicts as JSON text. One transaction per batch, WAL mode. An existing table is
    refused unless ``overwrite``."""

    def __init__(self, *, path: str | Path, table: str = "items", overwrite: bool = False,
                 fields: Sequence[str] | None = None):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
            raise ConfigError(f"sqlite table name {table!r} must be letters, digits and _")
        self.path = Path(path).expanduser()
        self.table = table
        self.overwrite = overwrite
        #: only these fields are written, in this order (``?fields=a,b``)
        self.fields = list(fields) if fields else None
        self._conn: sqlite3.Connection | None = None
        self._created = False  # open() made the database file
        self._columns: dict[str, str] = {}  # field -> its column
        self._taken: set[str] = {"rowid"}  # column names in use, lower-cased
        self._overflow: str | None = None  # the JSON column for the other fields, once made
        self._warned: set[str] = set()

    def __repr__(self) -> str:
        return f"SqliteSink(path={str(self.path)!r}, table={self.table!r})"

    # -- columns ---------------------------------------------------------------------------------
    def _plan(self, names: Sequence[str]) -> tuple[list[str], str | None]:
        """The columns to add for the new field ``names`` (recorded as planned) and, if
        one must go to the overflow column and it does not exist yet, its name."""
        add: list[str] = []
        overflow = None
        for name in names:
            low = name.lower()
            if (name and "\0" not in name and low not in self._taken
                    and len(self._columns) < _SQLITE_MAX_COLUMNS):
                self._columns[name] = name
                self._taken.add(low)
                add.append(name)
                continue
            if self._overflow is None and overflow is None:
                overflow = next(n for n in itertools.chain(
                    ["_overflow"], (f"_overflow_{i}" for i in itertools.count(2)))
                    if n.lower() not in self._taken)
                self._taken.add(overflow.lower())
            if name not in self._warned and len(self._warned) < 20:
                self._warned.add(name)
                log.warning("%s: field %r cannot have a column of its own in table %r; it "
                            "is written to the JSON column %r", self.path, name, self.table,
                            self._overflow or overflow)
        return add, overflow

    def _statement(self) -> str:
        columns = [*self._columns.values(), *([self._overflow] if self._overflow else [])]
        if not columns:
            return f"INSERT INTO {_quote(self.table)} DEFAULT VALUES"
        return (f"INSERT INTO {_quote(self.table)} ({', '.join(map(_quote, columns))}) "
                f"VALUES ({', '.join('?' * len(columns))})")

    def _row(self, item: dict[str, Any]) -> tuple[Any, ...]:
        columns = self._columns
        row = [_sql_value(item.get(name)) for name in columns]
        if self._overflow is not None:
            rest = {k: v for k, v in item.items() if k not in columns}
            row.append(_dumps(rest).decode("utf-8") if rest else None)
        return tuple(row)

    def _load_columns(self, conn: sqlite3.Connection, overflow: str | None) -> None:
        """The columns of an existing table (a resumed crawl's)."""
        self._columns, self._taken, self._overflow = {}, {"rowid"}, None
        for row in conn.execute(f"PRAGMA table_info({_quote(self.table)})"):
            name = row[1]
            self._taken.add(name.lower())
            if name == overflow:
                self._overflow = name
            elif name.lower() != "rowid":
                self._columns[name] = name

    # -- the sink --------------------------------------------------------------------------------
    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._created = not self.path.exists()
            conn = sqlite3.connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open output {str(self.path)!r}: {exc}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                  (self.table,)).fetchone()
            if exists and not self.overwrite:
                raise ConfigError(
                    f"output {str(self.path)!r} table {self.table!r} exists; use --overwrite "
                    "(-s overwrite=true) to replace it"
                )
            add, overflow = self._plan(self.fields or [])
            self._overflow = overflow
            columns = ["rowid INTEGER PRIMARY KEY", *map(_quote, add),
                       *([_quote(overflow)] if overflow else [])]
            with conn:
                conn.execute(f"DROP TABLE IF EXISTS {_quote(self.table)}")
                conn.execute(f"CREATE TABLE {_quote(self.table)} ({', '.join(columns)})")
        except sqlite3.Error as exc:
            conn.close()
            raise ConfigError(f"cannot open output {str(self.path)!r}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def discard(self) -> None:
        """As :meth:`_FileSink.discard`: remove the database if :meth:`open` created it."""
        if self._created:
            self._created = False
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(f"{self.path}{suffix}")

    async def write(self, items: list[dict[str, Any]]) -> None:
        conn = self._conn
        if conn is None:
            raise RuntimeError(f"{self!r} is not open")
        if not items:
            return
        if self.fields is not None:
            fields = self.fields
            items = [{f: item[f] for f in fields if f in item} for item in items]
        items = [{str(k): v for k, v in item.items()} for item in items]
        new = [k for k in dict.fromkeys(k for item in items for k in item)
               if k not in self._columns]
        before = dict(self._columns), set(self._taken), self._overflow
        try:
            add, overflow = self._plan(new)
            if overflow is not None:
                self._overflow = overflow
            rows = [self._row(item) for item in items]
            with conn:  # one transaction per batch, new columns included
                conn.execute("BEGIN")  # (sqlite3 would not open one before ALTER TABLE)
                for name in [*add, *([overflow] if overflow else [])]:
                    conn.execute(f"ALTER TABLE {_quote(self.table)} ADD COLUMN {_quote(name)}")
                if self._columns or self._overflow:
                    conn.executemany(self._statement(), rows)
                else:
                    for _ in rows:
                        conn.execute(self._statement())
        except BaseException:
            self._columns, self._taken, self._overflow = before  # (rolled back)
            raise

    def pristine(self) -> bool:
        """True if the output's table exists and holds no item."""
        if not self.path.is_file():
            return False
        try:
            conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
            try:
                row = conn.execute(f"SELECT COUNT(*) FROM {_quote(self.table)}").fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            return False
        return row is not None and row[0] == 0

    def checkpoint(self) -> dict[str, Any]:
        if self._conn is None:
            raise RuntimeError(f"{self!r} is not open")
        row = self._conn.execute(f"SELECT MAX(rowid) FROM {_quote(self.table)}").fetchone()
        return {"rowid": row[0] or 0, "overflow": self._overflow}

    async def resume(self, checkpoint: dict[str, Any]) -> None:
        rowid = _position(checkpoint, "rowid", self.path)
        overflow = checkpoint.get("overflow")
        try:
            conn = sqlite3.connect(self.path)
            conn.execute("PRAGMA journal_mode=WAL")
            with conn:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {_quote(self.table)} "
                             "(rowid INTEGER PRIMARY KEY)")
                conn.execute(f"DELETE FROM {_quote(self.table)} WHERE rowid > ?", (rowid,))
            self._load_columns(conn, overflow if isinstance(overflow, str) else None)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot resume output {str(self.path)!r}: {exc}") from None
        self._conn = conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _position(checkpoint: Any, key: str, path: Path) -> int:
    """The recorded position ``checkpoint[key]`` (a count of bytes or rows) of an output."""
    value = checkpoint.get(key) if isinstance(checkpoint, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"cannot resume output {str(path)!r}: its recorded position in the "
                          "state is damaged")
    return value


class StdoutSink:
    """JSON Lines to standard output (``-o -``); flushed per batch, never closed."""

    def __init__(self, *, stream: IO[str] | None = None) -> None:
        self._stream = stream  # None: whatever sys.stdout is at write time
        self._closed_pipe = False

    async def open(self) -> None:
        pass

    async def write(self, items: list[dict[str, Any]]) -> None:
        if not items or self._closed_pipe:
            return
        stream = self._stream or sys.stdout
        text = "".join(dumps_item(item).decode("utf-8") + "\n" for item in items)
        try:
            try:
                stream.write(text)
            except UnicodeEncodeError:  # a terminal that cannot show the text: escape it
                stream.write("".join(json.dumps(json.loads(line)) + "\n"
                                     for line in text.splitlines()))
            stream.flush()
        except BrokenPipeError:  # `acrawl-run ... -o - | head`: the reader is gone
            self._closed_pipe = True
            log.warning("standard output was closed; items for '-' are no longer written")
            with contextlib.suppress(OSError):  # keep Python's exit-time flush quiet
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())

    async def close(self) -> None:
        stream = self._stream or sys.stdout
        if not stream.closed:
            stream.flush()


class BatchSink:
    """A file output split in batches (``items-{batch}.jsonl?batch_item_count=N``): a new file
    every ``size`` items, named by ``pattern.format(batch=n)`` for n = 1, 2, ... A file of
    the pattern that exists is refused (unless ``overwrite``), also for JSON Lines."""

    def __init__(self, *, pattern: str, size: int, make: Callable[[str], _FileSink]) -> None:
        self.pattern, self.size, self._make = pattern, size, make
        self._sink: _FileSink | None = None
        self._batch = 0
        self._count = 0
        self._created: list[_FileSink] = []

    def __repr__(self) -> str:
        return f"BatchSink(pattern={self.pattern!r}, size={self.size})"

    async def _next(self) -> None:
        if self._sink is not None:
            await self._sink.close()
        self._batch += 1
        self._count = 0
        sink = self._make(self.pattern.format(batch=self._batch))
        sink.append = False  # a batch is a new file, never added to an old one
        await sink.open()
        self._sink = sink
        self._created.append(sink)

    async def open(self) -> None:
        await self._next()

    async def write(self, items: list[dict[str, Any]]) -> None:
        while items:
            if self._count >= self.size:  # (only when more items come: no empty batch)
                await self._next()
            assert self._sink is not None
            part, items = items[:self.size - self._count], items[self.size - self._count:]
            await self._sink.write(part)
            self._count += len(part)

    async def close(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            await sink.close()

    def checkpoint(self) -> dict[str, Any]:
        raise _not_resumable(self._sink, "its batches are files of their own")

    def discard(self) -> None:
        for sink in self._created:
            sink.discard()


# ------------------------------------------------------------------------------------------------
# the built-in plugin
# ------------------------------------------------------------------------------------------------

_OPTIONS = "fields=a,b (only these fields, in this order), overwrite=true|false, " \
           "batch_item_count=N (with {batch} in the file name)"
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _fields_option(uri: str, params: dict[str, str]) -> list[str] | None:
    if "fields" not in params:
        return None
    fields = [f.strip() for f in params["fields"].split(",") if f.strip()]
    if not fields:
        raise ConfigError(f"output {uri!r}: fields= names no field")
    return fields


def _overwrite_option(uri: str, params: dict[str, str], default: bool) -> bool:
    if "overwrite" not in params:
        return default
    flag = params["overwrite"].lower()
    if flag not in _TRUE | _FALSE:
        raise ConfigError(f"output {uri!r}: overwrite= must be true or false")
    return flag in _TRUE


def _file_sink(uri: str, overwrite: bool) -> Sink | None:
    """A file output: ``PATH[.gz][?options]``; None if PATH is not a known format."""
    path, sep, query = uri.partition("?")
    name = Path(path).name.lower()
    compress = name.endswith(".gz")
    cls = _EXTENSIONS.get(Path(name[:-3] if compress else name).suffix)
    if cls is None:
        return None
    params = dict(parse_qsl(query, keep_blank_values=True)) if sep else {}
    unknown = params.keys() - {"fields", "overwrite", "batch_item_count"}
    if unknown:
        raise ConfigError(f"output {uri!r}: unknown option(s) {', '.join(sorted(unknown))} "
                          f"(file outputs take {_OPTIONS})")
    fields = _fields_option(uri, params)
    overwrite = _overwrite_option(uri, params, overwrite)
    size = params.get("batch_item_count")
    batched = "{batch" in path
    if (size is None) != (not batched):
        raise ConfigError(f"output {uri!r}: batches need both {{batch}} in the file name and "
                          "?batch_item_count=N")

    def make(target: str) -> _FileSink:
        return cls(path=target, overwrite=overwrite, fields=fields, compress=compress)

    if size is None:
        return make(path)
    if not size.isdigit() or int(size) < 1:
        raise ConfigError(f"output {uri!r}: batch_item_count= must be a positive integer")
    try:
        path.format(batch=1)
    except (IndexError, KeyError, ValueError) as exc:
        raise ConfigError(f"output {uri!r}: the file name may hold {{batch}} (or "
                          f"{{batch:03d}}) and no other {{...}}: {exc}") from None
    return BatchSink(pattern=path, size=int(size), make=make)


_EXTENSIONS: dict[str, type[_FileSink]] = {
    ".jsonl": JsonLinesSink, ".jl": JsonLinesSink, ".ndjson": JsonLinesSink,
    ".json": JsonArraySink, ".csv": CsvSink, ".xml": XmlSink,
}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _sqlite_sink(uri: str, overwrite: bool) -> SqliteSink:
    # SQLAlchemy style: sqlite:///rel/x.db is relative to the current directory,
    # sqlite:////abs/x.db is absolute.
    rest = uri[len("sqlite:///"):] if uri.startswith("sqlite:///") else ""
    path, _, query = rest.partition("?")
    if not path:
        raise ConfigError(f"output {uri!r}: expected sqlite:///path/to/file.db[?table=name]")
    params = dict(parse_qsl(query, keep_blank_values=True))
    unknown = params.keys() - {"table", "fields", "overwrite"}
    if unknown:
        raise ConfigError(f"output {uri!r}: unknown parameter(s) {', '.join(sorted(unknown))} "
                          "(sqlite outputs take table=NAME, fields=a,b, overwrite=true|false)")
    return SqliteSink(path=path, table=params.get("table", "items"),
                      overwrite=_overwrite_option(uri, params, overwrite),
                      fields=_fields_option(uri, params))


def sink_for_uri(uri: str, *, overwrite: bool = False) -> Sink | None:
    """The built-in sink for an ``-o`` URI, or ``None`` when the URI is not a built-in format.

    Raises :class:`ConfigError` for a malformed ``sqlite:`` URI or file output options.
    """
    if uri == "-":
        return StdoutSink()
    if uri.lower().startswith("sqlite:"):
        return _sqlite_sink(uri, overwrite)
    if _SCHEME.match(uri):  # s3://, file://, ...: another plugin's
        return None
    return _file_sink(uri, overwrite)


@hookimpl
def acrawl_open_sink(uri: str, settings: Settings) -> Sink | None:
    """Claim ``-``, ``*.jsonl``/``.jl``/``.ndjson``, ``*.json``, ``*.xml``, ``*.csv`` (each
    also ``.gz``, with ``?options``) and ``sqlite:///``."""
    return sink_for_uri(uri, overwrite=bool(settings.get("overwrite", False)))
