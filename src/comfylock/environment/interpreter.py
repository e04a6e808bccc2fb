"""Which Python is ComfyUI's: the interpreter ``sync`` installs into and ``doctor`` shows.

In order (SPEC §9): ``--python PATH``, else ``COMFYLOCK_PYTHON``, else ``<root>/.venv``,
``<root>/venv``, else an active ``VIRTUAL_ENV``. A Windows portable install keeps its own
interpreter beside the root (``ComfyUI_windows_portable/python_embeded/python.exe`` next
to ``ComfyUI/``): it is recognised and reported as such, wherever comfylock runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

__all__ = ["ENV_PYTHON", "Interpreter", "find_interpreter", "venv_python"]

ENV_PYTHON = "COMFYLOCK_PYTHON"
EMBEDDED = "python_embeded"  # sic: the portable build's folder name


class Interpreter(msgspec.Struct, frozen=True, kw_only=True):
    """The interpreter found (``path``; it may not exist yet) and how it was chosen."""

    path: str
    via: str  # "--python" | "COMFYLOCK_PYTHON" | "<root>/.venv" | "<root>/venv" | "VIRTUAL_ENV" | "python_embeded"
    exists: bool
    portable: bool = False  # a Windows portable install's python_embeded


def venv_python(venv: Path) -> Path:
    """The interpreter inside a virtual environment, on this OS's layout."""
    windows = venv / "Scripts" / "python.exe"
    return windows if os.name == "nt" or windows.exists() else venv / "bin" / "python"


def _as_python(path: Path) -> Path:
    """A path given as a venv folder or as the interpreter itself."""
    return venv_python(path) if path.is_dir() else path


def find_interpreter(
    root: Path | None, given: str | None = None, env: Mapping[str, str] = os.environ
) -> Interpreter | None:
    """ComfyUI's interpreter, or None when nothing names one. ``given``: ``--python``."""
    for value, via in ((given, "--python"), (env.get(ENV_PYTHON), ENV_PYTHON)):
        if value:
            path = _as_python(Path(value).expanduser())
            return Interpreter(path=str(path), via=via, exists=path.exists())
    if root is not None:
        embedded = root.parent / EMBEDDED / "python.exe"
        if embedded.exists():
            return Interpreter(path=str(embedded), via=EMBEDDED, exists=True, portable=True)
        for name in (".venv", "venv"):
            if (root / name).is_dir():
                path = venv_python(root / name)
                return Interpreter(path=str(path), via=f"<root>/{name}", exists=path.exists())
    if env.get("VIRTUAL_ENV"):
        path = venv_python(Path(env["VIRTUAL_ENV"]))
        return Interpreter(path=str(path), via="VIRTUAL_ENV", exists=path.exists())
    return None
