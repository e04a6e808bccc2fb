"""Node classes a pack registers in its browser code (``LiteGraph.registerNodeType("SetNode",
...)``): virtual nodes a workflow keeps (KJNodes' Set/Get) that need the pack installed and
take no model. Read from the text with one pattern, never run. Pure."""

from __future__ import annotations

import re

__all__ = ["FRONTEND_SUFFIXES", "frontend_classes"]

FRONTEND_SUFFIXES = (".js",)
# a literal first argument only: a name built at run time is not a name we can know
_REGISTER = re.compile(r"""registerNodeType\(\s*(["'`])([^"'`\\\n]{1,200})\1\s*,""")


def frontend_classes(files: dict[str, str]) -> list[str]:
    """Class names a pack's JavaScript registers with a literal name. A ``category/name``
    type is the graph library's own demo node, registered by a bundled copy of it."""
    found: set[str] = set()
    for path, text in files.items():
        if not path.endswith(FRONTEND_SUFFIXES) or "registerNodeType" not in text:
            continue
        for match in _REGISTER.finditer(text):
            name = match.group(2).strip()
            if name and "/" not in name:
                found.add(name)
    return sorted(found)
