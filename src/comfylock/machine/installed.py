"""What a ComfyUI install already has: model files (stat only) and custom node classes.

Custom node classes are found without importing any pack: ComfyUI learns them from each
pack's ``NODE_CLASS_MAPPINGS`` dict (or V3 ``node_id=``), so the quoted keys of such dicts
in the packs' Python files are a faithful, side-effect-free approximation.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..pathsafe import unsafe_reason
from .modelpaths import ModelPaths

__all__ = ["find_model", "installed_node_classes", "read_bounded"]

_DICT_KEY = re.compile(r"""["']([^"'\n\\]{1,120})["']\s*:""")
_NODE_ID = re.compile(r"""node_id\s*=\s*["']([^"'\n\\]{1,120})["']""")
MAX_PY_BYTES = 2 * 1024 * 1024
EMBEDDING_EXTENSIONS = (".safetensors", ".pt", ".bin")  # the order ComfyUI tries them in


def find_model(paths: ModelPaths, folder: str, name: str) -> Path | None:
    """The file ComfyUI would load for (folder, name), searching the folder's dirs in order."""
    if unsafe_reason(name):
        return None
    names = [name]
    if folder == "embeddings" and not name.lower().endswith(EMBEDDING_EXTENSIONS):
        names += [name + ext for ext in EMBEDDING_EXTENSIONS]  # `embedding:foo` may omit it
    for directory in paths.search_dirs(folder):
        for candidate_name in names:
            candidate = directory / candidate_name
            if candidate.is_file():
                return candidate
    return None


def read_bounded(path: str, limit: int) -> str | None:
    """A pack's text file (undecodable bytes replaced), or None when it is larger than
    ``limit`` bytes or cannot be read."""
    try:
        if os.path.getsize(path) > limit:
            return None
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def installed_node_classes(custom_nodes: Path) -> frozenset[str]:
    """Node class names the packs under ``custom_nodes/`` register (static read)."""
    found: set[str] = set()
    if not custom_nodes.is_dir():
        return frozenset()
    for dirpath, dirnames, filenames in os.walk(custom_nodes):
        dirnames[:] = [
            d
            for d in dirnames
            if not d.startswith(".") and d not in ("__pycache__", "node_modules", "tests")
        ]
        for name in filenames:
            if not name.endswith(".py"):
                continue
            text = read_bounded(os.path.join(dirpath, name), MAX_PY_BYTES)
            if text is None:
                continue
            if "NODE_CLASS_MAPPINGS" in text or "node_id" in text or "_MAPPINGS" in text:
                found.update(_DICT_KEY.findall(text))
                found.update(_NODE_ID.findall(text))
    return frozenset(found)
