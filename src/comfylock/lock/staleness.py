"""Is the lock up to date with the workflows? Pure comparison, used by ``check``,
``resolve --check``, ``status`` and ``sync --locked``."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from ..errors import InputError, NoWorkflowsError
from ..workflows.digest import custom_classes, lockable_refs, workflow_digest
from ..workflows.refs import WorkflowInput
from .keys import find_locked
from .structs import Lock

__all__ = [
    "Staleness",
    "WorkflowChange",
    "compare",
    "lock_staleness",
]


class WorkflowChange(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    status: str  # "new" | "missing" | "changed"
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()


class Staleness(msgspec.Struct, frozen=True, kw_only=True):
    changes: tuple[WorkflowChange, ...]
    unpinned: tuple[tuple[str, str], ...]  # (reference, why)
    name_only: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.changes and not self.unpinned


def _renames(
    added: list[str], removed: list[str]
) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Pair one removed and one added reference in the same folder as a rename."""
    renamed: list[tuple[str, str]] = []
    for folder in sorted({a.split("/", 1)[0] for a in added}):
        adds = [a for a in added if a.split("/", 1)[0] == folder]
        rems = [r for r in removed if r.split("/", 1)[0] == folder]
        if len(adds) == 1 and len(rems) == 1:
            renamed.append((rems[0], adds[0]))
            added.remove(adds[0])
            removed.remove(rems[0])
    return renamed, added, removed


def _locked_key(ref, models: dict) -> str:
    """The key a reference is pinned under (an extension-less embedding maps to its file)."""
    found = find_locked(ref, models)
    return found.key if found is not None else f"{ref.folder}/{ref.name}"


def compare(lock: Lock, workflows: list[WorkflowInput], *, check_missing: bool = True) -> Staleness:
    locked = {w.path: w for w in lock.workflow}
    models = {m.key: m for m in lock.model}
    changes: list[WorkflowChange] = []
    for wf in workflows:
        entry = locked.get(wf.path)
        current = sorted({_locked_key(r, models) for r in lockable_refs(wf.info)})
        if entry is None:
            changes.append(WorkflowChange(path=wf.path, status="new", added=tuple(current)))
            continue
        if entry.digest == workflow_digest(wf.info):
            continue
        added = sorted(set(current) - set(entry.models))
        removed = sorted(set(entry.models) - set(current))
        renamed, added, removed = _renames(added, removed)
        changes.append(
            WorkflowChange(
                path=wf.path,
                status="changed",
                added=tuple(added),
                removed=tuple(removed),
                renamed=tuple(renamed),
            )
        )
    if check_missing:
        present = {w.path for w in workflows}
        changes += [WorkflowChange(path=p, status="missing") for p in sorted(set(locked) - present)]
    packs = {c for n in lock.node for c in n.classes}
    snapshots = {(s.dir, s.repo) for s in lock.snapshot}
    unpinned: dict[str, str] = {}
    for u in lock.unresolved:
        unpinned[f"{u.folder}/{u.name}"] = u.reason
    for wf in workflows:
        for ref in lockable_refs(wf.info):
            key = f"{ref.folder}/{ref.name}"
            model = find_locked(ref, models)
            if model is None:
                unpinned.setdefault(key, f"not in the lock (used by {wf.path})")
            elif not model.source:
                unpinned.setdefault(key, "pinned without any source")
            elif ref.sha256 and ref.sha256 != model.sha256:
                unpinned.setdefault(
                    key,
                    f"pinned to sha256 {model.sha256}, but {wf.path} declares {ref.sha256}",
                )
        for repo in wf.info.repos:
            if (repo.dir, repo.repo) not in snapshots:
                unpinned.setdefault(
                    f"{repo.dir} ({repo.repo})",
                    f"repo snapshot not in the lock (used by {wf.path})",
                )
        for node in custom_classes(wf.info):
            if node.class_type not in packs:
                unpinned.setdefault(
                    f"custom_nodes/{node.class_type}", f"no node pack pinned (used by {wf.path})"
                )
    name_only = sorted(
        m.key
        for m in lock.model
        if m.source and all(getattr(s, "matched_by", None) == "name" for s in m.source)
    )
    return Staleness(
        changes=tuple(changes), unpinned=tuple(sorted(unpinned.items())), name_only=tuple(name_only)
    )


def lock_staleness(
    lock: Lock, read_workflows: Callable[[], list[WorkflowInput]]
) -> tuple[str, str]:
    """("fresh" | "stale" | "incomplete" | "unknown", message): is the lock up to date with
    the workflows beside it? "incomplete": up to date, with ``[[unresolved]]`` entries. ``read_workflows`` reads them (only when the lock names any). "unknown" when
    the lock names workflows but none are here (a machine that only syncs); ``sync --locked``
    treats that as a failure too."""
    if not lock.workflow:
        return "fresh", ""  # a hand-written lock: nothing to be stale against
    try:
        workflows = read_workflows()
    except (InputError, NoWorkflowsError):
        return "unknown", "the lock's workflows are not here, so it was not checked against them"
    staleness = compare(lock, workflows)
    if staleness.ok:
        return "fresh", ""
    changed = ", ".join(f"{c.path} ({c.status})" for c in staleness.changes[:3])
    recorded = {f"{u.folder}/{u.name}" for u in lock.unresolved}
    if not changed and all(key in recorded for key, _ in staleness.unpinned):
        # NOTE: up to date, but not everything is pinned: incomplete, not stale (issue 19)
        from .unpinned import summary

        keys = [key for key, _ in staleness.unpinned]
        return "incomplete", f"the lock is incomplete: {summary(keys)} not pinned"
    return "stale", changed or "references are not pinned"
