"""Verified blobs made durable and visible off the download workers' path, in one batch.

Placing a blob costs an ``fsync`` of its bytes (~3 ms for 4 MiB here, ~0.13 s for 256 MiB),
a rename, and a transaction in the store's SQLite index (another sync to disk). Paid inline
by each download worker, for each blob, that was the fixed cost a lock of many LoRAs
noticed. A ``Placer`` takes a blob its worker has verified (``Store.ingest``) and, on a
thread of its own, syncs the bytes and renames the file into ``blobs/`` — so a blob is
visible only once verified *and* on disk, as before — while the worker takes its next
download. The shard directories that received a blob are synced once each, and the index
rows written in one transaction, when the batch is closed (``close``: after the last
download, before anything is linked into the models tree). The digest lock the worker held
goes with the blob and is released once it is in place, so a concurrent sync on the same
store never downloads it again in between.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .hashing import Expected

__all__ = ["Placer"]

_THREADS = 2  # fsyncs queue at the disk anyway; two keep one in flight while one renames


class Placer:
    """One run's batch of placements into ``store`` (a ``blobs.Store``)."""

    def __init__(self, store) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="comfylock-place")
        self._guard = threading.Lock()
        self._rows: list[tuple[str, int, str | None]] = []
        self._dirs: set[str] = set()
        self._futures: dict[str, Future] = {}

    def submit(self, verified: Path, expected: Expected, held: contextlib.ExitStack) -> None:
        """Place ``verified`` (a claimed file whose bytes were checked) as ``expected``'s
        blob; ``held`` (the digest lock) is closed once it is there, or it failed."""
        future = self._pool.submit(self._place, verified, expected, held)
        with self._guard:
            self._futures[expected.sha256] = future

    def _place(self, verified: Path, expected: Expected, held: contextlib.ExitStack) -> None:
        try:
            with open(verified, "rb") as fh:
                os.fsync(fh.fileno())
            os.chmod(verified, 0o444)
            blob = self._store.blob_path(expected.sha256)
            blob.parent.mkdir(parents=True, exist_ok=True)
            os.replace(verified, blob)
            with self._guard:
                self._rows.append((expected.sha256, expected.size, expected.blake3))
                self._dirs.add(str(blob.parent))
        finally:
            with contextlib.suppress(FileNotFoundError):
                verified.unlink()  # only when the rename did not happen
            held.close()

    def failures(self) -> dict[str, BaseException]:
        """{sha256: why} of the placements that failed (waits for all of them)."""
        with self._guard:
            futures = dict(self._futures)
        out = {}
        for sha, future in futures.items():
            exc = future.exception()
            if exc is not None:
                out[sha] = exc
        return out

    def close(self) -> None:
        """Wait for every placement, sync each directory that received a blob, and write
        the index rows in one transaction."""
        self._pool.shutdown(wait=True)
        with self._guard:
            dirs, rows = sorted(self._dirs), list(self._rows)
            self._dirs, self._rows = set(), []
        for directory in [*dirs, str(self._store.blobs_dir)] if dirs else []:
            _sync_dir(directory)
        if rows:
            with self._store.file_lock("store"):
                self._store.index.add_blobs(rows)


def _sync_dir(path: str) -> None:
    """fsync a directory (its new entries), where the platform allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse a directory fsync; the entries are there all the same
    finally:
        os.close(fd)
