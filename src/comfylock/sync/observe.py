"""Observe the models tree for a lock: what is at each target, using stat and readlink.

A link into the store names its digest, so a correct tree is checked without reading a
byte. Hardlinks and copies comfylock placed are recognised by the (size, mtime_ns, inode)
the store index recorded when they were placed. Only a user's own file with exactly the
locked size is hashed (through the hash cache), because it may be adopted instead of
downloaded. Every name from the lock goes through ``pathsafe`` before it touches a path, and
every target's parent must really (symlinks resolved) be inside the tree (``write_roots``):
a status or sync through ``models/vae/root -> /`` stops before reading or writing there.

Repo snapshots (``[[snapshot]]``) are observed file by file like models, each at
``<ComfyUI root>/<dir>/<path>`` (a ``dir`` under ``models/`` follows ``--models-dir`` when
there is no ComfyUI root); without either they are not observed (``snapshot_root``). Input
files (folder ``input``) are observed at ``<ComfyUI root>/input/<name>``, and not at all
without a ComfyUI root (``placed_models``).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat as stat_mod
from pathlib import Path

from ..errors import LockfileError, UnsafePathError, UsageError
from ..lock.structs import Lock, LockedModel, snapshot_models
from ..machine.modelpaths import ModelPaths
from ..pathsafe import (
    check_name,
    check_parent_within,
    join_checked,
    normalise_name,
    real_roots,
    safe_join,
)
from ..store.blobs import Store, is_sha256
from ..store.index import LinkRow
from ..workflows.tables import INPUT_FOLDER
from .workspace import ModelState, PlacedLink, StoreView, Workspace

__all__ = [
    "context_probes",
    "folder_target_dir",
    "local_copies",
    "model_target",
    "chain",
    "noop_probes",
    "observe",
    "pinned_by_other_locks",
    "placed_models",
    "root_dirs",
    "snapshot_root",
    "store_view",
    "write_roots",
]


def model_target(model: LockedModel, model_paths: ModelPaths) -> Path:
    """Where a locked model is placed: its folder's target dir joined with its checked name."""
    return Path(_join(folder_target_dir(model.folder, model_paths), model.name))


def write_roots(
    model_paths: ModelPaths, lock: Lock | None = None, comfyui_root: Path | None = None
) -> tuple[str, ...]:
    """Where model writes may land, symlinks resolved: the models root and every folder
    directory (extra_model_paths.yaml's, those packs register), each a root of its own (so
    ``models/checkpoints -> /mnt/big`` works). With ``lock``, also the ComfyUI root for the
    snapshots whose ``dir`` is outside ``models/`` (apply's one set of roots);
    ``_snapshot_roots`` says which roots each snapshot may use."""
    dirs = root_dirs(model_paths, lock)
    snapshots_outside = lock is not None and any(not _under_models(s.dir) for s in lock.snapshot)
    if comfyui_root is not None and snapshots_outside:
        dirs.append(str(comfyui_root))
    return real_roots(dirs)


def root_dirs(model_paths: ModelPaths, lock: Lock | None = None) -> list[str]:
    """The directories ``write_roots`` resolves for the models (symlinks not resolved)."""
    dirs: list = [d for found in model_paths.dirs.values() for d in found]
    if model_paths.models_dir is not None:
        dirs.append(model_paths.models_dir)
    if lock is not None:
        folders = {check_name(f, what="folder") for f in {m.folder for m in lock.model}}
        for folder in sorted(folders):
            dirs.extend(model_paths.search_dirs(folder))
    return [str(d) for d in dirs if d is not None]


def _under_models(dir: str) -> bool:
    return normalise_name(dir).split("/", 1)[0] == "models"


def _snapshot_roots(dir: str, model_roots: tuple[str, ...], comfyui_root: Path | None):
    """A snapshot under ``models/`` is contained like a model: in the models root or a
    folder directory, never through a user's directory link out of them (the same path as a
    ``[[model]]`` gets the same answer). One elsewhere (``custom_nodes/<pack>/…``) stays in
    the ComfyUI root."""
    if _under_models(dir) or comfyui_root is None:
        return model_roots
    return real_roots([comfyui_root])


