"""Hash bytes once: sha256 + blake3 from one read, and the bytes a blob must hold.

Model files are large (GBs) and hashing them dominates ``scan``, ``resolve`` and ``sync``,
so a file is read exactly once per change: both hashers are fed from the same buffer, in two
threads (hashlib and blake3 release the GIL), while the next chunk is read into a second
buffer. ``StreamHasher`` hashes a download while it arrives. What was hashed is remembered
by ``machine.hashcache`` (keyed by the file's identity), not here.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from ..constants import CHUNK_SIZE as _CHUNK_SIZE
from ..errors import IntegrityError

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Future

# NOTE: hashlib (OpenSSL's start-up) and concurrent.futures (logging) are imported where a
# hash is computed: the expected-bytes type is on every no-op sync's path, hashing is not.

__all__ = [
    "CHUNK_SIZE",
    "Digest",
    "Expected",
    "StreamHasher",
    "VerifyingReader",
    "blake3_file",
    "hash_file",
    "sha256_file",
]

# Measured (bench/run.py, 1 GiB in page cache, 2 cores): 2-8 MiB chunks tie; 1 MiB pays more
# hand-offs and 16 MiB+ falls out of cache (blake3 alone 0.20 s at 4 MiB, 0.47 s at 32 MiB).
CHUNK_SIZE = _CHUNK_SIZE
# What a StreamHasher reads at a time: one aria2c piece (``-k1M``).
_STREAM_CHUNK = 1024 * 1024
# Above this a lone blake3 uses its own thread pool (as b3sum does); below it threads cost more.
_B3_PARALLEL_MIN = 1024 * 1024

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
    import hashlib

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
    from concurrent.futures import ThreadPoolExecutor

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

    def __init__(
        self, path: str | os.PathLike[str], *, blake3: bool, size: int | None = None
    ) -> None:
        import hashlib

        self._path, self._blake3 = os.fspath(path), blake3
        self._sha = hashlib.sha256()
        self._b3 = _new_blake3(False) if blake3 else None
        self._fh: Any = None
        # NOTE: 1 MiB at most (one of aria2c's pieces: the finished prefix grows by them),
        # no bigger than the file: zeroing a 4 MiB buffer per LoRA cost a sync of 40 ~15 ms
        self._buf = bytearray(min(_STREAM_CHUNK, max(64 * 1024, size or _STREAM_CHUNK)))
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


class Expected(msgspec.Struct, frozen=True, kw_only=True):
    """The bytes a blob must hold: size and sha256 always, blake3 when the lock has it."""

    size: int
    sha256: str
    blake3: str | None = None


class VerifyingReader(io.RawIOBase):
    """A store blob opened to be sent somewhere (``push``): its bytes are hashed as they are
    read, in order, and the read that would hand out the last of them raises IntegrityError
    instead when they are not the ``expected`` ones. So an upload is verified by the one read
    that sends it, and a rotten blob never completes an upload (its last part is never sent).

    Reads may go back (a client retrying, or re-reading to sign): bytes before the hashed
    frontier were hashed the first time. A read that skips ahead of it cannot be vouched
    for and raises as well.
    """

    def __init__(self, path: str | os.PathLike[str], expected: Expected) -> None:
        import hashlib

        self._fh = open(path, "rb")  # noqa: SIM115 — closed by close()
        self._expected, self._what = expected, os.fspath(path)
        self._sha = hashlib.sha256()
        self._hashed = 0
        size = os.fstat(self._fh.fileno()).st_size
        if size != expected.size:
            self._fh.close()
            raise IntegrityError(f"{self._what}: {size} bytes, its name says {expected.size}")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def read(self, size: int = -1) -> bytes:
        start = self._fh.tell()
        data = self._fh.read(size)
        end = start + len(data)
        if start > self._hashed:
            self._refuse("read out of order; cannot vouch for the bytes")
        if end > self._hashed:
            self._sha.update(memoryview(data)[self._hashed - start :])
            self._hashed = end
            if end >= self._expected.size and self._sha.hexdigest() != self._expected.sha256:
                got = self._sha.hexdigest()[:16]
                self._refuse(f"sha256 is {got}…, its name says {self._expected.sha256[:16]}…")
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _refuse(self, why: str) -> None:
        raise IntegrityError(f"{self._what}: {why}")

    def close(self) -> None:
        self._fh.close()
        super().close()
