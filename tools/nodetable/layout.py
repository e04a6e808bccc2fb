"""Write the generated tables as JSON a reviewer can diff: one pack, class or name per line.

``dumps`` puts each item of the containers named by ``expand`` on a line of its own and writes
every other container inline, on its parent's line; an expanded container inside an inline one
hangs from that line (``["id", "repo", [`` then one name a line). Keys keep the order the
generator gives them (it sorts packs and classes; a class's inputs stay in ``INPUT_TYPES``
order, which the reader relies on). The output is plain JSON: any JSON reader loads it.
"""

from __future__ import annotations

import json
from collections.abc import Collection

__all__ = ["NODE_MAP_LINES", "TABLE_LINES", "dumps"]

Place = tuple  # a container's place in the document: keys and indexes, "*" matching any

# custom_nodes.json: a block per pack with one class name a line, one line per class entry
TABLE_LINES: frozenset[Place] = frozenset(
    {(), ("packs",), ("packs", "*"), ("packs", "*", "nodes"), ("classes",)}
)
# node_map.json: the provenance one key a line, a pack's classes one a line, a pattern a line
NODE_MAP_LINES: frozenset[Place] = frozenset(
    {(), ("source",), ("packs",), ("packs", "*", 2), ("patterns",)}
)


def dumps(value: object, expand: Collection[Place]) -> str:
    """``value`` as JSON, ending with a newline; ASCII only (``\\u`` escapes), like
    ``json.dumps``' default, so the files read the same under any locale."""
    return _render(value, (), expand, 0) + "\n"


def _render(value: object, path: Place, expand: Collection[Place], indent: int) -> str:
    if not isinstance(value, (dict, list)) or not value:
        return json.dumps(value)
    items = value.items() if isinstance(value, dict) else enumerate(value)
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    lined = _matches(path, expand)
    inner = indent + 1 if lined else indent
    parts = []
    for key, item in items:
        text = _render(item, (*path, key), expand, inner)
        parts.append(f"{json.dumps(key)}: {text}" if isinstance(value, dict) else text)
    if not lined:
        return opening + ", ".join(parts) + closing
    pad = " " * inner
    return f"{opening}\n{pad}" + f",\n{pad}".join(parts) + f"\n{' ' * indent}{closing}"


def _matches(path: Place, expand: Collection[Place]) -> bool:
    return any(
        len(pattern) == len(path) and all(p in ("*", k) for p, k in zip(pattern, path))
        for pattern in expand
    )
