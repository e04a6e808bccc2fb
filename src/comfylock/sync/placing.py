"""Placing what a plan names, once its blobs are in the store: adopt a user's matching file,
move a user's file aside (``--force``), prune links the lock no longer names, link models
from the store, and clone or check out node packs.

Every write is checked right before it happens: its parent directory, symlinks resolved, must
be inside the models tree or ``custom_nodes/``, whatever a directory symlink made of the path
since it was observed. Only what comfylock placed is ever removed.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ComfylockError, IntegrityError
from ..pathsafe import check_parent_within, real_roots
from ..store.blobs import Store
from ..store.hashing import Expected
from ..store.index import LinkRow
from ..store.linking import Linker
from .applytypes import ApplyContext, Failure, failure_of, model_roots
from .plan import SyncPlan

__all__ = ["adopt_all", "displace_all", "link_all", "nodes_all", "prune_all"]


def adopt_all(
    adopts, ctx: ApplyContext, failures: list[Failure], refetch: list | None = None
) -> list[str]:
    """Take each user's file the plan names into the store, verifying its bytes again (they
    are read anyway). A file whose bytes are not the ones the hash cache promised loses its
    cache row; a copy elsewhere in the tree then yields to its ``fallback`` download (added
    to ``refetch``), a file at the target is a user's other file in the way (exit 5)."""
    done, roots = [], model_roots(ctx)
    for a in adopts:
        try:
            if not a.copy:  # a copy elsewhere is only read; an adopted target is replaced
                check_parent_within(a.path, roots)
            expected = Expected(size=a.size, sha256=a.sha256, blake3=a.blake3)
            ctx.store.adopt(Path(a.path), expected, copy=a.copy)
            done.append(a.path)
        except IntegrityError:
            if ctx.hash_cache is not None:
                ctx.hash_cache.forget(a.path)
            if a.fallback is not None and refetch is not None:
                refetch.append(a.fallback)
                continue
            why = f"{a.path} changed since it was hashed: not the locked bytes; left alone"
            hint = "move it away, or run `comfylock sync --force` to move it to displaced/"
            failures.append(Failure(a.key, why, 5, hint))
        except (ComfylockError, OSError) as exc:
            failures.append(failure_of(a.key, exc))
    return done


def displace_all(
    plan: SyncPlan, ctx: ApplyContext, failures: list[Failure]
) -> tuple[list[str], set[str]]:
    done, failed, roots = [], set(), model_roots(ctx)
    run: Path | None = None
    for d in plan.displace:
        try:
            check_parent_within(d.target, roots)
            run = run or ctx.store.displace_dir()
            done.append(str(ctx.store.displace(Path(d.target), run)))
        except (ComfylockError, OSError) as exc:
            failed.add(d.target)
            failures.append(failure_of(d.key, exc))
    return done, failed


def _is_ours(target: str, store: Store, row: LinkRow | None) -> bool:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return True  # nothing there: free to place
    if os.path.islink(target):
        dest = os.path.normpath(os.path.join(os.path.dirname(target), os.readlink(target)))
        return store.sha_of_blob_path(dest) is not None
    return row is not None and (row.size, row.mtime_ns, row.ino) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
    )


def prune_all(
    plan: SyncPlan, ctx: ApplyContext, rows: dict[str, LinkRow], failures: list[Failure]
) -> list[str]:
    done, roots = [], model_roots(ctx)
    for p in plan.prune:
        if not _is_ours(p.target, ctx.store, rows.get(p.target)):
            continue  # changed by the user since it was observed: not ours to remove
        try:
            check_parent_within(p.target, roots)
            os.unlink(p.target)
            ctx.store.index.forget_link(p.target)
            done.append(p.target)
        except FileNotFoundError:
            ctx.store.index.forget_link(p.target)
        except (ComfylockError, OSError) as exc:
            failures.append(failure_of(p.target, exc))
    return done


def link_all(
    plan: SyncPlan,
    ctx: ApplyContext,
    rows: dict[str, LinkRow],
    skip: set[str],
    failures: list[Failure],
    linker: Linker,
    *,
    in_packs: bool | None = None,
) -> list[str]:
    """Link each planned target to its blob. ``in_packs``: only the targets inside a pack's
    own directory under ``custom_nodes/`` (True; each only when its pack is installed), or
    only the others (False); None: all."""
    done, records = [], []
    fresh = {e.target for e in plan.link if e.target not in {d.target for d in plan.displace}}
    for e in (*plan.link, *plan.relink):
        if e.target in skip:
            continue
        pack = _pack_dir(e.target, ctx.nodes_root)
        if in_packs is not None and (pack is not None) != in_packs:
            continue
        if pack is not None and not pack.is_dir() and _to_clone(plan, pack):
            linker.warnings.append(
                f"{e.key}: not placed: its node pack {pack.name} is not installed"
            )
            continue
        if not ctx.store.has(e.sha256):
            if not any(f.item.startswith(e.key) or e.key in f.item for f in failures):
                failures.append(Failure(e.key, "blob not in the store", 4))
            continue
        if e.target in fresh and not _is_ours(e.target, ctx.store, rows.get(e.target)):
            failures.append(Failure(e.key, f"{e.target} appeared while syncing; left alone", 5))
            continue
        try:
            mode = linker.link(ctx.store.blob_path(e.sha256), Path(e.target))
        except (ComfylockError, OSError) as exc:
            failures.append(failure_of(e.key, exc))
            continue
        st = os.lstat(e.target)
        sig = (None, None, None) if mode == "symlink" else (st.st_size, st.st_mtime_ns, st.st_ino)
        records.append(LinkRow(e.target, e.sha256, ctx.lock_path, mode, *sig))
        done.append(e.target)
    if records:
        with ctx.store.file_lock("store"):
            ctx.store.index.record_links(records)
    return done


def _to_clone(plan: SyncPlan, pack: Path) -> bool:
    """Whether the plan clones a pack into ``pack`` (then its files wait for the clone)."""
    return any(os.path.abspath(c.path) == os.path.abspath(pack) for c in plan.node_clone)


def _pack_dir(target: str, nodes_root: Path | None) -> Path | None:
    """The pack directory ``custom_nodes/<pack>`` a target lies in, or None."""
    if nodes_root is None:
        return None
    rel = os.path.relpath(target, nodes_root)
    if rel.startswith("..") or os.path.isabs(rel) or os.sep not in rel:
        return None
    return nodes_root / rel.split(os.sep, 1)[0]


def nodes_all(plan: SyncPlan, ctx: ApplyContext, failures: list[Failure]) -> list[str]:
    from .nodepacks import checkout_pack, clone_pack, repo_url

    done = []
    project = Path(ctx.lock_path).parent
    roots = real_roots([ctx.nodes_root]) if ctx.nodes_root is not None else ()
    for n in plan.node_clone:
        try:
            check_parent_within(n.path, roots, what="custom_nodes/")
            clone_pack(repo_url(n.repo, project, ctx.allow_http), n.commit, Path(n.path))
            done.append(n.id)
        except (ComfylockError, OSError) as exc:
            failures.append(failure_of(f"node {n.id}", exc))
    for n in plan.node_checkout:
        try:
            check_parent_within(n.path, roots, what="custom_nodes/")
            checkout_pack(n.commit, Path(n.path), repo_url(n.repo, project, ctx.allow_http))
            done.append(n.id)
        except (ComfylockError, OSError) as exc:
            failures.append(failure_of(f"node {n.id}", exc))
    return done
