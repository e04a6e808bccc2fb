"""Garbage collection of the store: delete blobs no registered lock references.

A lock registers itself in the store index when it syncs. ``gc`` reads every registered lock
that still exists; a blob none of them names is deleted. A registered lock that can no longer
be read stops the collection (better keep bytes than delete what it may name). Planning is
pure (``plan_gc``); ``collect`` reads the store, ``execute`` deletes, under an exclusive lock
that a running sync holds shared, so gc never races a sync.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import msgspec

from ..errors import ConflictError, LockfileError
from ..lock.model import snapshot_models
from .store import Store

__all__ = ["GcItem", "GcPlan", "collect", "gc", "plan_gc"]


class GcItem(msgspec.Struct, frozen=True):
    sha256: str
    size: int


class GcPlan(msgspec.Struct, frozen=True, kw_only=True):
    delete: tuple[GcItem, ...] = ()
    kept: int = 0
    locks: tuple[str, ...] = ()  # registered locks that were read
    gone_locks: tuple[str, ...] = ()  # registered locks that no longer exist (forgotten)

    @property
    def freed(self) -> int:
        return sum(i.size for i in self.delete)


def plan_gc(
    blobs: Iterable[tuple[str, int]],
    referenced: frozenset[str],
    *,
    locks: Iterable[str] = (),
    gone_locks: Iterable[str] = (),
) -> GcPlan:
    """Which blobs to delete: those no lock references. Pure."""
    blobs = sorted(blobs)
    return GcPlan(
        delete=tuple(GcItem(sha, size) for sha, size in blobs if sha not in referenced),
        kept=sum(1 for sha, _ in blobs if sha in referenced),
        locks=tuple(sorted(locks)),
        gone_locks=tuple(sorted(gone_locks)),
    )


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
        blobs, frozenset(referenced), locks=alive, gone_locks=set(registered) - set(alive)
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
