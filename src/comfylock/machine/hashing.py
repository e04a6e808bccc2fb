"""Hash each model file once (sha256 + blake3 from one read) and remember the result.

Model files are large (GBs) and hashing them dominates ``scan``, ``resolve`` and ``sync``,
so a file is read exactly once per change: both hashers are fed from the same buffer, in two
threads (hashlib and blake3 release the GIL), while the next chunk is read into a second
buffer. Digests are cached in SQLite keyed by the file's identity; any mismatch means
"unknown", never "trusted" (STYLE rule 12).

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

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec

from ..constants import CHUNK_SIZE as _CHUNK_SIZE

__all__ = [
    "CHUNK_SIZE",
    "Digest",
    "HashCache",
    "StreamHasher",
    "blake3_file",
    "cached_hash",
    "hash_file",
    "recall_or_hash",
    "sha256_file",
]

# Measured (bench/run.py, 1 GiB in page cache, 2 cores): 2-8 MiB chunks tie; 1 MiB pays more
# hand-offs and 16 MiB+ falls out of cache (blake3 alone 0.20 s at 4 MiB, 0.47 s at 32 MiB).
CHUNK_SIZE = _CHUNK_SIZE
# Above this a lone blake3 uses its own thread pool (as b3sum does); below it threads cost more.
_B3_PARALLEL_MIN = 1024 * 1024
SCHEMA_VERSION = 1
_BATCH = 512
_RACY_NS = 2_000_000_000

Progress = Callable[[int], Any]

# The one place files are opened for hashing. Tests and benchmarks replace it (for instance
# with a wrapper that counts opens) to prove that a cached rescan reads nothing.
_open = open


class Digest(msgspec.Struct, frozen=True):
    """What comfylock knows about a file's bytes."""

    size: int
    sha256: str
    blake3: str


def hash_file(
    path: str | os.PathLike[str], *, progress: Progress | None = None, blake3: bool = True
) -> Digest:
    """sha256 and blake3 of a file from one read.

    Args:
        path: the file.
        progress: called with the number of bytes read so far, after each chunk.
        blake3: False skips blake3 (its ``Digest.blake3`` is then ""), for callers that
            would not use it.

    Returns:
        Digest with the size actually read (not the stat size, which could be stale).
    """
    size, sha, b3 = _digest_path(path, want_sha=True, want_b3=blake3, progress=progress)
    return Digest(size=size, sha256=sha or "", blake3=b3 or "")


def sha256_file(path: str | os.PathLike[str], *, progress: Progress | None = None) -> str:
    """Lower-hex sha256 of a file (same reader as ``hash_file``, one hasher)."""
    return _digest_path(path, want_sha=True, want_b3=False, progress=progress)[1] or ""


MMAP_MIN = 64 * 1024 * 1024  # below this, mapping costs more than it saves


def blake3_file(path: str | os.PathLike[str], *, progress: Progress | None = None) -> str:
    """Lower-hex blake3 of a file already at rest (a store blob, a scanned model):
    memory-mapped and multithreaded like ``b3sum``. Freshly written files and progress
    reporting go through the buffered reader instead (SPEC §7: no mmap of new files)."""
    if progress is None:
        try:
            if os.path.getsize(path) >= MMAP_MIN:
                return _new_blake3(True).update_mmap(os.fspath(path)).hexdigest()
        except (OSError, ValueError, AttributeError):
            pass  # an odd file system or an old blake3 package: read it the ordinary way
    return _digest_path(path, want_sha=False, want_b3=True, progress=progress)[2] or ""


def _new_blake3(parallel: bool) -> Any:
    import blake3

    # NOTE: with sha256 running beside it, a multithreaded blake3 only steals the core
    # sha256 needs; alone, it should use every core.
    return blake3.blake3(max_threads=blake3.blake3.AUTO if parallel else 1)


def _digest_path(
    path: str | os.PathLike[str],
    *,
    want_sha: bool,
    want_b3: bool,
    progress: Progress | None,
    chunk_size: int = 0,
) -> tuple[int, str | None, str | None]:
    chunk = chunk_size or CHUNK_SIZE
    hashers: list[Any] = []
    if want_sha:
        hashers.append(hashlib.sha256())
    with _open(path, "rb", buffering=0) as f:
        try:
            expected = os.fstat(f.fileno()).st_size
        except (AttributeError, OSError):
            expected = chunk + 1
        if want_b3:
            hashers.append(_new_blake3(parallel=not want_sha and expected > _B3_PARALLEL_MIN))
        if expected < chunk:
            # +1: a file that grew since fstat is still read to its end, just in more reads.
            size = _hash_inline(f, hashers, max(expected + 1, 4096), progress)
        else:
            size = _hash_pipelined(f, hashers, chunk, progress)
    sha = hashers[0].hexdigest() if want_sha else None
    b3 = hashers[-1].hexdigest() if want_b3 else None
    return size, sha, b3


