"""A small SQLite cache of API answers, so a second ``resolve`` asks the network nothing.

Why SQLite: one file, safe across threads and processes (WAL), cheap to query for
``comfylock cache stats``. Only the stdlib is used; this module never imports httpx.

On disk (``<cache_dir>/http.sqlite``)::

    responses(key TEXT PRIMARY KEY,   -- "GET https://host/path?query" (tokens redacted)
              kind TEXT,              -- "search" | "metadata" | "pin" | … (for stats)
              status INTEGER,         -- 200, or 404 for a cached negative answer
              body BLOB,              -- the JSON body as received ('' for 404)
              stored_at REAL)         -- unix time

The key is method + URL only: tokens travel in headers and never reach the key (``redact``
is applied to the URL as a second guard). Freshness is decided when reading, with the
caller's TTL; 404 entries are fresh for at most ``TTL_NEGATIVE``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["CACHE_FILENAME", "CacheStats", "CachedResponse", "HttpCache", "open_cache"]

CACHE_FILENAME = "http.sqlite"
SCHEMA_VERSION = 1
_TTL_NEGATIVE = 3600.0  # mirrors http.TTL_NEGATIVE without importing it

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    stored_at REAL NOT NULL
)
"""


class CachedResponse(msgspec.Struct, frozen=True):
    status: int
    body: bytes
    stored_at: float


class CacheStats(msgspec.Struct, frozen=True, kw_only=True):
    """What ``comfylock cache stats`` shows. hits/misses count this process only."""

    path: str
    entries: int
    bytes: int
    by_kind: dict[str, int]
    negative: int
    hits: int
    misses: int


def _key(method: str, url: str) -> str:
    from ..basics.redact import redact

    return f"{method.upper()} {redact(url)}"


def _setup(conn: sqlite3.Connection, tries: int = 50) -> None:
    import time as _time

    for attempt in range(tries):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            return
        except sqlite3.OperationalError:
            if attempt == tries - 1:
                raise
            _time.sleep(0.02 * (attempt + 1))


class HttpCache:
    """Thread-safe response cache: one SQLite connection per thread, WAL journal."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"HttpCache({str(self.path)!r})"

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # NOTE: check_same_thread=False only so close() may run from the owning thread at
            # exit; each connection is used by the thread that opened it.
            conn = sqlite3.connect(
                self.path, timeout=30.0, check_same_thread=False, isolation_level=None
            )
            # NOTE: setting up the schema and WAL mode takes an exclusive lock that SQLite's
            # busy timeout does not always wait for; threads take turns, processes retry.
            with self._lock:
                _setup(conn)
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    def get(
        self, method: str, url: str, *, ttl: float, count: bool = True
    ) -> CachedResponse | None:
        """A fresh entry or None; counts a hit or a miss (``count=False``: a second look by
        the caller that already counted its miss)."""
        row = (
            self._conn()
            .execute(
                "SELECT status, body, stored_at FROM responses WHERE key = ?", (_key(method, url),)
            )
            .fetchone()
        )
        fresh = None
        if row is not None:
            status, body, stored_at = row
            limit = min(ttl, _TTL_NEGATIVE) if status in (404, 410) else ttl
            if 0 <= self._clock() - stored_at <= limit:
                fresh = CachedResponse(status, bytes(body), stored_at)
        if count:
            with self._lock:
                if fresh is None:
                    self.misses += 1
                else:
                    self.hits += 1
        return fresh

    def put(self, method: str, url: str, status: int, body: bytes, *, kind: str) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO responses (key, kind, status, body, stored_at) VALUES (?, ?, ?, ?, ?)",
            (_key(method, url), kind, status, bytes(body), self._clock()),
        )

    def stats(self) -> CacheStats:
        conn = self._conn()
        entries, size, negative = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(body) + LENGTH(key)), 0),"
            " COALESCE(SUM(status IN (404, 410)), 0) FROM responses"
        ).fetchone()
        by_kind = dict(
            conn.execute("SELECT kind, COUNT(*) FROM responses GROUP BY kind ORDER BY kind")
        )
        file_bytes = sum(p.stat().st_size for p in self._files() if p.exists())
        return CacheStats(
            path=str(self.path),
            entries=entries,
            bytes=file_bytes or size,
            by_kind=by_kind,
            negative=negative,
            hits=self.hits,
            misses=self.misses,
        )

    def clear(self) -> int:
        """Delete every entry; return how many there were."""
        conn = self._conn()
        (count,) = conn.execute("SELECT COUNT(*) FROM responses").fetchone()
        conn.execute("DELETE FROM responses")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        return count

    def _files(self) -> list[Path]:
        return [self.path, self.path.with_name(self.path.name + "-wal")]

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.close()
            except sqlite3.ProgrammingError:
                pass
        self._local = threading.local()

    def __enter__(self) -> HttpCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_cache(settings: Settings | None = None) -> HttpCache:
    """The user's cache: ``settings.cache_dir / "http.sqlite"`` (default cache dir if None)."""
    if settings is None:
        from ..settings import default_cache_dir

        return HttpCache(default_cache_dir() / CACHE_FILENAME)
    return HttpCache(settings.cache_dir / CACHE_FILENAME)
