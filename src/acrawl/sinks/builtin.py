"""The built-in sinks (JSON Lines, JSON, CSV, SQLite, stdout) and the plugin that opens them
for ``-o`` URIs. They implement :class:`acrawl.sinks.base.Sink`.

File outputs take options after a ``?`` (Scrapy's ``FEEDS`` options), and ``.gz`` compresses::

    items.csv?fields=name,price          only these fields, in this order
    items.jsonl?overwrite=true           this output replaced, whatever --overwrite says
    items-{batch}.jsonl?batch_item_count=1000   a new file every 1000 items (items-1, ...)
    items.jsonl.gz                       gzip-compressed (also .json.gz, .csv.gz)
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import enum
import gzip
import io
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
        except BaseException:
            await self.close()
            raise

    def _start(self, fh: IO[bytes]) -> None:
        """Write whatever goes before the first item."""

    def _encode(self, items: list[dict[str, Any]]) -> bytes:
        raise NotImplementedError

    def _end(self) -> bytes:
        return b""

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
            self._fh.write(self._encode(self._select(items)))
            self._fh.flush()  # (a gzip stream: a sync flush, so the data is in the file)

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
        return data == start.getvalue()

    def checkpoint(self) -> dict[str, Any]:
        """The position after everything written so far, made durable (fsync)."""
        if self._fh is None:
            raise RuntimeError(f"{self!r} is not open")
        if self.compress:
            raise _not_resumable(self, "a compressed output cannot be cut back to a position")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return {"offset": self._fh.tell(), **self._state()}

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
        self._restore(checkpoint)

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
            fh.write(self._end())
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


class JsonLinesSink(_FileSink):
    """JSON Lines (``.jsonl``, ``.jl``, ``.ndjson``): one object a line; appends to a file."""

    append = True

    def _start(self, fh: IO[bytes]) -> None:
        if not self.overwrite and fh.tell() > 0:  # appending: finish a line cut by a crash
            with open(self.path, "rb") as f:
                f.seek(-1, io.SEEK_END)
                if f.read(1) != b"\n":
                    fh.write(b"\n")

    def _encode(self, items: list[dict[str, Any]]) -> bytes:
        return b"".join(dumps_item(item) + b"\n" for item in items)


class JsonArraySink(_FileSink):
    """A JSON array (``.json``), written incrementally; valid JSON once closed."""

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

    def _end(self) -> bytes:
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


# ------------------------------------------------------------------------------------------------
# sqlite and stdout
# ------------------------------------------------------------------------------------------------


class SqliteSink:
    """SQLite (``sqlite:///x.db?table=items``): rows ``(id INTEGER PRIMARY KEY, item TEXT)``,
    one transaction per batch, WAL mode. An existing table is refused unless ``overwrite``."""

    def __init__(self, *, path: str | Path, table: str = "items", overwrite: bool = False):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
            raise ConfigError(f"sqlite table name {table!r} must be letters, digits and _")
        self.path = Path(path).expanduser()
        self.table = table
        self.overwrite = overwrite
        self._conn: sqlite3.Connection | None = None
        self._created = False  # open() made the database file

    def __repr__(self) -> str:
        return f"SqliteSink(path={str(self.path)!r}, table={self.table!r})"

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
            with conn:
                conn.execute(f'DROP TABLE IF EXISTS "{self.table}"')
                conn.execute(f'CREATE TABLE "{self.table}" (id INTEGER PRIMARY KEY, item TEXT)')
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
        if self._conn is None:
            raise RuntimeError(f"{self!r} is not open")
        rows = [(dumps_item(item).decode("utf-8"),) for item in items]
        with self._conn:  # one transaction per batch
            self._conn.executemany(f'INSERT INTO "{self.table}" (item) VALUES (?)', rows)

    def pristine(self) -> bool:
        """True if the output's table exists and holds no item."""
        if not self.path.is_file():
            return False
        try:
            conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
            try:
                row = conn.execute(f'SELECT COUNT(*) FROM "{self.table}"').fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            return False
        return row is not None and row[0] == 0

    def checkpoint(self) -> dict[str, Any]:
        if self._conn is None:
            raise RuntimeError(f"{self!r} is not open")
        row = self._conn.execute(f'SELECT MAX(id) FROM "{self.table}"').fetchone()
        return {"rowid": row[0] or 0}

    async def resume(self, checkpoint: dict[str, Any]) -> None:
        rowid = _position(checkpoint, "rowid", self.path)
        try:
            conn = sqlite3.connect(self.path)
            conn.execute("PRAGMA journal_mode=WAL")
            with conn:
                conn.execute(f'CREATE TABLE IF NOT EXISTS "{self.table}" '
                             "(id INTEGER PRIMARY KEY, item TEXT)")
                conn.execute(f'DELETE FROM "{self.table}" WHERE id > ?', (rowid,))
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
    fields = None
    if "fields" in params:
        fields = [f.strip() for f in params["fields"].split(",") if f.strip()]
        if not fields:
            raise ConfigError(f"output {uri!r}: fields= names no field")
    if "overwrite" in params:
        flag = params["overwrite"].lower()
        if flag not in _TRUE | _FALSE:
            raise ConfigError(f"output {uri!r}: overwrite= must be true or false")
        overwrite = flag in _TRUE
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
    ".json": JsonArraySink, ".csv": CsvSink,
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
    unknown = params.keys() - {"table"}
    if unknown:
        raise ConfigError(f"output {uri!r}: unknown parameter(s) {', '.join(sorted(unknown))}")
    return SqliteSink(path=path, table=params.get("table", "items"), overwrite=overwrite)


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
    """Claim ``-``, ``*.jsonl``/``.jl``/``.ndjson``, ``*.json``, ``*.csv`` (each also ``.gz``,
    with ``?options``) and ``sqlite:///``."""
    return sink_for_uri(uri, overwrite=bool(settings.get("overwrite", False)))
