"""What the workflows' custom nodes need besides model files: the pack behind each custom
class (``[[node]]``) and the repos their download-and-load nodes fetch whole
(``[[snapshot]]``). Neither uses the model lookup's machinery, so they live apart from
``core.py``, which calls both; pure like it: network and disk go through ``Sources``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from ..config import Config
from ..lock.structs import Lock, LockedNode, LockedSnapshot, Unresolved
from ..lock.unpinned import ambiguous_reason
from ..workflows.digest import custom_classes
from ..workflows.refs import NodeUse, WorkflowInput

if TYPE_CHECKING:
    from .core import NodeCandidate, Sources

__all__ = ["resolve_nodes", "resolve_snapshots"]


def resolve_snapshots(
    workflows: list[WorkflowInput], old: Lock | None, sources: Sources, upgrade: bool, map_fn
) -> tuple[list[LockedSnapshot], list[Unresolved]]:
    """Pin each (dir, repo) the workflows' download-and-load nodes name (only the files the
    node's allow-patterns take, when it has them)."""
    wanted: dict[str, tuple[str, str, tuple[str, ...]]] = {}  # dir -> (repo, first wf, allow)
    unresolved: list[Unresolved] = []
    for wf in workflows:
        for ref in wf.info.repos:
            repo, first, allow = wanted.setdefault(ref.dir, (ref.repo, wf.path, ref.allow))
            if repo != ref.repo or allow != ref.allow:
                why = f"{first} wants {repo} there, {wf.path} wants {ref.repo}"
                if repo == ref.repo:
                    why = f"{first} and {wf.path} want other files of {repo} there"
                unresolved.append(Unresolved(folder="snapshot", name=ref.dir, reason=why))
    clashing = {u.name for u in unresolved}
    kept = {s.dir: s for s in (old.snapshot if old else ()) if not upgrade}
    done = [
        kept[d]
        for d in sorted(wanted)
        if d in kept
        and d not in clashing
        and kept[d].repo == wanted[d][0]
        and kept[d].allow == wanted[d][2]
    ]
    todo = [d for d in sorted(wanted) if d not in clashing and d not in {s.dir for s in done}]

    def pin(d: str) -> LockedSnapshot | None:
        repo, _first, allow = wanted[d]
        return sources.snapshot(repo, d, allow=allow) if allow else sources.snapshot(repo, d)

    pinned = map_fn(pin, todo)
    offline = getattr(sources, "offline", False)
    for d, snap in zip(todo, pinned):
        if snap is None:
            where = "not looked up (offline)" if offline else "not found on the Hugging Face hub"
            why = f"{wanted[d][0]}: {where}"
            unresolved.append(Unresolved(folder="snapshot", name=d, reason=why))
        else:
            done.append(snap)
    return sorted(done, key=lambda s: s.dir), unresolved


def resolve_nodes(workflows, old, config, sources, upgrade, map_fn):
    """Pin each custom class's pack; returns (nodes, unresolved, ambiguous, class -> pack id)."""
    classes: dict[str, NodeUse] = {}
    for wf in workflows:
        for node in custom_classes(wf.info):
            current = classes.get(node.class_type)
            if current is None or (not current.cnr_id and not current.aux_id):
                classes[node.class_type] = node
    old_by_class = {c: n for n in (old.node if old else ()) for c in n.classes}
    packs: dict[str, LockedNode] = {}
    pack_of: dict[str, str] = {}
    unresolved: list[Unresolved] = []
    ambiguous: list[tuple[str, tuple[str, ...]]] = []
    todo: list[NodeUse] = []
    for name in sorted(classes):
        if not upgrade and name in old_by_class:
            pin = old_by_class[name]
            packs[pin.id] = pin
            pack_of[name] = pin.id
        else:
            todo.append(classes[name])
    candidates = map_fn(lambda n: _settle(n, sources, config), todo)
    chosen: dict[str, tuple[NodeCandidate, list[str]]] = {}
    for node, (candidate, reason, options) in zip(todo, candidates):
        if candidate is None:
            if options:
                ambiguous.append((node.class_type, tuple(options)))
            else:
                unresolved.append(
                    Unresolved(folder="custom_nodes", name=node.class_type, reason=reason)
                )
            continue
        chosen.setdefault(candidate.id, (candidate, []))[1].append(node.class_type)
        pack_of[node.class_type] = candidate.id
    needed = set(chosen) | set(packs)
    unresolved += [
        Unresolved(folder="custom_nodes", name=name, reason=ambiguous_reason(name, ids, needed))
        for name, ids in ambiguous
    ]
    # NOTE: a pack the lock already pins keeps its commit (a minimal diff, and offline the
    # lock is what knows it); only packs new to the lock are pinned.
    locked = {n.id: n for n in (old.node if old and not upgrade else ())}
    todo_packs = [c for c, _names in chosen.values() if c.id not in locked]
    pinned_new = dict(zip([c.id for c in todo_packs], map_fn(sources.pin_node, todo_packs)))
    for candidate, class_names in chosen.values():
        node = locked.get(candidate.id) or pinned_new.get(candidate.id)
        if node is None:  # offline and no commit known: say so, never guess one
            why = f"provided by {candidate.id}; its commit was not looked up (offline)"
            unresolved += [
                Unresolved(folder="custom_nodes", name=c, reason=why) for c in class_names
            ]
            for c in class_names:
                pack_of.pop(c, None)
            continue
        existing = packs.get(node.id)
        merged = set(class_names) | set(existing.classes if existing else ())
        packs[node.id] = msgspec.structs.replace(node, classes=tuple(sorted(merged)))
    for pin in packs.values():
        for c in pin.classes:
            pack_of.setdefault(c, pin.id)
    return [packs[k] for k in sorted(packs)], unresolved, ambiguous, pack_of


def _settle(
    node: NodeUse, sources: Sources, config: Config
) -> tuple[NodeCandidate | None, str, list[str]]:
    candidates = sources.node_candidates(node)
    pin = config.nodes.get(node.class_type)
    if pin:
        return sources.settle_pin(node.class_type, candidates, pin), "", []
    ids = sorted({c.id for c in candidates})
    if not candidates:
        return None, "no pack found for this node class (add a [nodes] pin in comfylock.toml)", []
    if len(ids) > 1:
        return None, "", ids  # the reason needs every class's answer: ambiguous_reason
    return candidates[0], "", []
