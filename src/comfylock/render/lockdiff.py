"""``comfylock diff``: what changed between two locks, in words (a terminal), Markdown (a
pull-request comment) and JSON. Pure: takes a ``lock.changes.LockDiff``, returns text."""

from __future__ import annotations

import re
from typing import Any

from ..basics.units import count, human_size
from .text import lines_text, table

__all__ = ["diff_json", "diff_markdown", "diff_text"]

TITLES = {
    "model": "models",
    "node": "node packs",
    "snapshot": "repo snapshots",
    "comfyui": "ComfyUI",
    "python": "Python",
    "python package": "Python packages",
    "workflow": "workflows",
    "unresolved": "unresolved references",
}
# What an added or removed entry is, in brief (other sections: every plain field).
BRIEF = {
    "model": ("size", "sha256", "license", "sources"),
    "node": ("commit", "version", "repo"),
    "snapshot": ("repo", "revision"),
    "comfyui": ("commit", "version"),
    "python": ("version", "targets"),
    "python package": ("version",),
    "workflow": ("models", "nodes"),
    "unresolved": ("reason",),
}
_HEX = re.compile(r"^[0-9a-f]{40,64}$")


def _value(field: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if field == "size" and isinstance(value, int):
        return human_size(value)
    if isinstance(value, str) and _HEX.match(value):
        return value[:12]
    if isinstance(value, list):
        return ", ".join(_value(field, v) for v in value) or "(none)"
    return str(value)


def _listed(old: Any, new: Any) -> bool:
    return isinstance(old, list) or isinstance(new, list)


def _what(change) -> str:
    """A change's fields in one line: ``old → new``, or ``+x, -y`` for lists."""
    parts = []
    if change.kind != "changed":
        wanted = BRIEF.get(change.section)
        for f in change.fields:
            value = f.new if change.kind == "added" else f.old
            if (wanted is None or f.field in wanted) and value not in (None, [], ""):
                many = isinstance(value, list) and len(value) > 3
                parts.append(
                    f"{len(value)} {f.field}" if many else f"{f.field} {_value(f.field, value)}"
                )
        return "; ".join(parts)
    for f in change.fields:
        if _listed(f.old, f.new):
            old, new = f.old or [], f.new or []
            moved = [f"+{_value(f.field, v)}" for v in new if v not in old]
            moved += [f"-{_value(f.field, v)}" for v in old if v not in new]
            parts.append(f"{f.field} {', '.join(moved)}")
        else:
            parts.append(f"{f.field} {_value(f.field, f.old)} → {_value(f.field, f.new)}")
    return "; ".join(parts)


def _summary(diff) -> str:
    if diff.is_empty:
        return "No changes."
    n = diff.counts()
    total = count(len(diff.changes), "change")
    return f"{total}: {n['added']} added, {n['removed']} removed, {n['changed']} changed."


def _sections(diff) -> list[tuple[str, list]]:
    out: dict[str, list] = {}
    for change in diff.changes:
        out.setdefault(change.section, []).append(change)
    return [(TITLES.get(s, s), changes) for s, changes in out.items()]


def diff_text(diff, *, old: str, new: str) -> str:
    lines = [f"comfy.lock: {old} → {new}"]
    for title, changes in _sections(diff):
        lines.append(title)
        lines += table([[c.kind, c.key, _what(c)] for c in changes])
    lines.append(_summary(diff))
    return lines_text(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def diff_markdown(diff, *, old: str, new: str) -> str:
    """A pull-request comment: one table per section."""
    lines = [f"### comfy.lock: {_summary(diff)}", "", f"`{_cell(old)}` → `{_cell(new)}`"]
    for title, changes in _sections(diff):
        head = title[0].upper() + title[1:]
        lines += ["", f"**{head}**", "", "| | entry | what |", "|---|---|---|"]
        for c in changes:
            lines.append(f"| {c.kind} | `{_cell(c.key)}` | {_cell(_what(c))} |")
    return lines_text(lines) + "\n"


def diff_json(diff, *, old: str, new: str) -> dict[str, Any]:
    return {
        "old": old,
        "new": new,
        "changes": [
            {
                "section": c.section,
                "key": c.key,
                "kind": c.kind,
                "fields": {f.field: {"old": f.old, "new": f.new} for f in c.fields},
            }
            for c in diff.changes
        ],
        "counts": diff.counts(),
    }
