"""The store's SQLite index: what each blob is, where it is linked, which locks use it.

``<store>/index.sqlite`` (user_version 1)::

    blobs(sha256 → size, blake3)
    links(target → sha256, lock, mode, size, mtime_ns, ino)   what comfylock placed, where
    locks(path, synced_ns)                                    lock files that synced here (gc)
    rejects(remote, sha256)        a remote served other bytes for this blob: push replaces them
                                   (created on first use, so older indexes need no migration)
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from pathlib import Path

import msgspec

from ..errors import IntegrityError

__all__ = [
    "LinkRow",
    "StoreIndex",
]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, blake3 TEXT);
CREATE TABLE IF NOT EXISTS links (
    target TEXT PRIMARY KEY, sha256 TEXT NOT NULL, lock TEXT NOT NULL, mode TEXT NOT NULL,
    size INTEGER, mtime_ns INTEGER, ino INTEGER);
CREATE INDEX IF NOT EXISTS links_lock ON links (lock);
CREATE TABLE IF NOT EXISTS locks (path TEXT PRIMARY KEY, synced_ns INTEGER NOT NULL);
"""
_REJECTS = (
    "CREATE TABLE IF NOT EXISTS rejects (remote TEXT NOT NULL, sha256 TEXT NOT NULL, "
    "PRIMARY KEY (remote, sha256))"
)


class LinkRow(msgspec.Struct, frozen=True):
    """One entry comfylock placed in a models tree, with the stat it had when placed."""

    target: str
    sha256: str
    lock: str
    mode: str
    size: int | None = None
    mtime_ns: int | None = None
    ino: int | None = None


def _index_error(exc: sqlite3.Error, path: Path) -> Exception:
    """SQLite's failure as the error the CLI maps: a full or failing disk is exit 6 like any
    other local disk problem, a damaged index exit 4, never an internal error."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    where = str(path)
    if name == "SQLITE_FULL":
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), where)
    if name.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")):
        return OSError(errno.EACCES, os.strerror(errno.EACCES), where)
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return IntegrityError(
            f"{where}: the store index is damaged ({exc})",
            hint="move index.sqlite away and run sync again; blobs are kept",
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return OSError(errno.EBUSY, "the store index stayed locked by another comfylock", where)
    return OSError(errno.EIO, f"cannot use the store index: {exc} (is the disk full?)", where)


class StoreIndex:
    """SQLite index of the store. Every write is its own short transaction."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._mutex = threading.Lock()
        try:
            # NOTE: a generous busy timeout: concurrent syncs write here at the same time.
            # Download threads ingest concurrently: one connection, serialised by a lock.
            self._db = sqlite3.connect(
                str(path), timeout=60, isolation_level=None, check_same_thread=False
            )
            with self._mutex:
                # NOTE: only a new index is written to here: a read-only status stays so. One
                # transaction: each statement on its own synced the disk twice (a fresh store's
                # first sync waited ~0.1 s for them while aria2c's writes filled the queue).
                if self._db.execute("PRAGMA user_version").fetchone()[0] == 0:
                    self._db.executescript(f"BEGIN;{_SCHEMA}PRAGMA user_version = 1;COMMIT;")
        except sqlite3.Error as exc:
            raise _index_error(exc, path) from None

    def _exec(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._mutex:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise _index_error(exc, self._path) from None

    def close(self) -> None:
        # NOTE: under the mutex: after Ctrl-C a daemon download thread may still be inside
        # _exec; closing the connection under it crashed the interpreter (SIGSEGV, seen in
        # test_sigint_exits_130_without_traceback). Afterwards _exec raises ProgrammingError.
        with self._mutex:
            self._db.close()

    def add_blob(self, sha256: str, size: int, blake3: str | None) -> None:
        self._exec(
            "INSERT INTO blobs VALUES (?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET "
            "blake3 = coalesce(excluded.blake3, blobs.blake3)",
            (sha256, size, blake3),
        )

    def add_blobs(self, rows: list[tuple[str, int, str | None]]) -> None:
        """``add_blob`` for many, in one transaction (one sync to disk, not one per blob)."""
        self._many(
            "INSERT INTO blobs VALUES (?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET "
            "blake3 = coalesce(excluded.blake3, blobs.blake3)",
            rows,
        )

    def remove_blob(self, sha256: str) -> None:
        self._exec("DELETE FROM blobs WHERE sha256 = ?", (sha256,))

    def blake3_of(self, sha256: str) -> str | None:
        row = self._exec("SELECT blake3 FROM blobs WHERE sha256 = ?", (sha256,))
        return row[0][0] if row else None

    def record_link(self, row: LinkRow) -> None:
        self.record_links([row])

    def record_links(self, rows: list[LinkRow]) -> None:
        """Record links placed, in one transaction (one sync to disk, not one per link)."""
        self._many(
            "INSERT OR REPLACE INTO links VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(r.target, r.sha256, r.lock, r.mode, r.size, r.mtime_ns, r.ino) for r in rows],
        )

    def _many(self, sql: str, rows: list[tuple]) -> None:
        with self._mutex:
            try:
                with self._db:  # NOTE: isolation_level=None: the block is one transaction
                    self._db.execute("BEGIN")
                    self._db.executemany(sql, rows)
            except sqlite3.Error as exc:
                raise _index_error(exc, self._path) from None

    def forget_link(self, target: str) -> None:
        self._exec("DELETE FROM links WHERE target = ?", (target,))

    def links(self, lock: str | None = None) -> list[LinkRow]:
        if lock is None:
            rows = self._exec("SELECT * FROM links ORDER BY target")
        else:
            rows = self._exec("SELECT * FROM links WHERE lock = ? ORDER BY target", (lock,))
        return [LinkRow(*r) for r in rows]

    def register_lock(self, lock: str) -> None:
        self._exec("INSERT OR REPLACE INTO locks VALUES (?, ?)", (lock, time.time_ns()))

    def forget_lock(self, lock: str) -> None:
        self._exec("DELETE FROM locks WHERE path = ?", (lock,))

    def locks(self) -> list[str]:
        return [r[0] for r in self._exec("SELECT path FROM locks ORDER BY path")]

    def record_reject(self, remote: str, sha256: str) -> None:
        """``remote`` (its URL) served bytes for ``sha256`` that failed verification."""
        self._exec(_REJECTS)
        self._exec("INSERT OR IGNORE INTO rejects VALUES (?, ?)", (remote, sha256))

    def forget_reject(self, remote: str, sha256: str) -> None:
        if self._has_table("rejects"):
            self._exec("DELETE FROM rejects WHERE remote = ? AND sha256 = ?", (remote, sha256))

    def rejected(self, remote: str) -> frozenset[str]:
        """Blobs whose copy on ``remote`` a sync found wrong (push replaces them)."""
        if not self._has_table("rejects"):
            return frozenset()
        rows = self._exec("SELECT sha256 FROM rejects WHERE remote = ?", (remote,))
        return frozenset(r[0] for r in rows)

    def _has_table(self, name: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return bool(self._exec(sql, (name,)))
