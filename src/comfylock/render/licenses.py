"""``report --licenses`` and ``check --deny-license``: the licences a lock records, per
workflow, as text for a terminal, Markdown (a pull request or a wiki page), JSON, and check's
finding lines. Pure."""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec

from ..basics.units import count
from .text import lines_text, table

__all__ = ["denied_lines", "licenses_json", "licenses_markdown", "licenses_text"]


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


def licenses_text(groups, *, lock_path: str) -> str:
    """For a terminal: per workflow, a model a line with its licence, then what its source
    says (Civitai's permissions, the base model) indented under it."""
    lines = [f"licences in {lock_path}"]
    for group in groups:
        lines += ["", group.path]
        if not group.models:
            lines.append("  no models")
            continue
        rows = [[row.key, _license_cell(row), ", ".join(row.sources)] for row in group.models]
        for row, line in zip(group.models, table(rows)):
            lines.append(line)
            more = "; ".join(p for p in (row.permissions, row.base_model) if p)
            if more:
                lines.append(f"      {more}")
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
