"""What takes the disk (``comfylock du``): the store and each models folder by size, what
each lock on this machine uses, and what nothing uses.

Read-only. The store's side comes from its blobs and index (the locks that synced into it);
what no lock uses is exactly ``gc --dry-run``'s plan (``store.sweep.collect``), so the two
commands can never disagree. A models folder's files are split into bytes of their own and
bytes that only link into the store (symlinks, and hardlinks comfylock placed), so nothing
is counted twice. A model file is "unnamed" when no lock registered in the store, no lock of
this project and no workflow of this project names it: the candidates for a clean-up by hand
(``gc`` never touches the models tree).
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Iterable

import msgspec

from ..errors import LockfileError
from ..lock.structs import Lock, snapshot_models
from ..store.blobs import Store
from ..store.sweep import GcPlan, collect
from ..workflows.tables import canonical_folder
from .inventory import Inventory

__all__ = [
    "DiskUse",
    "FolderUse",
    "LockUse",
    "StoreUse",
    "UnnamedFile",
    "folder_use",
    "lock_names",
    "lock_use",
    "measure",
    "unnamed_files",
]


class StoreUse(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    blobs: int = 0
    bytes: int = 0
    partial: int = 0  # bytes of partial downloads (tmp/), kept for resume
    displaced: int = 0  # bytes of users' files --force moved aside (never deleted by gc)
    displaced_files: int = 0


class FolderUse(msgspec.Struct, frozen=True, kw_only=True):
    folder: str
    files: int = 0
    bytes: int = 0  # as ComfyUI sees them (a link counts its target's size)
    own: int = 0  # of those, bytes in files of their own (not links into the store)


class LockUse(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    blobs: int = 0  # of its pinned digests, those the store holds
    bytes: int = 0
    only: int = 0  # bytes of blobs no other registered lock pins
    problem: str | None = None  # the lock could not be read


class UnnamedFile(msgspec.Struct, frozen=True, kw_only=True):
    folder: str
    name: str
    path: str
    size: int


class DiskUse(msgspec.Struct, frozen=True, kw_only=True):
    store: StoreUse
    models_dir: str | None = None
    folders: tuple[FolderUse, ...] = ()
    locks: tuple[LockUse, ...] = ()
    unused: GcPlan | None = None  # gc --dry-run's plan (only with ``unused``)
    unnamed: tuple[UnnamedFile, ...] = ()


# --- pure parts ---------------------------------------------------------------------------


def folder_use(files: Iterable[tuple[str, int, bool]]) -> tuple[FolderUse, ...]:
    """Per folder: (folder, size, is a link into the store) rows summed, sorted by size."""
    sums: dict[str, list[int]] = {}
    for folder, size, linked in files:
        row = sums.setdefault(folder, [0, 0, 0])
        row[0] += 1
        row[1] += size
        row[2] += 0 if linked else size
    rows = [FolderUse(folder=f, files=n, bytes=b, own=o) for f, (n, b, o) in sums.items()]
    return tuple(sorted(rows, key=lambda r: (-r.bytes, r.folder)))


def lock_use(sizes: dict[str, int], pinned: dict[str, set[str]]) -> tuple[LockUse, ...]:
    """Per lock path: the store blobs (``sizes``: sha256 -> bytes) its digests name, and the
    bytes of those no other lock names."""
    users: dict[str, int] = {}
    for digests in pinned.values():
        for sha in digests & sizes.keys():
            users[sha] = users.get(sha, 0) + 1
    out = []
    for path, digests in sorted(pinned.items()):
        held = digests & sizes.keys()
        out.append(
            LockUse(
                path=path,
                blobs=len(held),
                bytes=sum(sizes[s] for s in held),
                only=sum(sizes[s] for s in held if users[s] == 1),
            )
        )
    return tuple(out)


def unnamed_files(inventory: Inventory, named: set[tuple[str, str]]) -> tuple[UnnamedFile, ...]:
    """Files of the models tree whose (folder, name) nothing names, biggest first."""
    out = [
        UnnamedFile(folder=f.folder, name=f.name, path=f.path, size=f.size)
        for f in inventory.files
        if (canonical_folder(f.folder), f.name) not in named
    ]
    return tuple(sorted(out, key=lambda u: (-u.size, u.folder, u.name)))


# --- reading this machine -----------------------------------------------------------------


def _tree_size(root) -> tuple[int, int]:
    """(files, bytes) below ``root`` (0, 0 when absent); symlinks are not followed."""
    files = size = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            files, size = files + 1, size + st.st_size
    return files, size


def _store_use(store: Store, sizes: dict[str, int]) -> StoreUse:
    displaced_files, displaced = _tree_size(store.displaced_dir)
    return StoreUse(
        path=str(store.root),
        blobs=len(sizes),
        bytes=sum(sizes.values()),
        partial=_tree_size(store.tmp_dir)[1],
        displaced=displaced,
        displaced_files=displaced_files,
    )


def _registered(store: Store) -> tuple[dict[str, set[str]], dict[str, str], set[tuple[str, str]]]:
    """The registered locks' digests, the ones that cannot be read (path -> why), and every
    (folder, name) they pin."""
    pinned: dict[str, set[str]] = {}
    problems: dict[str, str] = {}
    keys: set[tuple[str, str]] = set()
    from ..lock import file as lockfile

    for path in store.index.locks() if store.index_path.exists() else []:
        try:
            lock = lockfile.load(path)
        except LockfileError as exc:
            problems[path] = exc.message if os.path.exists(path) else "no longer exists"
            continue
        pinned[path] = {m.sha256 for m in (*lock.model, *snapshot_models(lock))}
        keys |= lock_names(lock)
    return pinned, problems, keys


def lock_names(lock: Lock) -> set[tuple[str, str]]:
    """Every (folder, name) a lock pins."""
    return {(canonical_folder(m.folder), m.name) for m in lock.model}


def _linked_into_store(path: str, blobs_real: str, rows: dict) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if stat_mod.S_ISLNK(st.st_mode):
        return os.path.realpath(path).startswith(blobs_real + os.sep)
    row = rows.get(path)
    return row is not None and row.mode == "hardlink" and row.ino == st.st_ino


def measure(
    store: Store,
    inventory: Inventory | None,
    *,
    named: set[tuple[str, str]] | None = None,
    unused: bool = False,
) -> DiskUse:
    """Measure the store and the models tree (``inventory``, stat only). ``named``: the
    (folder, name) pairs this project's workflows and lock name; with ``unused``, gc's
    plan or its error (a registered lock that cannot be read stops it, as it stops gc)."""
    sizes = {sha: path.stat().st_size for sha, path in store.iter_blobs()}
    pinned, problems, keys = _registered(store)
    locks = lock_use(sizes, pinned) + tuple(
        LockUse(path=p, problem=why) for p, why in sorted(problems.items())
    )
    folders: tuple[FolderUse, ...] = ()
    unnamed: tuple[UnnamedFile, ...] = ()
    if inventory is not None:
        rows = {r.target: r for r in store.index.links()} if store.index_path.exists() else {}
        blobs_real = os.path.realpath(store.blobs_dir)
        folders = folder_use(
            (f.folder, f.size, _linked_into_store(f.path, blobs_real, rows))
            for f in inventory.files
        )
        unnamed = unnamed_files(inventory, keys | (named or set()))
    return DiskUse(
        store=_store_use(store, sizes),
        models_dir=inventory.models_dir if inventory is not None else None,
        folders=folders,
        locks=tuple(sorted(locks, key=lambda u: u.path)),
        unused=_gc_plan(store, strict=unused),
        unnamed=unnamed,
    )


def _gc_plan(store: Store, *, strict: bool) -> GcPlan | None:
    """gc's dry-run plan; when not asked for, None where gc itself would stop (a registered
    lock that cannot be read) instead of an error."""
    try:
        return collect(store)
    except LockfileError:
        if strict:
            raise
        return None
