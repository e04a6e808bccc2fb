"""Reverse lookup for `why`: which workflow nodes use a model, a node class or a pack."""

from __future__ import annotations

from collections.abc import Mapping

from ..workflows.refs import WorkflowInput
from ..workflows.tables import split_key
from .structs import Lock

__all__ = ["find_uses"]


def _matches_model(query: str, folder: str | None, name: str) -> bool:
    query = query.replace("\\", "/").strip("/")
    return query in (f"{folder}/{name}", name) or name.rsplit("/", 1)[-1] == query


def find_uses(
    query: str,
    workflows: list[WorkflowInput],
    lock: Lock | None,
    hand_pins: Mapping[str, str] | None = None,
) -> list[dict]:
    """Every (workflow, node) that uses the model, class or pack named by ``query``, and
    every hand pin (``comfylock.toml [sources]``, what ``add`` writes) that names it: a
    model pinned outside any workflow is used by the project too."""
    uses: list[dict] = []
    for key, spec in sorted((hand_pins or {}).items()):
        folder, name = split_key(key)
        if _matches_model(query, folder, name):
            uses.append(
                {
                    "workflow": "comfylock.toml",
                    "node_id": "-",
                    "node_type": "[sources]",
                    "input": "",
                    "what": key,
                    "active": True,
                    "hand_pin": spec,
                }
            )
    pack_classes: set[str] = set()
    for node in lock.node if lock else ():
        if query in (node.id, node.repo) or node.repo.rstrip("/").endswith("/" + query):
            pack_classes.update(node.classes)
    for wf in workflows:
        for ref in wf.info.models:
            if _matches_model(query, ref.folder, ref.name):
                uses.append(
                    {
                        "workflow": wf.path,
                        "node_id": ref.node_id or "-",
                        "node_type": ref.node_type or "workflow",
                        "input": ref.input,
                        "what": f"{ref.folder}/{ref.name}",
                        "active": ref.active,
                    }
                )
        for node in wf.info.nodes:
            if (
                node.class_type == query
                or node.class_type in pack_classes
                or query in (node.cnr_id, node.aux_id)
            ):
                uses.append(
                    {
                        "workflow": wf.path,
                        "node_id": node.node_id,
                        "node_type": node.class_type,
                        "input": "",
                        "what": f"node class {node.class_type}",
                        "active": node.active,
                    }
                )
    return uses
