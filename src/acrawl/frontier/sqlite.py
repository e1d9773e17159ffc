"""Durable crawl state (``--state DIR``): the frontier, dedup, sink checkpoints and stats in
one SQLite database (WAL mode, standard library), so a crawl survives Ctrl-C, SIGTERM and
``kill -9`` and the same command resumes it.

Tables: ``queue`` (pending and in-flight requests, serialised as versioned JSON by
:mod:`acrawl.frontier.codec` — callbacks by name, never pickled), ``seen`` (16-byte
fingerprints), ``meta`` (spider name, the format version, stats, each sink's checkpoint),
``cookies`` (the cookie jars, as JSON per jar and site).

The guarantee (see docs/state.md): a request is *done* only in the same transaction that
records the sinks' positions after its items were written and flushed. On resume, in-flight
requests return to the queue and each checkpointing sink (the built-in file and SQLite sinks)
is cut back to its recorded position, so a completed page is never fetched again, no scheduled
request is lost, and no item is lost or written twice.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, SerializationError
from .base import DupeFilter, OnInvalid, RequestQueue, report_invalid
from .codec import FORMAT_VERSION, decode_request, encode_request

if TYPE_CHECKING:
    from ..http import Request
    from ..spider import Spider
    from ..stats import Stats

__all__ = ["SqliteState", "state_has_seen"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (fp BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    host TEXT NOT NULL,
    leased INTEGER NOT NULL DEFAULT 0,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_next ON queue (leased, priority DESC, id);
CREATE TABLE IF NOT EXISTS cookies (
    jar TEXT NOT NULL, site TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (jar, site)
) WITHOUT ROWID;
"""


def state_has_seen(directory: str | os.PathLike[str], fingerprint: bytes) -> tuple[str, bool]:
    """Read-only (nothing is created or changed): the spider whose crawl ``DIR/state.db``
    holds, and whether that crawl has seen ``fingerprint`` (scheduled it, whether done or
    pending). ConfigError if there is no readable state there."""
    path = Path(directory) / "state.db"
    if not path.is_file():
        raise ConfigError(f"--state {directory}: no crawl state there ({path} does not exist)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'spider'").fetchone()
            seen = conn.execute("SELECT 1 FROM seen WHERE fp = ?", (fingerprint,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"--state {directory}: not a usable state database: {exc}") from None
    return (str(row[0]) if row else "?"), seen is not None




# -- the store ------------------------------------------------------------------------------------


class SqliteState:
    """One crawl's durable state in ``DIR/state.db``. ``queue`` and ``dupefilter`` implement
    the frontier interfaces on the same connection; :meth:`commit` is the atomic step."""

    def __init__(self, *, path: Path, spider: Spider, window: int = 512) -> None:
        self.path = path
        self.spider = spider
        self.window = window
        self._conn: sqlite3.Connection | None = None
        self._leases: dict[int, tuple[Request, int]] = {}
        self.resumed: dict[str, int] | None = None
        self.queue = _Queue(self)
        self.dupefilter = _Seen(self)

    @classmethod
    def open_dir(cls, directory: str | os.PathLike[str], spider: Spider) -> SqliteState:
        folder = Path(directory)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--state {directory}: cannot create: {exc.strerror}") from None
        state = cls(path=folder / "state.db", spider=spider)
        state.open()
        return state

    # -- lifecycle ------------------------------------------------------------------------------
    def open(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigError(f"--state {self.path.parent}: not a usable state database: "
                              f"{exc}") from None
        self._conn = conn
        meta = self._meta_all()
        stored = meta.get("spider")
        if stored is None:
            with self._tx() as c:
                c.execute("INSERT OR REPLACE INTO meta VALUES ('spider', ?)", (self.spider.name,))
                c.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)",
                          (str(FORMAT_VERSION),))
            return
        if stored != self.spider.name:
            conn.close()
            self._conn = None
            raise ConfigError(f"--state {self.path.parent} holds a crawl of spider {stored!r}, "
                              f"not {self.spider.name!r}; use another directory")
        if meta.get("format") != str(FORMAT_VERSION):
            self.close()
            raise ConfigError(f"--state {self.path.parent}: state format {meta.get('format')} "
                              f"is not supported by this acrawl (expects {FORMAT_VERSION})")
        with self._tx() as c:
            requeued = c.execute("UPDATE queue SET leased = 0 WHERE leased = 1").rowcount
        pending = self._one("SELECT COUNT(*) FROM queue")
        stats = self._json_meta(meta, "stats", dict) or {}
        self.resumed = {"pending": pending, "requeued": requeued,
                        "done": int(stats.get("requests/done", 0)),
                        "seen": self._one("SELECT COUNT(*) FROM seen")}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("state is closed")
        return self._conn

    def _tx(self) -> Any:
        return _Transaction(self.conn)

    def _one(self, sql: str, args: Sequence[Any] = ()) -> int:
        return int(self.conn.execute(sql, args).fetchone()[0])

    def _meta_all(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    # -- stats and sinks ------------------------------------------------------------------------
    def _json_meta(self, meta: dict[str, str], key: str, kind: type) -> Any:
        """A JSON value of the meta table; ConfigError (one line, exit 2) if damaged."""
        raw = meta.get(key)
        if not raw:
            return None
        try:
            value = json.loads(raw)
            damaged = not isinstance(value, kind)
        except ValueError:
            damaged = True
        if damaged:
            raise ConfigError(f"--state {self.path.parent}: the state is damaged ({key!r} is "
                              "not what this acrawl wrote); use another directory")
        return value

    def load_stats(self, stats: Stats) -> None:
        saved = self._json_meta(self._meta_all(), "stats", dict)
        if saved:
            for key, value in saved.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    stats.counters[key] = value
            stats.pages_before = stats.counters.get("pages", 0)

    def sink_checkpoint(self, uri: str) -> Any:
        return self._json_meta(self._meta_all(), f"sink:{uri}", object)

    def cookie_rows(self) -> list[tuple[str, str, str]]:
        """The saved cookie jars: ``(jar key as JSON, site, cookies as JSON)`` rows."""
        return self.conn.execute("SELECT jar, site, data FROM cookies").fetchall()

    def commit(self, requests: Sequence[Request], checkpoints: dict[str, Any],
               stats: Stats, *, cookies: Sequence[tuple[str, str, str | None]] | None = None,
               ) -> None:
        """In one transaction: forget ``requests`` (done), record sink checkpoints and stats,
        and the ``cookies`` rows that changed (``data`` None: that site has none left)."""
        ids = self.queue._take_ids(requests)
        with self._tx() as c:
            c.executemany("DELETE FROM queue WHERE id = ?", ids)
            for jar, site, data in cookies or ():
                if data is None:
                    c.execute("DELETE FROM cookies WHERE jar = ? AND site = ?", (jar, site))
                else:
                    c.execute("INSERT OR REPLACE INTO cookies VALUES (?, ?, ?)",
                              (jar, site, data))
            stats.inc("requests/done", len(requests))
            for uri, cp in checkpoints.items():
                c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                          (f"sink:{uri}", json.dumps(cp)))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('stats', ?)",
                      (json.dumps(dict(stats.counters)),))


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