def _hash_inline(f: Any, hashers: list[Any], chunk: int, progress: Progress | None) -> int:
    """Small files: thread hand-offs would cost more than they save."""
    buf = bytearray(chunk)
    view = memoryview(buf)
    done = 0
    while n := f.readinto(buf):
        for h in hashers:
            h.update(view[:n])
        done += n
        if progress is not None:
            progress(done)
    return done


def _hash_pipelined(f: Any, hashers: list[Any], chunk: int, progress: Progress | None) -> int:
    """Read chunk i+1 into one buffer while the hashers digest chunk i from the other."""
    # One single-thread executor per hasher: its chunks are applied strictly in order, and
    # the hashers run in parallel with each other and with the reader.
    workers = [
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="comfylock-hash") for _ in hashers
    ]
    bufs = (bytearray(chunk), bytearray(chunk))
    views = (memoryview(bufs[0]), memoryview(bufs[1]))
    pending: list[list[Future[None]]] = [[], []]
    done = 0
    i = 0
    try:
        while True:
            for fut in pending[i]:
                fut.result()  # every hasher is done with this buffer: safe to overwrite
            n = f.readinto(bufs[i])
            if not n:
                break
            data = views[i][:n]
            pending[i] = [w.submit(h.update, data) for w, h in zip(workers, hashers, strict=True)]
            done += n
            if progress is not None:
                progress(done)
            i ^= 1
        for futs in pending:
            for fut in futs:
                fut.result()
    finally:
        for w in workers:
            w.shutdown(wait=True, cancel_futures=True)
    return done


class StreamHasher:
    """sha256 (and blake3) of a file another process is still writing, read in order as its
    bytes become final: ``advance(n)`` hashes ``[done, n)``; ``digest_of(path)`` is the
    result only if every byte of the file now at ``path`` was hashed (same inode and size).

    A download's verification then re-reads nothing but the last pieces. ``None`` from
    ``digest_of`` means "hash the file again": the caller never trusts anything less.
    """

    def __init__(self, path: str | os.PathLike[str], *, blake3: bool) -> None:
        self._path, self._blake3 = os.fspath(path), blake3
        self._sha = hashlib.sha256()
        self._b3 = _new_blake3(False) if blake3 else None
        self._fh: Any = None
        self._buf = bytearray(CHUNK_SIZE)
        self.done = 0

    def advance(self, upto: int) -> int:
        """Hash the file's bytes up to offset ``upto`` (final: the writer is past them);
        returns how many bytes this call hashed."""
        start = self.done
        if upto <= start:
            return 0
        if self._fh is None:
            try:
                self._fh = _open(self._path, "rb", buffering=0)
            except OSError:
                return 0  # not created yet
        view = memoryview(self._buf)
        self._fh.seek(self.done)
        while self.done < upto:
            n = self._fh.readinto(view[: min(len(view), upto - self.done)])
            if not n:
                break  # shorter than the writer said: digest_of will refuse
            self._sha.update(view[:n])
            if self._b3 is not None:
                self._b3.update(view[:n])
            self.done += n
        return self.done - start

    def digest_of(self, path: str | os.PathLike[str], size: int) -> Digest | None:
        """The digest of the file at ``path`` if it is the one hashed, all ``size`` bytes."""
        try:
            if self._fh is None:  # finished before the first look: read it all now
                self._path = os.fspath(path)
                self._fh = _open(self._path, "rb", buffering=0)
            mine, now = os.fstat(self._fh.fileno()), os.stat(path)
        except OSError:
            return None
        if (mine.st_dev, mine.st_ino) != (now.st_dev, now.st_ino) or now.st_size != size:
            return None
        self.advance(size)
        if self.done != size:
            return None
        b3 = self._b3.hexdigest() if self._b3 is not None else ""
        return Digest(size=size, sha256=self._sha.hexdigest(), blake3=b3)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _i64(value: int) -> int:
    """SQLite integers are signed 64-bit; some filesystems hand out inodes above 2**63."""
    return value - (1 << 64) if value >= (1 << 63) else value


def _path_key(path: str | os.PathLike[str]) -> bytes:
    text = os.fspath(path)
    return os.fsencode(text if os.path.isabs(text) else os.path.abspath(text))


def _key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, _i64(st.st_ino), _i64(st.st_dev))


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
        return cls(Path(cache_dir) / "hashes.sqlite")

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
