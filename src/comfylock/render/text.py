"""Terminal text shared by the renderers: safe lines and aligned tables.

Every text renderer builds a list of lines and joins them with ``lines_text``: a name that
carries an ESC sequence or a ``\\r`` (from a workflow, a lock, a file name) is shown escaped,
never sent raw to the terminal.
"""

from __future__ import annotations

from ..pathsafe import printable

__all__ = ["lines_text", "table"]


def lines_text(lines: list[str]) -> str:
    """Join rendered lines, each made terminal-safe (a value's newline cannot forge a line)."""
    return "\n".join(printable(line) for line in lines)


def table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns, no borders: stable and pipe-friendly."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