class _Queue(RequestQueue):
    """The RequestQueue of a :class:`SqliteState` (pending requests live on disk)."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state

    def encode(self, request: Request) -> bytes:
        return encode_request(request, self.state.spider)

    async def push(self, requests: Sequence[Request]) -> None:
        rows = [(r.priority, r.host, self.encode(r)) for r in requests]
        with self.state._tx() as c:
            c.executemany("INSERT INTO queue (priority, host, data) VALUES (?, ?, ?)", rows)

    async def add_unseen(
        self,
        requests: Sequence[Request],
        fingerprints: Sequence[bytes | None],
        dupefilter: DupeFilter,
        on_invalid: OnInvalid | None = None,
    ) -> list[Request]:
        """Dedup against the ``seen`` table (``dupefilter`` is this state's) and queue in ONE
        transaction (a kill cannot leave a URL seen but not queued); only new requests are
        encoded. ``None`` fingerprint: ``dont_filter``."""
        accepted: list[Request] = []
        invalid: list[tuple[Request, Exception]] = []
        rows = []
        with self.state._tx() as c:
            for req, fp in zip(requests, fingerprints, strict=True):
                if fp is not None and c.execute(
                        "SELECT 1 FROM seen WHERE fp = ?", (fp,)).fetchone():
                    continue
                try:
                    data = self.encode(req)
                except SerializationError as exc:
                    invalid.append((req, exc))
                    continue
                if fp is not None:
                    c.execute("INSERT INTO seen VALUES (?)", (fp,))
                rows.append((req.priority, req.host, data))
                accepted.append(req)
            c.executemany("INSERT INTO queue (priority, host, data) VALUES (?, ?, ?)", rows)
        report_invalid(invalid, on_invalid)
        return accepted

    async def requeue(self, requests: Sequence[Request], replaced: Sequence[Request]) -> None:
        """Queue retries and forget the attempts they replace, in one transaction."""
        rows = [(r.priority, r.host, self.encode(r)) for r in requests]
        with self.state._tx() as c:
            c.executemany("INSERT INTO queue (priority, host, data) VALUES (?, ?, ?)", rows)
            c.executemany("DELETE FROM queue WHERE id = ?", self._take_ids(replaced))

    def _take_ids(self, requests: Sequence[Request]) -> list[tuple[int]]:
        ids = []
        for req in requests:
            lease = self.state._leases.pop(id(req), None)
            if lease is not None:
                ids.append((lease[1],))
        return ids

    async def pop(self, limit: int, claim: Callable[[str], bool]) -> list[Request]:
        st = self.state
        rows = st.conn.execute(
            "SELECT id, host, data FROM queue WHERE leased = 0 "
            "ORDER BY priority DESC, id LIMIT ?", (max(st.window, limit * 4),)).fetchall()
        out: list[Request] = []
        taken: list[tuple[int]] = []
        for row_id, host, data in rows:
            if len(out) >= limit:
                break
            if not claim(host):
                continue
            try:
                req = decode_request(data)
            except SerializationError as exc:
                logger.error("dropping unreadable stored request %d: %s", row_id, exc)
                taken.append((row_id,))
                continue
            st._leases[id(req)] = (req, row_id)
            out.append(req)
            taken.append((row_id,))
        if taken:
            with st._tx() as c:
                c.executemany("UPDATE queue SET leased = 1 WHERE id = ?", taken)
        return out

    async def done(self, requests: Sequence[Request]) -> None:
        ids = self._take_ids(requests)
        with self.state._tx() as c:
            c.executemany("DELETE FROM queue WHERE id = ?", ids)

    async def size(self) -> int:
        return self.state._one("SELECT COUNT(*) FROM queue WHERE leased = 0")

    async def close(self) -> None:
        return None


class _Seen(DupeFilter):
    """The DupeFilter of a :class:`SqliteState`."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state

    async def add(self, fingerprints: Sequence[bytes]) -> list[bool]:
        out = []
        with self.state._tx() as c:
            for fp in fingerprints:
                out.append(c.execute("INSERT OR IGNORE INTO seen VALUES (?)", (fp,)).rowcount == 1)
        return out

    async def close(self) -> None:
        return None


