"""``report --licenses`` and ``check --deny-license``: the licences a lock records, per
workflow, as Markdown (a pull request or a wiki page), JSON, and check's finding lines. Pure."""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec

from ..units import count
from .text import lines_text

__all__ = ["denied_lines", "licenses_json", "licenses_markdown"]


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _license_cell(row) -> str:
    return f"{row.license} (gated: {row.gated})" if row.gated else row.license


def licenses_markdown(groups, *, lock_path: str) -> str:
    lines = ["# Licences", "", f"From `{lock_path}`."]
    for group in groups:
        lines += ["", f"## `{group.path}`", ""]
        if not group.models:
            lines.append("No models.")
            continue
        lines += [
            "| model | licence | permissions (Civitai) | base model | sources |",
            "|---|---|---|---|---|",
        ]
        for row in group.models:
            cells = (
                f"`{row.key}`",
                _license_cell(row),
                row.permissions,
                row.base_model,
                ", ".join(row.sources),
            )
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", _summary(groups)]
    return lines_text(lines) + "\n"


def _summary(groups) -> str:
    unique = {row.key: row.license for g in groups for row in g.models}
    if not unique:
        return "No models."
    by = Counter(unique.values())
    parts = ", ".join(f"{n} {name}" for name, n in sorted(by.items(), key=lambda x: (-x[1], x[0])))
    return f"{count(len(unique), 'model')}: {parts}."


def licenses_json(groups, *, lock_path: str) -> dict[str, Any]:
    unique = {row.key: row.license for g in groups for row in g.models}
    return {
        "lock": lock_path,
        "workflows": [
            {"path": g.path, "models": [msgspec.to_builtins(r) for r in g.models]} for g in groups
        ],
        "licenses": dict(sorted(Counter(unique.values()).items())),
    }


def denied_lines(denied, rules) -> list[str]:
    """check's lines for ``--deny-license``: each model caught, or that none is."""
    if not denied:
        return [f"licences: no model is under {', '.join(rules)}"]
    lines = [
        f"denied licence: {d.key} is under {d.license} (--deny-license {d.rule})" for d in denied
    ]
    lines.append("fix: replace those models in the workflows and run `comfylock resolve`")
    return lines