def folder_target_dir(folder: str, model_paths: ModelPaths) -> str:
    """Where new files of ``folder`` go on this machine (absolute; UsageError without a
    models tree)."""
    folder = check_name(folder, what="folder")
    base = model_paths.target_dir(folder)
    if base is None:
        if model_paths.models_dir is None:
            raise UsageError("no models tree", hint="pass --comfyui-root or --models-dir")
        base = safe_join(model_paths.models_dir, folder)
    return os.path.abspath(base)


_join = join_checked


class _Dirs:
    """Per-folder target and search dirs, computed once per observe."""

    def __init__(self, model_paths: ModelPaths) -> None:
        self._paths = model_paths
        self._cache: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.roots: tuple[str, ...] = ()  # set by observe (write_roots)
        self.real: dict[str, str] = {}  # parent dir -> its realpath (one per dir, not model)
        self._contained: set[str] = set()  # parent dirs already found inside ``roots``

    def check_contained(self, path: str) -> None:
        """``check_parent_within(path, roots)``, once per parent directory of one run."""
        parent = os.path.dirname(path)
        if parent not in self._contained:
            check_parent_within(path, self.roots, seen=self.real)
            self._contained.add(parent)

    def is_contained(self, path: str) -> bool:
        try:
            check_parent_within(path, self.roots, seen=self.real)
        except UnsafePathError:
            return False
        return True

    def get(self, folder: str) -> tuple[str, tuple[str, ...]]:
        found = self._cache.get(folder)
        if found is None:
            target = folder_target_dir(folder, self._paths)
            others = tuple(os.path.abspath(d) for d in self._paths.search_dirs(folder))
            found = self._cache[folder] = (target, tuple(d for d in others if d != target))
        return found


def _digest(path: Path, st: os.stat_result, hash_cache=None):
    from ..machine.hashcache import recall_or_hash

    return recall_or_hash(path, st, hash_cache)[0]


def _foreign(path: Path, st: os.stat_result, model: LockedModel, hash_cache) -> tuple[str, str]:
    if not stat_mod.S_ISREG(st.st_mode):
        return "foreign-different", "not a regular file"
    if st.st_size != model.size:
        return "foreign-different", f"size {st.st_size}, lock says {model.size}"
    digest = _digest(path, st, hash_cache)
    if digest.sha256 == model.sha256:
        return "foreign-matching", "a local file with the locked bytes"
    return "foreign-different", "same size, different sha256"


def _blob_sha(dest: str, prefix: str) -> str | None:
    """The digest a path inside ``<store>/blobs/sha256/`` names (string ops only)."""
    if not dest.startswith(prefix):
        return None
    sub, _, sha = dest[len(prefix) :].partition(os.sep)
    return sha if sub == sha[:2] and is_sha256(sha) else None


