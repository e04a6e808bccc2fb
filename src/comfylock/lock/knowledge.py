"""The custom-node facts a lock records (``[[class]]``): what installed packs' code said about
the classes the workflows use, where the shipped knowledge table does not hold those packs at
the installed commits. ``record`` takes them from the table in force (with the installed packs
over it); ``recorded`` gives them back as ``Knowledge`` over the table, so a machine without
the packs (CI) reads the workflows exactly as the machine that resolved them. Pure."""

from __future__ import annotations

import hashlib
import json

from ..workflows import nodeknowledge, nodetable
from ..workflows.digest import custom_classes
from ..workflows.refs import WorkflowInput
from .structs import Lock, LockedClass

__all__ = ["record", "recorded"]

_FROM_LOCK = "comfy.lock"


def record(workflows: list[WorkflowInput]) -> tuple[LockedClass, ...]:
    """``[[class]]`` entries for the custom classes the workflows use whose facts did not come
    from the shipped table (read while the same facts are pinned as for the workflows)."""
    out: dict[str, LockedClass] = {}
    for wf in workflows:
        for node in custom_classes(wf.info):
            origin = node.knowledge
            if not origin or origin == "table" or node.class_type in out:
                continue
            facts = nodetable.class_facts(node.class_type)
            if facts is None:
                continue
            read_from = origin.removeprefix(f"{_FROM_LOCK}: ")
            out[node.class_type] = LockedClass(
                name=node.class_type,
                pack=nodetable.pack_of(node.class_type) or "",
                read_from=read_from,
                facts=json.dumps(facts, sort_keys=True, separators=(",", ":")),
            )
    return tuple(out[k] for k in sorted(out))


def recorded(lock: Lock | None) -> nodeknowledge.Knowledge | None:
    """The lock's ``[[class]]`` facts as ``Knowledge`` (None when it records none)."""
    if lock is None or not lock.classes:
        return None
    packs: dict = {}
    classes: dict = {}
    digest = hashlib.sha256()
    for entry in lock.classes:
        try:
            facts = json.loads(entry.facts)
        except ValueError:
            continue
        if not isinstance(facts, dict):
            continue
        pack_id = entry.pack or f"local/{entry.name}"
        pack = packs.setdefault(
            pack_id,
            {"repo": pack_id, "origin": f"{_FROM_LOCK}: {entry.read_from}", "nodes": []},
        )
        pack["nodes"].append(entry.name)
        classes[entry.name] = {**facts, "pack": pack_id}
        digest.update(f"{entry.name}\0{entry.facts}\n".encode())
    data = {"packs": packs, "classes": classes}
    return nodeknowledge.knowledge(data, digest=f"lock:{digest.hexdigest()[:16]}")
