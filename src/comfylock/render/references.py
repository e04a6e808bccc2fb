"""A workflow's references and node classes (``inspect``): the stable JSON shape and text.

Pure: returns dicts and strings. JSON shapes stay exact (the README documents them).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..basics.units import count
from ..workflows.refs import ModelRef, NodeUse, WorkflowInfo
from .text import lines_text, table

__all__ = [
    "inspect_json",
    "inspect_text",
    "model_json",
    "node_json",
]


def model_json(ref: ModelRef) -> dict[str, Any]:
    """One model reference in the stable `inspect --json` shape (see README)."""
    out: dict[str, Any] = {
        "folder": ref.folder,
        "name": ref.name,
        "node_id": ref.node_id or None,
        "node_type": ref.node_type or None,
        "input": ref.input,
        "active": ref.active,
    }
    if ref.url:
        out["url"] = ref.url
    if ref.sha256:
        out["sha256"] = ref.sha256
    if ref.inferred:
        out["inferred"] = True
    if ref.invalid:
        out["invalid"] = ref.invalid
    if ref.reason:
        out["reason"] = ref.reason
    return out


def node_json(node: NodeUse) -> dict[str, Any]:
    out: dict[str, Any] = {
        "class_type": node.class_type,
        "node_id": node.node_id,
        "core": node.core,
    }
    for key in ("cnr_id", "aux_id", "ver"):
        value = getattr(node, key)
        if value is not None:
            out[key] = value
    if node.packs:  # named offline (table, else the shipped class map); several = ambiguous
        out["packs"] = list(node.packs)
        out["packs_via"] = node.packs_via
    if node.knowledge:  # where its inputs' facts come from: the table, an installed pack
        out["knowledge"] = node.knowledge
    if not node.active:
        out["active"] = False
    return out


def _workflow_json(path: str, info: WorkflowInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": path,
        "format": info.format,
        "models": [model_json(m) for m in info.models],
        "nodes": [node_json(n) for n in info.nodes],
        "problems": list(info.problems),
    }
    if info.repos:  # whole Hugging Face repos download-and-load nodes fetch (only when any)
        out["repos"] = [msgspec.to_builtins(r) for r in info.repos]
    return out


def inspect_json(items: list[tuple[str, WorkflowInfo]], skipped, errors) -> dict[str, Any]:
    return {
        "workflows": [_workflow_json(path, info) for path, info in items],
        "skipped": [{"path": p, "reason": why} for p, why in skipped],
        "errors": [{"path": e.path, "error": e.problem} for e in errors],
    }


def _flags(ref: ModelRef) -> str:
    flags = []
    if not ref.active:
        flags.append("inactive")
    if ref.inferred:
        flags.append("folder inferred")
    if ref.invalid:
        flags.append(f"INVALID: {ref.invalid}")
    if ref.reason:
        flags.append(ref.reason)
    if ref.url:
        flags.append("url")
    if ref.sha256:
        flags.append("sha256")
    return ", ".join(flags)


def pack_hint(node: NodeUse, needed: frozenset[str] = frozenset()) -> str:
    """What names the node's pack offline: its own ``cnr_id``/``aux_id``, else the table.
    ``needed``: packs the same workflow needs for other classes; one of them among an
    ambiguous class's claimants is named, as resolve names its ``[nodes]`` pin."""
    own = node.cnr_id or node.aux_id
    if own:
        return f"pack: {own}"
    by_name = " (class map)" if node.packs_via == "map" else ""
    if len(node.packs) == 1:
        return f"pack: {node.packs[0]}{by_name}"
    if node.packs:
        ours = sorted(set(node.packs) & needed)
        also = f"; {ours[0]} is needed here anyway" if len(ours) == 1 else ""
        return f"ambiguous: {' | '.join(node.packs)}{by_name}{also}"
    return ""


def needed_packs(info: WorkflowInfo) -> frozenset[str]:
    """The packs a workflow surely needs: named by a node itself or the only claimant."""
    out = set()
    for n in info.nodes:
        if n.core:
            continue
        own = n.cnr_id or n.aux_id
        if own:
            out.add(own)
        elif len(n.packs) == 1:
            out.add(n.packs[0])
    return frozenset(out)


def inspect_text(items: list[tuple[str, WorkflowInfo]], skipped, errors) -> str:
    lines: list[str] = []
    for path, info in items:
        custom = sorted({n.class_type for n in info.nodes if not n.core})
        lines.append(
            f"{path}  ({info.format} format, {count(len(info.models), 'model reference')}, {count(len(custom), 'custom node class', 'custom node classes')})"
        )
        rows = [
            [
                f"{m.folder or '?'}/{m.name}",
                f"node {m.node_id}" if m.node_id else "workflow",
                f"{m.node_type}.{m.input}" if m.node_type else m.input,
                _flags(m),
            ]
            for m in info.models
        ]
        lines += table(rows)
        if custom:
            hints, needed = {}, needed_packs(info)
            for n in info.nodes:
                if not n.core and n.class_type not in hints:
                    hints[n.class_type] = pack_hint(n, needed)
            lines.append("  custom nodes:")
            lines += table([[c, hints[c]] for c in custom], indent="    ")
        if info.repos:
            lines.append("  repo snapshots (downloaded whole by the node):")
            lines += table(
                [
                    [r.repo, f"-> {r.dir}", f"node {r.node_id}", f"{r.node_type}.{r.input}"]
                    for r in info.repos
                ],
                indent="    ",
            )
        for problem in info.problems:
            lines.append(f"  problem: {problem}")
        lines.append("")
    for path, why in skipped:
        lines.append(f"skipped {path}: {why}")
    return lines_text(lines).rstrip() + "\n" if lines else ""


# --- `comfylock report` ---------------------------------------------------------------------


# --- `comfylock check` ----------------------------------------------------------------------


# --- `comfylock resolve` --------------------------------------------------------------------
