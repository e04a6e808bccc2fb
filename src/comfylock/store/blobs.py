"""The content-addressed blob store shared by every project on the machine (SPEC §5).

On disk::

    <store>/
      CACHEDIR.TAG                     marks the store as a cache for backup tools
      index.sqlite                     (user_version 1) blobs(sha256 → size, blake3)
                                       links(target → sha256, lock, mode, size, mtime_ns, ino)
                                       locks(path): lock files that synced into this store (gc)
      blobs/sha256/<2 hex>/<64 hex>    read-only files; the name IS the sha256 of the bytes
      tmp/<64 hex>.part                partial downloads, kept across runs for resume
      tmp/<64 hex>.part.aria2          aria2c's control file for the same (when aria2 ran)
      tmp/*.verify                     a claimed file being hashed (never trusted)
      displaced/<utc stamp>-<random>/<absolute path>   a user's file moved aside by
                                       ``sync --force`` (one new dir per run)
      quarantine/<64 hex>              blobs ``verify`` found corrupt
      locks/<64 hex>.lock, store.lock  advisory fcntl locks

A blob only ever appears in ``blobs/`` through ``os.replace`` after its size and sha256
(and blake3 when known) were checked, so a process killed at any moment leaves at worst a
stray file in ``tmp/``. Locks only avoid duplicate work: two syncs download a digest once.
Correctness never depends on them (everything is verified before it is placed).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as stat_mod
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import IntegrityError, UnsafePathError
from .hashing import Expected
from .index import StoreIndex

try:  # POSIX; on Windows locks are skipped (they are only an optimisation)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "Store",
    "is_sha256",
]

_HEX = frozenset("0123456789abcdef")
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by comfylock.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def is_sha256(value: str) -> bool:
    return len(value) == 64 and set(value) <= _HEX


class Store:
    """A store rooted at ``root``. Cheap to construct; ``ensure()`` creates the layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs_dir = self.root / "blobs" / "sha256"
        self.tmp_dir = self.root / "tmp"
        self.displaced_dir = self.root / "displaced"
        self.quarantine_dir = self.root / "quarantine"
        self.locks_dir = self.root / "locks"
        self.index_path = self.root / "index.sqlite"
        self._index: StoreIndex | None = None
        self._ensured = False

    def ensure(self) -> Store:
        """Create the layout (once per Store value: every ingest asks)."""
        if self._ensured:
            return self
        for d in (self.blobs_dir, self.tmp_dir, self.locks_dir):
            d.mkdir(parents=True, exist_ok=True)
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(_CACHEDIR_TAG, encoding="ascii")
        self._ensured = True
        return self

    @property
    def index(self) -> StoreIndex:
        """The SQLite index, opened on first use (a no-op status may never need it)."""
        if self._index is None:
            self.ensure()
            self._index = StoreIndex(self.index_path)
        return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    # --- paths -------------------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise UnsafePathError(f"not a sha256 digest: {sha256!r}")
        return self.blobs_dir / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def tmp_path(self, sha256: str) -> Path:
        """The partial-download file of a digest: stable across runs, so downloads resume."""
        if not is_sha256(sha256):
            raise UnsafePathError(f"not a sha256 digest: {sha256!r}")
        return self.tmp_dir / f"{sha256}.part"

    def sha_of_blob_path(self, path: str | os.PathLike[str]) -> str | None:
        """The digest a path inside ``blobs/`` names, or None if it is not a blob path."""
        path = Path(path)
        if path.parent.parent != self.blobs_dir or not is_sha256(path.name):
            return None
        return path.name if path.parent.name == path.name[:2] else None

    def iter_blobs(self) -> Iterator[tuple[str, Path]]:
        if not self.blobs_dir.is_dir():
            return
        for sub in sorted(self.blobs_dir.iterdir()):
            if sub.is_dir():
                for blob in sorted(sub.iterdir()):
                    if self.sha_of_blob_path(blob):
                        yield blob.name, blob

    # --- locks -------------------------------------------------------------------------

    @contextlib.contextmanager
    def file_lock(
        self, name: str, *, shared: bool = False, blocking: bool = True
    ) -> Iterator[bool]:
        """Advisory lock ``locks/<name>.lock``; yields False if non-blocking and busy."""
        path = self.locks_dir / f"{name}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # NOTE: a new store: make locks/ on first use only
            self.locks_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            got = True
            if fcntl is not None:
                flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (
                    0 if blocking else fcntl.LOCK_NB
                )
                try:
                    fcntl.flock(fd, flags)
                except BlockingIOError:
                    got = False
            yield got
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def digest_lock(self, sha256: str):
        """Held while one process downloads or ingests a digest."""
        self.blob_path(sha256)  # validates the name
        return self.file_lock(sha256)

    # --- placing blobs -----------------------------------------------------------------

    def _claim(self, path: Path) -> Path:
        """Rename a tmp file to a unique name so no other writer's bytes end up verified."""
        import secrets

        claimed = self.tmp_dir / f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.verify"
        os.replace(path, claimed)
        return claimed

    def ingest(
        self, tmp_path: Path, expected: Expected, *, streamed=None, placer=None, held=None
    ) -> Path:
        """Verify ``tmp_path`` against ``expected`` and move it into ``blobs/``.

        ``streamed`` (a ``hashing.StreamHasher`` that read the file while it was downloaded)
        saves reading it again, but only when it hashed this very file, every byte, and
        found the locked digest; on any doubt the file is hashed again from the start.
        A mismatch deletes the tmp file, places nothing and raises IntegrityError.
        ``placer`` (``durable.Placer``): the verified file is handed to it, to be synced
        and renamed into place off the caller's path, with ``held`` (an ExitStack holding
        the digest lock) released once it is there; the blob's path is returned at once.
        """
        from .hashing import hash_file

        self.ensure()
        claimed: Path | None = self._claim(Path(tmp_path))
        try:
            digest = streamed.digest_of(claimed, expected.size) if streamed else None
            if digest is None or not _matches(digest, expected):
                # NOTE: blake3 only when the lock has one: the index records the lock's
                # value, so computing it otherwise is waste (~20% of verifying a download).
                digest = hash_file(claimed, blake3=expected.blake3 is not None)
            _check_digest(digest, expected, what=str(tmp_path))
            if placer is not None:
                verified, claimed = claimed, None  # NOTE: the placer owns it from here
                placer.submit(verified, expected, held.pop_all())
                return self.blob_path(expected.sha256)
            return self._place(claimed, expected)
        finally:
            if claimed is not None:
                with contextlib.suppress(FileNotFoundError):
                    claimed.unlink()

    def _place(self, verified: Path, expected: Expected) -> Path:
        with open(verified, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(verified, 0o444)
        blob = self.blob_path(expected.sha256)
        blob.parent.mkdir(parents=True, exist_ok=True)
        os.replace(verified, blob)
        with self.file_lock("store"):
            self.index.add_blob(expected.sha256, expected.size, expected.blake3)
        return blob

    def adopt(self, existing: Path, expected: Expected, *, copy: bool = False) -> Path:
        """Take a user's matching file into the store (hardlink, else copy); return the blob.

        The file itself is left where it is; the caller then links the target to the blob.
        The bytes are verified again here: the file may have changed since it was observed.
        ``copy``: the file stays the user's (found elsewhere in the tree), so never share
        its inode (the blob is made read-only, and the user may edit their file).
        """
        from .hashing import hash_file

        self.ensure()
        if self.has(expected.sha256):
            return self.blob_path(expected.sha256)
        import secrets

        tmp = self.tmp_dir / f"adopt.{os.getpid()}.{secrets.token_hex(4)}.verify"
        source = Path(os.path.realpath(existing))
        # Share the inode only when the target is its sole name: a file the user also keeps
        # elsewhere (through a symlink or another hardlink) could be edited under the blob.
        shared = copy or os.path.islink(existing) or os.stat(source).st_nlink > 1
        try:
            try:
                if shared:
                    raise OSError(errno.EPERM, "copy instead of sharing the user's inode")
                os.link(source, tmp)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP):
                    raise
                import shutil  # NOTE: here: its bz2/lzma imports cost every no-op ~2 ms

                shutil.copyfile(source, tmp)
            _check_digest(hash_file(tmp), expected, what=str(existing))
            return self._place(tmp, expected)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def displace_dir(self) -> Path:
        """A new, empty ``displaced/<UTC stamp, µs>-<random>/`` that only this run writes to.

        Created with a plain ``mkdir`` (fails if it exists), so two syncs — two ComfyUI roots
        sharing this store, started in the same second — can never share one.
        """
        import secrets

        self.displaced_dir.mkdir(parents=True, exist_ok=True)
        while True:
            now = time.time_ns()
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 1_000_000_000))
            run = (
                self.displaced_dir
                / f"{stamp}.{now % 1_000_000_000 // 1000:06d}Z-{secrets.token_hex(4)}"
            )
            try:
                run.mkdir()
                return run
            except FileExistsError:  # pragma: no cover — 32 random bits in the same µs
                continue

    def displace(self, path: Path, run: Path) -> Path:
        """Move a user's file aside to ``<run>/<its absolute path>`` (never delete it).

        The whole absolute path is kept, so files of one name from two roots (or two
        extra_model_paths.yaml dirs) stay apart and the user can see where each came from.
        Nothing is ever moved onto an existing name.
        """
        dest = run / _displaced_name(path)
        stem, n = dest, 0
        while os.path.lexists(dest):  # only this run writes here; a second copy of a path
            n += 1
            dest = stem.with_name(f"{stem.name}.{n}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(path, dest)  # NOTE: dest is new in our own dir: nothing is replaced
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            import shutil

            shutil.move(str(path), str(dest))
        return dest

    def quarantine(self, sha256: str) -> Path:
        dest = self.quarantine_dir / sha256
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        os.replace(self.blob_path(sha256), dest)
        with self.file_lock("store"):
            self.index.remove_blob(sha256)
        return dest

    def remove_blob(self, sha256: str) -> None:
        blob = self.blob_path(sha256)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(blob, stat_mod.S_IWUSR | stat_mod.S_IRUSR)
            blob.unlink()
        self.index.remove_blob(sha256)


def _displaced_name(path: Path) -> Path:
    """``/home/u/ComfyUI/models/vae/x`` -> ``home/u/ComfyUI/models/vae/x`` (``C:`` -> ``C``)."""
    absolute = Path(os.path.abspath(path))
    drive = absolute.drive.replace(":", "").strip("\\/")
    rel = Path(*absolute.parts[1:]) if len(absolute.parts) > 1 else Path(absolute.name)
    return Path(drive) / rel if drive else rel


# Either the file at the source changed, or the lock's pin is wrong (edited by hand): the
# bytes alone cannot tell which, so the hint names the fix for both.
_DIGEST_HINT = (
    "nothing was placed; if comfy.lock was edited by hand, re-pin with "
    "`comfylock resolve --upgrade`; if the source changed its file, pin another with "
    "`comfylock add`"
)


def _matches(digest, expected: Expected) -> bool:
    return (
        digest.size == expected.size
        and digest.sha256 == expected.sha256
        and (not expected.blake3 or digest.blake3 == expected.blake3)
    )


def _check_digest(digest, expected: Expected, *, what: str) -> None:
    if digest.size != expected.size:
        raise IntegrityError(
            f"{what}: expected size {expected.size} (comfy.lock), got {digest.size}",
            hint=_DIGEST_HINT,
        )
    if digest.sha256 != expected.sha256:
        raise IntegrityError(
            f"{what}: expected sha256 {expected.sha256[:16]}… (comfy.lock), "
            f"got {digest.sha256[:16]}…",
            hint=_DIGEST_HINT,
        )
    if expected.blake3 and digest.blake3 and digest.blake3 != expected.blake3:
        raise IntegrityError(
            f"{what}: expected blake3 {expected.blake3[:16]}… (comfy.lock), "
            f"got {digest.blake3[:16]}…",
            hint=_DIGEST_HINT,
        )
