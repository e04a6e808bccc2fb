"""Pure renderers: turn results into JSON-ready dicts and terminal text. No I/O here."""

from __future__ import annotations

from typing import Any

from .structs import ModelRef, NodeUse, WorkflowInfo

__all__ = ["inspect_json", "inspect_text", "model_json", "node_json", "table"]


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
    if not node.active:
        out["active"] = False
    return out


def inspect_json(items: list[tuple[str, WorkflowInfo]], skipped, errors) -> dict[str, Any]:
    return {
        "workflows": [
            {
                "path": path,
                "format": info.format,
                "models": [model_json(m) for m in info.models],
                "nodes": [node_json(n) for n in info.nodes],
                "problems": list(info.problems),
            }
            for path, info in items
        ],
        "skipped": [{"path": p, "reason": why} for p, why in skipped],
        "errors": [{"path": e.path, "error": e.problem} for e in errors],
    }


def table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns, no borders: stable and pipe-friendly."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _flags(ref: ModelRef) -> str:
    flags = []
    if not ref.active:
        flags.append("inactive")
    if ref.inferred:
        flags.append("folder inferred")
    if ref.invalid:
        flags.append(f"INVALID: {ref.invalid}")
    if ref.url:
        flags.append("url")
    if ref.sha256:
        flags.append("sha256")
    return ", ".join(flags)


def inspect_text(items: list[tuple[str, WorkflowInfo]], skipped, errors) -> str:
    lines: list[str] = []
    for path, info in items:
        custom = sorted({n.class_type for n in info.nodes if not n.core})
        lines.append(
            f"{path}  ({info.format} format, {len(info.models)} model references, {len(custom)} custom node classes)"
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
            hints = {}
            for n in info.nodes:
                if not n.core and n.class_type not in hints:
                    hints[n.class_type] = n.cnr_id or n.aux_id or ""
            lines.append("  custom nodes:")
            lines += table(
                [[c, f"pack: {hints[c]}" if hints[c] else ""] for c in custom], indent="    "
            )
        for problem in info.problems:
            lines.append(f"  problem: {problem}")
        lines.append("")
    for path, why in skipped:
        lines.append(f"skipped {path}: {why}")
    return "\n".join(lines).rstrip() + "\n" if lines else ""