def _classify(
    path: str,
    model: LockedModel,
    prefix: str,
    rows: dict[str, LinkRow],
    hash_cache,
    blobs: frozenset[str] | None = None,
) -> ModelState | None:
    """What is at ``path`` for ``model``, or None if nothing is there. ``blobs``: the
    digests the store holds (``store_view``), known already: a link to one is not stat-ed
    again."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        raise UnsafePathError(
            f"{path}: the name {model.key!r} is too long for this filesystem"
        ) from None
    if stat_mod.S_ISLNK(st.st_mode):
        raw, sha = os.readlink(path), model.sha256
        # NOTE: the link sync itself made is this exact absolute string: no parsing needed
        if raw == f"{prefix}{sha[:2]}{os.sep}{sha}" and blobs is not None and sha in blobs:
            return ModelState(key=model.key, target=path, found=path, status="ours-ok")
    state = functools.partial(ModelState, key=model.key, target=path, found=path)
    if stat_mod.S_ISLNK(st.st_mode):
        dest = os.path.normpath(os.path.join(os.path.dirname(path), raw))
        sha = _blob_sha(dest, prefix)
        if sha == model.sha256 and (sha in blobs if blobs is not None else os.path.isfile(dest)):
            return state(status="ours-ok")
        if sha is not None:
            return state(status="ours-stale", current=sha, detail="links to another blob")
        try:
            st = os.stat(path)  # a user's own symlink: judge the file it points at
        except OSError:
            return state(status="foreign-different", detail="a dangling symlink")
    else:
        row = rows.get(path)
        if row is not None and (row.size, row.mtime_ns, row.ino) == _sig(st):
            if row.sha256 != model.sha256:
                return state(status="ours-stale", current=row.sha256)
            return state(status="copy-ok" if row.mode == "copy" else "ours-ok")
    status, detail = _foreign(Path(path), st, model, hash_cache)
    return state(status=status, detail=detail)


def _sig(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ino


def _observe_model(
    model: LockedModel, dirs: _Dirs, prefix: str, rows, hash_cache, blobs=None
) -> ModelState:
    target_dir, others = dirs.get(model.folder)
    target = _join(target_dir, model.name)
    dirs.check_contained(target)
    state = _classify(target, model, prefix, rows, hash_cache, blobs)
    if state is not None:
        return state
    for folder_dir in others:
        other = _join(folder_dir, model.name)
        if not dirs.is_contained(other):
            continue  # reached through a symlink out of the tree: never adopted from there
        seen = _classify(other, model, prefix, rows, hash_cache)
        if seen is not None and seen.status in ("ours-ok", "copy-ok", "foreign-matching"):
            return ModelState(key=model.key, target=target, status="elsewhere-ok", found=other)
    return ModelState(key=model.key, target=target, status="missing")


def snapshot_root(dir: str, comfyui_root: Path | None, models_dir: Path | None) -> str | None:
    """Absolute directory of a snapshot's ``dir``, or None when this machine has no place
    for it (no ComfyUI root, and ``dir`` is not under ``models/``)."""
    parts = check_name(dir, what="snapshot dir").split("/")
    if comfyui_root is not None:
        base, rest = os.path.abspath(comfyui_root), parts
    elif models_dir is not None and len(parts) > 1 and parts[0] == "models":
        base, rest = os.path.abspath(models_dir), parts[1:]
    else:
        return None
    return _join(base, "/".join(rest))


def _observe_snapshots(
    lock: Lock, roots: tuple, prefix: str, rows, hash_cache, dirs: _Dirs
) -> list[tuple[LockedModel, ModelState]]:
    out: list[tuple[LockedModel, ModelState]] = []
    comfyui_root, models_dir = roots
    for snap in lock.snapshot:
        base = snapshot_root(snap.dir, comfyui_root, models_dir)
        if base is None:
            continue
        allowed = _snapshot_roots(snap.dir, dirs.roots, comfyui_root)
        for model in snap.models():
            target = _join(base, model.name)
            check_parent_within(target, allowed, seen=dirs.real)
            state = _classify(target, model, prefix, rows, hash_cache)
            out.append((model, state or ModelState(key=model.key, target=target, status="missing")))
    return out


def _still_ours(row: LinkRow, store: Store) -> bool:
    try:
        st = os.lstat(row.target)
    except OSError:
        return False
    if stat_mod.S_ISLNK(st.st_mode):
        dest = os.path.normpath(os.path.join(os.path.dirname(row.target), os.readlink(row.target)))
        return store.sha_of_blob_path(dest) is not None
    return (row.size, row.mtime_ns, row.ino) == _sig(st)


def placed_models(lock: Lock, model_paths: ModelPaths) -> tuple[LockedModel, ...]:
    """The lock's models this machine has a place for: all of them, but input files when
    there is no ComfyUI root (their ``input/`` is beside ``models/``, not in it)."""
    if model_paths.comfyui_root is not None:
        return lock.model
    return tuple(m for m in lock.model if m.folder != INPUT_FOLDER)


def _check_one_per_target(pairs) -> None:
    """Two entries with other bytes placed at one path on this machine (a model and a
    snapshot file that ``extra_model_paths.yaml`` brings together; the reader refuses those
    that meet in ComfyUI's default layout) would overwrite each other: refuse the lock
    rather than let the last one win."""
    seen: dict[str, LockedModel] = {}
    for locked, m in pairs:
        first = seen.setdefault(m.target, locked)
        if first.sha256 != locked.sha256:
            raise LockfileError(
                f"the lock's entries {first.key!r} and {locked.key!r} are both placed at "
                f"{m.target} with different sha256",
                hint="keep one of them and run `comfylock resolve`",
            )


def observe(
    lock: Lock,
    model_paths: ModelPaths,
    store: Store,
    *,
    lock_path: str | None = None,
    hash_cache=None,
    comfyui_root: Path | None = None,
    view: StoreView | None = None,
) -> Workspace:
    """Classify every locked model and snapshot file on disk (``workspace.ModelStatus``).
    Reads only. ``view``: the store's ``store_view`` for this lock, when the caller has it
    (a link into the store is then checked against it, not stat-ed again)."""
    rows: dict[str, LinkRow] = {}
    if store.index_path.exists():
        rows = {r.target: r for r in store.index.links()}
    dirs, prefix = _Dirs(model_paths), str(store.blobs_dir) + os.sep
    dirs.roots = write_roots(model_paths, lock)  # the models' own (snapshots: _snapshot_roots)
    placed = placed_models(lock, model_paths)
    blobs = view.blobs if view is not None else None
    pairs = [(m, _observe_model(m, dirs, prefix, rows, hash_cache, blobs)) for m in placed]
    if lock.snapshot:
        base = (comfyui_root, model_paths.models_dir)
        pairs += _observe_snapshots(lock, base, prefix, rows, hash_cache, dirs)
    _check_one_per_target(pairs)
    models = tuple(state for _, state in pairs)
    targets = {m.target for m in models}
    extra = tuple(
        PlacedLink(target=r.target, sha256=r.sha256)
        for r in rows.values()
        if lock_path is not None
        and r.lock == lock_path
        and r.target not in targets
        and _still_ours(r, store)
    )
    return Workspace(models=models, extra_links=extra)


def pinned_by_other_locks(
    lock_path: str, store: Store, model_paths: ModelPaths, comfyui_root: Path | None
) -> tuple[dict[str, str], list[str]]:
    """Where, on this machine, every other lock registered in the store places its files:
    ({target: lock path}, [locks that could not be read]). ``--prune`` leaves those links
    alone: two projects sharing one ComfyUI root both pin them (links are owned per lock)."""
    from ..lock import file as lockfile

    pins: dict[str, str] = {}
    unreadable: list[str] = []
    registered = store.index.locks() if store.index_path.exists() else []
    for other in registered:
        if other == lock_path or not os.path.isfile(other):
            continue  # a lock that is gone pins nothing (gc forgets it too)
        try:
            theirs = lockfile.load(other)
        except LockfileError:
            unreadable.append(other)
            continue
        for model in theirs.model:
            with contextlib.suppress(UnsafePathError, UsageError):
                pins.setdefault(str(model_target(model, model_paths)), other)
        for snap in theirs.snapshot:
            base = snapshot_root(snap.dir, comfyui_root, model_paths.models_dir)
            for f in snap.file if base is not None else ():
                with contextlib.suppress(UnsafePathError):
                    pins.setdefault(_join(base, f.path), other)
    return pins, unreadable


def store_view(lock: Lock, store: Store) -> StoreView:
    """Which of the lock's digests are already blobs."""
    prefix = str(store.blobs_dir) + os.sep
    return StoreView(
        blobs=frozenset(
            m.sha256
            for m in (*lock.model, *snapshot_models(lock))
            if os.path.isfile(f"{prefix}{m.sha256[:2]}{os.sep}{m.sha256}")
        )
    )


def noop_probes(
    lock: Lock, settings, model_paths: ModelPaths | None = None
) -> tuple[list[str], list[tuple[str, bool]], list[str]]:
    """The paths an observation of ``lock`` that found nothing to do rested on, for the
    no-op receipt (``sync/receipt.py``): (paths whose signature must not change, (path,
    exists) pairs, the config files the model paths were read from). Each model's target and
    the symlink chain from it; when the target is absent, every other directory ComfyUI
    searches for its folder as well."""
    from ..machine.modelpaths import load_model_paths

    root = settings.comfyui_root
    if model_paths is None:
        model_paths = load_model_paths(root, settings.models_dir)
    exact: list[str] = []
    chain(str(settings.lock_path), exact)
    more, present, configs = context_probes(settings, model_paths)
    exact += more
    dirs = _Dirs(model_paths)
    for model in placed_models(lock, model_paths):
        target_dir, others = dirs.get(model.folder)
        if not chain(_join(target_dir, model.name), exact):
            for folder_dir in others:
                chain(_join(folder_dir, model.name), exact)
    for snap in lock.snapshot:
        base = snapshot_root(snap.dir, root, model_paths.models_dir)
        for model in snap.models() if base is not None else ():
            chain(_join(base, model.name), exact)
    return exact, present, configs


def context_probes(settings, model_paths: ModelPaths):
    """The part of ``noop_probes`` that is not the lock or a model: the config, the store
    index, extra_model_paths.yaml and the root's markers (the same three lists)."""
    from ..constants import CONFIG_FILENAME
    from ..machine.modelpaths import EXTRA_CONFIG_NAME

    root, store = settings.comfyui_root, Store(settings.store_dir)
    exact: list[str] = []
    # NOTE: every file is probed with its symlink chain: a lock shared across installs or a
    # yaml kept in dotfiles is edited through the file its link points at.
    files = [settings.project_dir / CONFIG_FILENAME, store.index_path]
    present: list[tuple[str, bool]] = []
    if root is not None:
        files.append(root / EXTRA_CONFIG_NAME)
        for probe in (root, root / "models", root / "custom_nodes", root / "main.py"):
            present.append((str(probe), os.path.exists(probe)))
    configs = [str(p) for p in model_paths.read_from]
    for path in dict.fromkeys([*map(str, files), *configs]):
        chain(path, exact)
    return exact, present, configs


def chain(path: str, out: list[str]) -> bool:
    """Append ``path`` and each link of its symlink chain, down to the file it resolves to
    (the no-op receipt signs every one of them); True when ``path`` itself exists. A relative
    link is resolved from its directory's real place (``..`` after a directory link is not
    lexical); comfylock's own links are absolute and cost no realpath."""
    first = path
    out.append(path)
    for _ in range(40):
        try:
            dest = os.readlink(path)
        except OSError:
            break
        base = os.path.dirname(path)
        if not os.path.isabs(dest):
            base = os.path.realpath(base)
        path = os.path.normpath(os.path.join(base, dest))
        out.append(path)
    return os.path.lexists(first)


def local_copies(wanted: dict[str, int], model_paths: ModelPaths, hash_cache) -> dict[str, str]:
    """sha256 -> a file in the models tree the hash cache knows holds those bytes.

    Stat only: a file is a candidate when its cached digest (keyed by path, size, mtime,
    inode) is one we want; nothing is hashed here, and the store re-verifies on adoption.
    """
    if not wanted or hash_cache is None or not hash_cache.known(wanted):
        return {}  # NOTE: no file the cache remembers had these bytes: no walk can find one
    from ..machine.inventory import scan_tree

    inventory = scan_tree(model_paths, hash_cache, hash=False)
    found: dict[str, str] = {}
    for f in inventory.files:
        if f.sha256 in wanted and f.size == wanted[f.sha256] and f.sha256 not in found:
            found[f.sha256] = f.path
    return found
