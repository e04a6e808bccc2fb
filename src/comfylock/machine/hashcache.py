"""Remember each model file's digests, so an unchanged file is never hashed twice.

Digests are cached in SQLite keyed by the file's identity; any mismatch means "unknown",
never "trusted" (STYLE rule 12).

Cache format (``<cache_dir>/hashes.sqlite``, WAL mode, ``PRAGMA user_version`` = schema)::

    hashes(path BLOB PRIMARY KEY,          -- os.fsencode(absolute path)
           size, mtime_ns, inode, dev,     -- the key: all must match the current stat
           sha256, blake3,                 -- lower-case hex
           cached_at_ns)                   -- wall clock when the row was written

A row whose file's mtime is within ``racy_ns`` of ``cached_at_ns`` is not trusted: the file
could have been rewritten in the same timestamp tick after it was hashed (git's "racily
clean" problem). Such files are simply hashed again on the next lookup.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..store.hashing import Digest, Progress, hash_file

__all__ = [
    "HashCache",
    "SCHEMA_VERSION",
    "cached_hash",
    "recall_or_hash",
]


SCHEMA_VERSION = 1
_BATCH = 512
_RACY_NS = 2_000_000_000


def _i64(value: int) -> int:
    """SQLite integers are signed 64-bit; some filesystems hand out inodes above 2**63."""
    return value - (1 << 64) if value >= (1 << 63) else value


def _path_key(path: str | os.PathLike[str]) -> bytes:
    text = os.fspath(path)
    return os.fsencode(text if os.path.isabs(text) else os.path.abspath(text))


def _key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, _i64(st.st_ino), _i64(st.st_dev))


_FILE_NAME = "hashes.sqlite"  # in the cache dir (``HashCache.in_dir``)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes (
    path BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    dev INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    blake3 TEXT NOT NULL,
    cached_at_ns INTEGER NOT NULL
) WITHOUT ROWID
"""


