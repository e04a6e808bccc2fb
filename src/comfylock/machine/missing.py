"""What each workflow lacks on this machine: model files and custom node classes."""

from __future__ import annotations

from pathlib import Path

import msgspec

from ..workflows.refs import ModelRef, NodeUse, WorkflowInfo
from .installed import find_model, installed_node_classes
from .modelpaths import ModelPaths

__all__ = [
    "MissingModel",
    "MissingNode",
    "WorkflowGaps",
    "find_gaps",
    "with_pins",
    "with_suggestions",
]


class MissingModel(msgspec.Struct, frozen=True):
    ref: ModelRef
    expected_path: str | None  # where sync would place it (the folder's default dir)
    sha256: str | None = None  # from the lock, when it pins this reference
    suggestions: tuple = ()  # machine.suggest.Suggestion: local files that may be the one


class MissingNode(msgspec.Struct, frozen=True):
    node: NodeUse


class WorkflowGaps(msgspec.Struct, frozen=True):
    path: str
    models: tuple[MissingModel, ...]
    nodes: tuple[MissingNode, ...]
    invalid: tuple[ModelRef, ...]


def find_gaps(
    items: list[tuple[str, WorkflowInfo]], paths: ModelPaths, custom_nodes: Path | None
) -> list[WorkflowGaps]:
    """Per workflow: references with no file in any of the folder's dirs, and custom node
    classes no installed pack registers. Unsafe names are listed apart, never looked up."""
    installed = installed_node_classes(custom_nodes) if custom_nodes else frozenset()
    gaps: list[WorkflowGaps] = []
    for path, info in items:
        seen: set[tuple[str | None, str]] = set()
        models: list[MissingModel] = []
        invalid: list[ModelRef] = []
        for ref in info.models:
            if (ref.folder, ref.name) in seen:
                continue
            seen.add((ref.folder, ref.name))
            if ref.invalid:
                invalid.append(ref)
                continue
            if ref.folder and find_model(paths, ref.folder, ref.name):
                continue
            target = paths.target_dir(ref.folder) if ref.folder else None
            models.append(MissingModel(ref, str(target / ref.name) if target else None))
        classes: dict[str, NodeUse] = {}
        for node in info.nodes:
            if not node.core and node.class_type not in installed:
                classes.setdefault(node.class_type, node)
        gaps.append(
            WorkflowGaps(
                path, tuple(models), tuple(MissingNode(n) for n in classes.values()), tuple(invalid)
            )
        )
    return gaps


def with_pins(
    gaps: list[WorkflowGaps], pins: dict[tuple[str, str], tuple[str | None, str]]
) -> list[WorkflowGaps]:
    """The gaps with what the lock pins: ``pins[(folder, name)] = (download URL, sha256)``.
    The lock's URL wins over the workflow's own (it is the one sync would use)."""
    out = []
    for g in gaps:
        models = []
        for m in g.models:
            pin = pins.get((m.ref.folder or "", m.ref.name))
            if pin is not None:
                url, sha = pin
                ref = msgspec.structs.replace(m.ref, url=url or m.ref.url)
                m = msgspec.structs.replace(m, ref=ref, sha256=sha)
            models.append(m)
        out.append(msgspec.structs.replace(g, models=tuple(models)))
    return out


def with_suggestions(gaps: list[WorkflowGaps], files) -> list[WorkflowGaps]:
    """Each missing model with local files that may be it (a renamed or moved copy)."""
    from .suggest import local_suggestions

    out = []
    for g in gaps:
        models = tuple(
            msgspec.structs.replace(
                m,
                suggestions=tuple(
                    local_suggestions(
                        m.ref.folder or "",
                        m.ref.name,
                        files,
                        target=m.expected_path,
                        sha256=m.ref.sha256 or m.sha256,
                    )
                ),
            )
            for m in g.models
        )
        out.append(msgspec.structs.replace(g, models=models))
    return out
