"""The link planner: ``sync``/``status`` of a lock whose models are all links into the store,
planned from scratch before anything heavy is imported (issue 20, SPEC §7).

The no-op receipt (``receipt.py``) answers only when every signature it recorded holds: a
``git pull`` that rewrote ``comfy.lock`` with the same bytes, or any touch of it, sends the
run down the full path (msgspec, pathlib, the project's loaders: ~5-8x a bare interpreter
for 1,000 models). The link planner plans such a run itself, with the standard library:

- the lock is known by its bytes (``lock/bytekey``: read and hashed every time), not by
  its signature; the models the last full run read from exactly these bytes are reused;
- every model is observed afresh: its name checked (``pathsafe``), its target's parent
  resolved and held to the models tree's roots (resolved now), the target ``lstat``-ed and
  ``readlink``-ed, and the store blob it must link to ``stat``-ed;
- what only the machine's set-up decides is taken from the last full run, each piece
  under the signature of what it was derived from (``comfylock.toml``, the store index,
  extra_model_paths.yaml, the root's markers, comfylock's own code and tables, the
  invocation, the environment's relevant variables): where each folder's files go, which
  directories are the tree's roots, where the store's blobs are.

It answers only "already in sync", and only when every model is a link into the store with
the locked digest and nothing else could be said (no workflows, node packs, ComfyUI or
Python packages, snapshots or input files in the lock; no link of this lock recorded in the
index beyond its models). Anything else falls through to the full planner, which says what
this one would not. Its context is written by ``receipt.remember`` with the receipt, from the
full run's own decisions (``context_of``).
"""

from __future__ import annotations

import os
import stat
import sys

__all__ = ["answer", "answer_data", "context_of"]


def answer(args: list[str]) -> int | None:
    """The exit code after printing "already in sync" for an invocation whose plan is empty,
    else None having printed nothing."""
    from . import receipt

    key = receipt.parse(args)
    return answer_data(receipt.load(key) if key is not None else None)


def answer_data(data: tuple | None) -> int | None:
    """``answer`` from a receipt already ``load``-ed (the no-op receipt read it first)."""
    from . import receipt

    if data is None or data[9] is None:
        return None
    out, code = data[4], data[5]
    try:
        lock_path, lock_key, models, folders, root_dirs, prefix, *context = data[9]
        if not receipt.still(*context) or not _same_bytes(lock_path, lock_key):
            return None
        if not _all_linked(models, folders, root_dirs, prefix):
            return None
    except Exception:  # noqa: BLE001 — anything odd is the full planner's to report
        return None
    sys.stdout.write(out)
    return code


def _same_bytes(lock_path: str, lock_key: str) -> bool:
    from ..lock.bytekey import lock_key as key_of

    try:
        with open(lock_path, "rb") as fh:
            return key_of(fh.read()) == lock_key
    except OSError:
        return False


def _all_linked(models, folders, root_dirs, prefix: str) -> bool:
    """Whether every model's target is our link to its blob, inside the tree's roots."""
    from ..errors import UnsafePathError
    from ..pathsafe import join_checked, real_roots

    roots = real_roots(root_dirs)
    inside = tuple(r.rstrip(os.sep) + os.sep for r in roots)
    parents: dict[str, bool] = {}
    blobs: dict[str, bool] = {}
    placed: dict[str, str] = {}
    for folder, name, sha in models:
        try:
            target = join_checked(folders[folder], name)
        except UnsafePathError:
            return False
        parent = os.path.dirname(target)
        ok = parents.get(parent)
        if ok is None:
            real = os.path.realpath(parent)
            ok = parents[parent] = real in roots or real.startswith(inside)
        if not ok or placed.setdefault(target, sha) != sha:
            return False
        blob = f"{prefix}{sha[:2]}{os.sep}{sha}"
        try:
            if not stat.S_ISLNK(os.lstat(target).st_mode) or os.readlink(target) != blob:
                return False
        except OSError:
            return False
        there = blobs.get(sha)
        if there is None:
            there = blobs[sha] = os.path.isfile(blob)
        if not there:
            return False
    return True


def context_of(settings, lock, model_paths, decided, discovery, signed) -> tuple | None:
    """What ``answer`` needs of the full run that just planned ``lock`` (empty plan) and
    printed its line: None when the link planner cannot answer for this lock. ``signed``
    turns probe paths into (path, signature) pairs, None when one changed just now."""
    from ..lock.fastcopy import key_of
    from ..pathsafe import join_checked
    from ..store.blobs import Store
    from ..workflows.tables import INPUT_FOLDER
    from .observe import chain, context_probes, folder_target_dir, root_dirs

    lock_path = str(settings.lock_path)
    key = key_of(settings.lock_path, lock)
    if key is None or lock.snapshot or lock.unresolved:
        return None
    if any(m.folder == INPUT_FOLDER for m in lock.model):
        return None  # placed in the root's input/, or nowhere: the full planner decides
    folders: dict[str, str] = {}
    targets: set[str] = set()
    for model in lock.model:
        if model.folder not in folders:
            folders[model.folder] = folder_target_dir(model.folder, model_paths)
        targets.add(join_checked(folders[model.folder], model.name))
    store = Store(settings.store_dir)
    rows = store.index.links() if store.index_path.exists() else ()
    if any(r.lock == lock_path and r.target not in targets for r in rows):
        return None  # a link of this lock's beyond its models: the full planner weighs it
    exact, present, _configs = context_probes(settings, model_paths)
    for path in decided:
        chain(path, exact)
    probes = signed(exact)
    if probes is None:
        return None
    where = {os.path.dirname(p) for p in exact} | {str(settings.store_dir)}
    places = tuple((d, os.path.realpath(d)) for d in sorted(where))
    models = tuple((m.folder, m.name, m.sha256) for m in lock.model)
    roots = tuple(root_dirs(model_paths, lock))
    prefix = str(store.blobs_dir) + os.sep
    return (lock_path, key, models, folders, roots, prefix, probes, (*present, *discovery), places)
