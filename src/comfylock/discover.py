"""Find and read workflow files named on the command line (files or directories).

In a directory every ``.json``/``.png``/``.webp`` is considered (recursively, sorted) and
files that hold no workflow are listed as skipped; broken files are errors. A file named
explicitly that is broken or holds no workflow is an error (exit 2).
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from .constants import WORKFLOW_SUFFIXES
from .errors import InputError, NotAWorkflowError, WorkflowError
from .structs import WorkflowInfo

__all__ = ["ReadResult", "ReadWorkflow", "iter_workflow_files", "read_workflows"]

SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv"})


class ReadWorkflow(msgspec.Struct, frozen=True):
    path: str
    info: WorkflowInfo


class ReadResult(msgspec.Struct, frozen=True):
    workflows: tuple[ReadWorkflow, ...]
    skipped: tuple[tuple[str, str], ...]  # (path, why)
    errors: tuple[WorkflowError, ...]


def iter_workflow_files(directory: Path) -> list[Path]:
    """Candidate workflow files under a directory, sorted for deterministic output."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.lower().endswith(WORKFLOW_SUFFIXES) and name != "comfy.lock":
                found.append(Path(dirpath) / name)
    return found


def _read_one(path: Path, shown: str) -> WorkflowInfo:
    from .workflow import parse

    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise WorkflowError(shown, "is a directory") from None
    except OSError as exc:
        raise WorkflowError(shown, f"cannot read: {exc.strerror or exc}") from None
    return parse(data, name=shown)


def read_workflows(paths: list[str] | tuple[str, ...]) -> ReadResult:
    """Read every workflow the paths name. Raises for a missing path or an empty directory."""
    workflows: list[ReadWorkflow] = []
    skipped: list[tuple[str, str]] = []
    errors: list[WorkflowError] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{raw}: no such file or directory")
        if path.is_dir():
            files = iter_workflow_files(path)
            before = len(workflows)
            for file in files:
                shown = str(file)
                try:
                    workflows.append(ReadWorkflow(shown, _read_one(file, shown)))
                except NotAWorkflowError as exc:
                    skipped.append((shown, exc.problem))
                except WorkflowError as exc:
                    errors.append(exc)
            if len(workflows) == before and not errors:
                raise InputError(
                    f"{raw}: no workflows found (looked at {len(files)} .json/.png/.webp files)"
                )
        else:
            workflows.append(ReadWorkflow(raw, _read_one(path, raw)))
    return ReadResult(tuple(workflows), tuple(skipped), tuple(errors))
