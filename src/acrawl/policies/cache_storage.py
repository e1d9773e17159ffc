"""The replay cache's storage: a directory with one file per response, written atomically.

>>> store = FileStore.open_dir("cache", create=True, max_bytes=0)
>>> store.save(entry)                  # temp file + rename: readers see the old or the new one
>>> store.load(entry.fingerprint)      # the Entry, or None; CorruptEntry if it is damaged

Layout: ``DIR/ACRAWL-CACHE`` (a marker naming the format), then ``DIR/<aa>/<32 hex digits>``,
the request fingerprint (:func:`acrawl.urls.fingerprint`) in hex, its first two digits as a
sub-directory. An entry file is the line ``acrawl-cache 1``, one line of JSON (the request,
status, headers, when it was stored, the body's length and BLAKE2b digest), then the body.

Nothing read from the cache is unpickled or imported: the header is JSON, checked field by
field, and the body is bytes checked against its recorded length and digest, so a truncated,
edited or misplaced file is a :class:`CorruptEntry` for that one request, never a crash.

Why files and not SQLite: an entry is written once and read whole, so a file per entry is
all the structure needed; each entry stands alone (a damaged one costs only itself, where a
damaged database page can cost the whole store), several processes (``--frontier`` workers)
can share a directory without a lock (``rename`` is atomic), and a recorded cache is easy to
inspect (``head -2 FILE``), prune or check into a project's test fixtures.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from collections import OrderedDict
from hashlib import blake2b
from pathlib import Path
from typing import Any

import attrs

from ..errors import ConfigError

__all__ = ["FORMAT", "CorruptEntry", "Entry", "FileStore"]

logger = logging.getLogger(__name__)

#: the first line of every entry file, and the content of the marker file
FORMAT = b"acrawl-cache 1\n"
MARKER = "ACRAWL-CACHE"
_DIGEST_SIZE = 16
_TMP_SUFFIX = ".tmp"
#: temp files older than this (seconds) are leftovers of a killed writer
_STALE_TMP = 3600.0


class CorruptEntry(Exception):
    """An entry file that cannot be read back as it was written."""


@attrs.frozen
class Entry:
    """One recorded response: the request it answers and what came back."""

    fingerprint: bytes
    method: str
    request_url: str
    url: str  # the response's URL
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stored: float  # Unix time it was stored (or last revalidated)
    truncated: bool = False

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None


def _encode(entry: Entry) -> bytes:
    head = {
        "fingerprint": entry.fingerprint.hex(),
        "method": entry.method,
        "request_url": entry.request_url,
        "url": entry.url,
        "status": entry.status,
        "headers": [list(pair) for pair in entry.headers],
        "stored": entry.stored,
        "truncated": entry.truncated,
        "body_size": len(entry.body),
        "body_blake2b": blake2b(entry.body, digest_size=_DIGEST_SIZE).hexdigest(),
    }
    line = json.dumps(head, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return b"".join((FORMAT, line, b"\n", entry.body))


def _field(head: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = head.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise CorruptEntry(f"field {name!r} is missing or of the wrong type")
    return value


def _decode(data: bytes, fingerprint: bytes) -> Entry:
    if not data.startswith(FORMAT):
        raise CorruptEntry("not an acrawl cache entry (or another format version)")
    end = data.find(b"\n", len(FORMAT))
    if end < 0:
        raise CorruptEntry("truncated header")
    try:
        head = json.loads(data[len(FORMAT):end])
    except ValueError as exc:
        raise CorruptEntry(f"unreadable header: {exc}") from None
    if not isinstance(head, dict):
        raise CorruptEntry("the header is not a JSON object")
    if _field(head, "fingerprint", str) != fingerprint.hex():
        raise CorruptEntry("the entry belongs to another request (a misplaced file)")
    status = _field(head, "status", int)
    if not 100 <= status <= 599:
        raise CorruptEntry(f"status {status} is not an HTTP status")
    url = _field(head, "url", str)
    if not url.startswith(("http://", "https://")):
        raise CorruptEntry("the response URL is not http(s)")
    headers = _field(head, "headers", list)
    if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
               and isinstance(p[1], str) for p in headers):
        raise CorruptEntry("headers are not [name, value] string pairs")
    body = data[end + 1:]
    if len(body) != _field(head, "body_size", int):
        raise CorruptEntry(f"the body has {len(body)} bytes, "
                           f"{head['body_size']} were stored (a truncated file)")
    if blake2b(body, digest_size=_DIGEST_SIZE).hexdigest() != _field(head, "body_blake2b", str):
        raise CorruptEntry("the body does not match its digest")
    stored = _field(head, "stored", (int, float))
    return Entry(
        fingerprint=fingerprint, method=_field(head, "method", str),
        request_url=_field(head, "request_url", str), url=url, status=status,
        headers=tuple((k, v) for k, v in headers), body=body, stored=float(stored),
        truncated=_field(head, "truncated", bool),
    )


class FileStore:
    """Entries as files under ``root``; with ``max_bytes`` > 0 the oldest-stored entries are
    deleted once the files add up to more (an entry larger than the bound is not stored)."""

    def __init__(self, *, root: Path, max_bytes: int = 0) -> None:
        self.root = root
        self.max_bytes = max_bytes
        #: name -> size, oldest stored first (kept only with a size bound)
        self._sizes: OrderedDict[str, int] = OrderedDict()
        self.total = 0
        self._counter = itertools.count()  # next() is atomic: temp names unique per thread
        if max_bytes > 0:
            self._scan()

    @classmethod
    def open_dir(cls, path: str | os.PathLike[str], *, create: bool,
                 max_bytes: int = 0) -> FileStore:
        """The store in directory ``path``. ``create``: make it if missing (record and
        refresh); else it must exist (replay). ConfigError for a path that is not a cache
        directory — a file, or a non-empty directory without the marker (so a mistyped
        ``--cache .`` never writes into, or evicts from, a project's own files)."""
        root = Path(path).expanduser()
        marker = root / MARKER
        if root.exists() and not root.is_dir():
            raise ConfigError(f"cache directory {str(path)!r} is not a directory")
        if not root.exists():
            if not create:
                raise ConfigError(f"cache directory {str(path)!r} does not exist "
                                  f"(record a crawl into it first: --cache-mode record)")
            try:
                root.mkdir(parents=True)
            except OSError as exc:
                raise ConfigError(f"cannot create cache directory {str(path)!r}: "
                                  f"{exc.strerror or exc}") from None
        if not marker.is_file():
            if any(root.iterdir()):
                raise ConfigError(f"{str(path)!r} is not an acrawl cache directory (no "
                                  f"{MARKER} file) and is not empty; give a new or empty one")
            if create:
                try:
                    marker.write_bytes(FORMAT)
                except OSError as exc:
                    raise ConfigError(f"cannot write to cache directory {str(path)!r}: "
                                      f"{exc.strerror or exc}") from None
        return cls(root=root, max_bytes=max_bytes)

    # -- reading --------------------------------------------------------------------------------
    def path(self, fingerprint: bytes) -> Path:
        name = fingerprint.hex()
        return self.root / name[:2] / name

    def load(self, fingerprint: bytes) -> Entry | None:
        """The entry for ``fingerprint``, None if there is none; CorruptEntry if damaged."""
        try:
            data = self.path(fingerprint).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CorruptEntry(f"unreadable: {exc.strerror or exc}") from None
        return _decode(data, fingerprint)

    # -- writing --------------------------------------------------------------------------------
    def encode(self, entry: Entry) -> bytes | None:
        """The bytes of ``entry``'s file; None if it could never fit under the size bound."""
        data = _encode(entry)
        if self.max_bytes > 0 and len(data) > self.max_bytes:
            return None
        return data

    def write(self, fingerprint: bytes, data: bytes) -> None:
        """Write an entry file atomically (temp file, then rename). Safe from a thread."""
        path = self.path(fingerprint)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{next(self._counter)}{_TMP_SUFFIX}")
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileNotFoundError:
                path.parent.mkdir(exist_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def account(self, fingerprint: bytes, size: int) -> int:
        """Record that ``fingerprint``'s file now has ``size`` bytes; evict the oldest entries
        beyond the size bound. Returns how many were evicted. (Call from the loop's thread.)"""
        if self.max_bytes <= 0:
            return 0
        name = fingerprint.hex()
        old = self._sizes.pop(name, None)
        if old is not None:
            self.total -= old
        self._sizes[name] = size
        self.total += size
        evicted = 0
        while self.total > self.max_bytes and len(self._sizes) > 1:
            victim, vsize = self._sizes.popitem(last=False)
            self.total -= vsize
            (self.root / victim[:2] / victim).unlink(missing_ok=True)
            evicted += 1
        return evicted

    def save(self, entry: Entry) -> bool:
        """Store ``entry`` (write + account); False if it is larger than the size bound."""
        data = self.encode(entry)
        if data is None:
            return False
        self.write(entry.fingerprint, data)
        self.account(entry.fingerprint, len(data))
        return True

    def _scan(self) -> None:
        """Index the entries already stored, oldest first (by modification time)."""
        found: list[tuple[float, str, int]] = []
        now = time.time()
        for sub in os.scandir(self.root):
            if not (sub.is_dir() and len(sub.name) == 2):
                continue
            for item in os.scandir(sub.path):
                try:
                    st = item.stat()
                except FileNotFoundError:
                    continue
                if item.name.endswith(_TMP_SUFFIX):
                    if now - st.st_mtime > _STALE_TMP:
                        Path(item.path).unlink(missing_ok=True)
                    continue
                if len(item.name) == 2 * 16 and item.name.startswith(sub.name):
                    found.append((st.st_mtime, item.name, st.st_size))
        found.sort()
        for _mtime, name, size in found:
            self._sizes[name] = size
            self.total += size
