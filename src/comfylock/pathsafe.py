"""Untrusted names from workflows and locks: normalise, reject escapes, assert containment.

A name is checked under both POSIX and Windows rules before it is ever joined to a path,
and every join is checked again afterwards (STYLE rule 11).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import UnsafePathError

__all__ = ["check_name", "normalise_name", "safe_join", "unsafe_reason"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def normalise_name(name: str) -> str:
    """Backslashes become ``/`` (Windows saves), repeated and leading ``./`` are dropped."""
    name = name.strip().replace("\\", "/")
    while "//" in name:
        name = name.replace("//", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def unsafe_reason(name: str) -> str | None:
    """Why a (normalised) name may not be joined to a folder, or None if it is safe."""
    if not name:
        return "empty name"
    if "\x00" in name:
        return "NUL byte in name"
    if name.startswith("/") or name.startswith("\\"):
        return "absolute path"
    if _DRIVE.match(name):
        return "absolute Windows path (drive letter)"
    parts = name.replace("\\", "/").split("/")
    if any(part == ".." for part in parts):
        return "'..' in path"
    if any(part in ("", ".") for part in parts):
        return "empty or '.' path segment"
    return None


def check_name(name: str, *, what: str = "name") -> str:
    """Return the normalised name or raise UnsafePathError naming the problem."""
    norm = normalise_name(name)
    reason = unsafe_reason(norm)
    if reason:
        raise UnsafePathError(
            f"unsafe {what} {name!r}: {reason}",
            hint="model names must be relative paths inside their folder",
        )
    return norm


def safe_join(root: Path, *names: str) -> Path:
    """Join checked names under ``root`` and assert the result stays inside it."""
    path = root
    for name in names:
        path = path / check_name(name)
    root_abs = os.path.abspath(root)
    if os.path.commonpath([root_abs, os.path.abspath(path)]) != root_abs:
        raise UnsafePathError(f"unsafe name {'/'.join(names)!r}: escapes {root}")
    return path