class HashCache:
    """Digests of local files, keyed by (path, size, mtime_ns, inode, dev).

    Safe for several processes (WAL, busy timeout, upserts); a cache that cannot be opened
    or written (read-only home, corrupt file, lock held too long) degrades to "unknown"
    rather than failing the command, because it only ever saves work.

    Use as a context manager, or call ``close()``: writes are batched and flushed there.
    """

    def __init__(
        self, db_path: str | os.PathLike[str], *, racy_ns: int = _RACY_NS, timeout: float = 10.0
    ) -> None:
        self.path = Path(db_path)
        self.racy_ns = racy_ns
        self.timeout = timeout  # seconds to wait for another process's write lock
        self._pending: dict[bytes, tuple[Any, ...]] = {}
        self._loaded: dict[bytes, tuple[Any, ...]] = {}
        self._prefixes: list[bytes] = []
        self._lock = threading.Lock()
        self._db = self._connect()

    @classmethod
    def in_dir(cls, cache_dir: str | os.PathLike[str]) -> HashCache:
        """The cache at ``<cache_dir>/hashes.sqlite`` (``Settings.cache_dir``)."""
        return cls(Path(cache_dir) / _FILE_NAME)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._open_db(str(self.path))
        except sqlite3.OperationalError:
            # Locked for longer than the timeout, or unwritable: work without it this time.
            return self._open_db(":memory:")
        except OSError:
            return self._open_db(":memory:")
        except sqlite3.DatabaseError:
            pass
        # "file is not a database": a corrupt cache only costs re-hashing, so start afresh.
        try:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return self._open_db(str(self.path))
        except (OSError, sqlite3.DatabaseError):
            return self._open_db(":memory:")

    def _open_db(self, target: str) -> sqlite3.Connection:
        db = sqlite3.connect(
            target, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                db.execute("BEGIN IMMEDIATE")
                # Re-read under the write lock: another process may have just migrated it.
                if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    db.execute("DROP TABLE IF EXISTS hashes")
                    db.execute(_SCHEMA)
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return db

    def preload(self, directory: str | os.PathLike[str]) -> None:
        """Load every row under ``directory`` in one query, so ``get`` for files there needs
        no query of its own (10,000 point queries cost ~10x one range scan)."""
        prefix = _path_key(directory).rstrip(b"/") + b"/"
        if any(prefix.startswith(p) for p in self._prefixes):
            return  # already loaded with a parent directory
        upper = prefix[:-1] + b"0"  # the byte after "/": the end of the prefix range
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT * FROM hashes WHERE path >= ? AND path < ?", (prefix, upper)
                ).fetchall()
            except sqlite3.Error:
                return
            self._loaded.update((row[0], row) for row in rows)
            self._prefixes.append(prefix)

    def get(self, path: str | os.PathLike[str], st: os.stat_result) -> Digest | None:
        """The cached digest if ``st`` still matches what was hashed, else None."""
        key = _path_key(path)
        with self._lock:
            row = self._pending.get(key) or self._loaded.get(key)
            if row is None and not any(key.startswith(p) for p in self._prefixes):
                try:
                    row = self._db.execute("SELECT * FROM hashes WHERE path = ?", (key,)).fetchone()
                except sqlite3.Error:
                    return None
        if row is None or tuple(row[1:5]) != _key(st):
            return None
        if st.st_mtime_ns + self.racy_ns >= row[7]:
            return None  # written in the same tick it was hashed: could have changed since
        return Digest(size=row[1], sha256=row[5], blake3=row[6])

    def known(self, sha256s: Iterable[str]) -> set[str]:
        """Which of ``sha256s`` some remembered file had, whatever it is now: none of the
        others can be found in a tree without hashing (all of them when the cache cannot be
        asked: a conservative answer)."""
        wanted = set(sha256s)
        with self._lock:
            found = {row[5] for row in self._pending.values() if row[5] in wanted}
            try:
                ordered = sorted(wanted - found)
                for i in range(0, len(ordered), 500):
                    chunk = ordered[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    found.update(
                        row[0]
                        for row in self._db.execute(
                            f"SELECT DISTINCT sha256 FROM hashes WHERE sha256 IN ({marks})", chunk
                        )
                    )
            except sqlite3.Error:
                return wanted
        return found

    def put(self, path: str | os.PathLike[str], st: os.stat_result, digest: Digest) -> None:
        """Remember ``digest`` for the file as ``st`` describes it (flushed in batches)."""
        if digest.size != st.st_size:
            return  # the file changed while it was read: never cache a guess
        key = _path_key(path)
        row = (key, *_key(st), digest.sha256, digest.blake3, time.time_ns())
        with self._lock:
            self._pending[key] = row
            full = len(self._pending) >= _BATCH
        if full:
            self.flush()

    def forget(self, path: str | os.PathLike[str]) -> None:
        """Drop what is remembered of ``path``: its bytes proved other than the row said (a
        file rewritten in place with its mtime kept). Best effort, like every write here."""
        key = _path_key(path)
        with self._lock:
            self._pending.pop(key, None)
            self._loaded.pop(key, None)
            try:
                self._db.execute("DELETE FROM hashes WHERE path = ?", (key,))
            except sqlite3.Error:
                pass

    def flush(self) -> None:
        """Write pending rows in one transaction; on contention or error they are dropped."""
        with self._lock:
            rows, self._pending = list(self._pending.values()), {}
            if not rows:
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT OR REPLACE INTO hashes VALUES (?,?,?,?,?,?,?,?)", rows)
                self._db.execute("COMMIT")
                self._loaded.update((row[0], row) for row in rows)
            except sqlite3.Error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cached_hash(
    path: str | os.PathLike[str], cache: HashCache | None, *, progress: Progress | None = None
) -> Digest:
    """Digest of ``path``: stat it, use ``cache`` if the file is unchanged, else hash it."""
    return recall_or_hash(path, os.stat(path), cache, progress=progress)[0]


def recall_or_hash(
    path: str | os.PathLike[str],
    st: os.stat_result,
    cache: HashCache | None,
    *,
    progress: Progress | None = None,
    lookup: bool = True,
) -> tuple[Digest, bool]:
    """Like ``cached_hash`` for a caller that already has the file's stat.

    Args:
        lookup: False when the caller already knows the cache misses (store only).

    Returns:
        (digest, from_cache). Only a miss reads the file; the new digest is cached unless the
        file changed while it was being read.
    """
    if cache is not None and lookup:
        found = cache.get(path, st)
        if found is not None:
            return found, True
    digest = hash_file(path, progress=progress)
    if cache is not None and _key(os.stat(path)) == _key(st):
        cache.put(path, st, digest)
    return digest, False


class LazyHashCache:
    """Opens the hash cache only if some user file has to be hashed."""

    def __init__(self, cache_dir: Path) -> None:
        self._dir, self._cache = cache_dir, None

    def _get(self):
        if self._cache is None:
            from .hashcache import HashCache

            self._cache = HashCache.in_dir(self._dir)
        return self._cache

    def get(self, path, st):
        return self._get().get(path, st)

    def put(self, path, st, digest) -> None:
        self._get().put(path, st, digest)

    def preload(self, directory) -> None:
        self._get().preload(directory)

    def known(self, sha256s) -> set[str]:
        """``HashCache.known``; nothing, without opening it, when no cache was ever made."""
        if self._cache is None and not (Path(self._dir) / _FILE_NAME).exists():
            return set()
        return self._get().known(sha256s)

    def forget(self, path) -> None:
        self._get().forget(path)

    def flush(self) -> None:
        self._get().flush()

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
