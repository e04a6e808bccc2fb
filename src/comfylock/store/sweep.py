"""Garbage collection of the store: delete blobs no registered lock references.

A lock registers itself in the store index when it syncs. ``gc`` reads every registered lock
that still exists; a blob none of them names is deleted, unless a file in a models tree still
depends on it: the index's recorded links are checked on disk (a path that still is a symlink
into the blob, or a hardlink sharing its inode), so a model the lock stopped naming, or a
user's file that was adopted and replaced by a link, never becomes a dangling link. A
registered lock that can no longer be read stops the collection (better keep bytes than
delete what it may name). Planning is
pure (``plan_gc``); ``collect`` reads the store, ``execute`` deletes, under an exclusive lock
that a running sync holds shared, so gc never races a sync.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Iterable, Mapping

import msgspec

from ..errors import ConflictError, LockfileError
from ..lock.structs import snapshot_models
from .blobs import Store, is_sha256

__all__ = ["GcItem", "GcPlan", "collect", "gc", "live_links", "plan_gc"]


class GcItem(msgspec.Struct, frozen=True):
    sha256: str
    size: int


class GcPlan(msgspec.Struct, frozen=True, kw_only=True):
    delete: tuple[GcItem, ...] = ()
    kept: int = 0
    locks: tuple[str, ...] = ()  # registered locks that were read
    gone_locks: tuple[str, ...] = ()  # registered locks that no longer exist (forgotten)
    linked: tuple[str, ...] = ()  # paths that kept a blob no lock names (still link to it)

    @property
    def freed(self) -> int:
        return sum(i.size for i in self.delete)


def plan_gc(
    blobs: Iterable[tuple[str, int]],
    referenced: frozenset[str],
    *,
    locks: Iterable[str] = (),
    gone_locks: Iterable[str] = (),
    linked: Mapping[str, Iterable[str]] | None = None,
) -> GcPlan:
    """Which blobs to delete: those no lock references and no live link uses. Pure."""
    blobs = sorted(blobs)
    linked = linked or {}
    keep = referenced | frozenset(linked)
    return GcPlan(
        delete=tuple(GcItem(sha, size) for sha, size in blobs if sha not in keep),
        kept=sum(1 for sha, _ in blobs if sha in keep),
        locks=tuple(sorted(locks)),
        gone_locks=tuple(sorted(gone_locks)),
        linked=tuple(
            sorted(p for sha, _ in blobs if sha not in referenced for p in linked.get(sha, ()))
        ),
    )


def _blob_at(target: str, sha256: str, store: Store, blobs_real: str) -> str | None:
    """The blob ``target`` depends on right now, or None (gone, replaced, a copy)."""
    try:
        st = os.lstat(target)
    except OSError:
        return None
    if stat_mod.S_ISLNK(st.st_mode):
        real = os.path.realpath(target)
        sha = os.path.basename(real)
        sub = os.path.dirname(real)
        inside = os.path.dirname(sub) == blobs_real and os.path.basename(sub) == sha[:2]
        return sha if inside and is_sha256(sha) else None
    if not stat_mod.S_ISREG(st.st_mode):
        return None
    try:
        blob = os.stat(store.blob_path(sha256))
    except OSError:
        return None
    return sha256 if (blob.st_dev, blob.st_ino) == (st.st_dev, st.st_ino) else None


def live_links(store: Store) -> dict[str, list[str]]:
    """sha256 -> the recorded link paths that still depend on that blob (checked on disk)."""
    if not store.index_path.exists():
        return {}
    blobs_real = os.path.realpath(store.blobs_dir)
    found: dict[str, list[str]] = {}
    for row in store.index.links():
        sha = _blob_at(row.target, row.sha256, store, blobs_real)
        if sha is not None:
            found.setdefault(sha, []).append(row.target)
    return found


def collect(store: Store) -> GcPlan:
    """Read the registered locks and the blobs, and plan."""
    from ..lock import file as lockfile

    registered = store.index.locks() if store.index_path.exists() else []
    alive = [p for p in registered if os.path.isfile(p)]
    referenced: set[str] = set()
    for path in alive:
        try:
            lock = lockfile.load(path)
            referenced.update(m.sha256 for m in (*lock.model, *snapshot_models(lock)))
        except LockfileError as exc:
            raise LockfileError(
                f"gc stopped: a registered lock cannot be read ({exc})",
                hint="fix or delete that lock, then run gc again",
            ) from None
    blobs = ((sha, path.stat().st_size) for sha, path in store.iter_blobs())
    return plan_gc(
        blobs,
        frozenset(referenced),
        locks=alive,
        gone_locks=set(registered) - set(alive),
        linked=live_links(store),
    )


def gc(store: Store, *, dry_run: bool = False) -> GcPlan:
    """Plan, and unless ``dry_run`` delete the unreferenced blobs. Returns the plan."""
    store.ensure()
    with store.file_lock("gc", blocking=False) as got:
        if not got:
            raise ConflictError(
                "a sync is using the store right now; nothing was deleted",
                hint="run gc again when it has finished",
            )
        plan = collect(store)
        if dry_run:
            return plan
        with store.file_lock("store"):
            for item in plan.delete:
                store.remove_blob(item.sha256)
            for lock in plan.gone_locks:
                store.index.forget_lock(lock)
            # No sync is running (we hold the gc lock): files being verified were left by a
            # killed sync. Partial downloads (*.part) stay for resume.
            for leftover in store.tmp_dir.glob("*.verify"):
                leftover.unlink(missing_ok=True)
    return plan
