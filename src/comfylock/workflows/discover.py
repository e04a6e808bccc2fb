"""Find and read workflow files named on the command line (files or directories).

In a directory every ``.json``/``.png``/``.webp`` is considered (recursively, sorted) and
files that hold no workflow are listed as skipped; broken files are errors. A file named
explicitly that is broken or holds no workflow is an error (exit 2).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import msgspec

from ..constants import WORKFLOW_SUFFIXES
from ..errors import InputError, NotAWorkflowError, WorkflowError
from .refs import WorkflowInfo

__all__ = [
    "ReadResult",
    "ReadWorkflow",
    "WorkflowCache",
    "iter_workflow_files",
    "read_files",
    "read_workflows",
]

SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv"})


class ReadWorkflow(msgspec.Struct, frozen=True):
    path: str
    info: WorkflowInfo


class ReadResult(msgspec.Struct, frozen=True):
    workflows: tuple[ReadWorkflow, ...]
    skipped: tuple[tuple[str, str], ...]  # (path, why)
    errors: tuple[WorkflowError, ...]


# What a project's own workflows never live in (issue 19): installed node packs (their
# example workflows are theirs, not the project's), ComfyUI's models, outputs and inputs,
# and other tools' folders. Only for discovery of a project; a path given is read whole.
PROJECT_SKIP_DIRS = SKIP_DIRS | frozenset(
    {"custom_nodes", "venv", "env", "site-packages", "dist-packages", "build", "dist"}
)
COMFYUI_SKIP_DIRS = frozenset({"models", "output", "input", "temp"})


def _is_comfyui_root(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "custom_nodes")) or os.path.isfile(
        os.path.join(path, "main.py")
    )


def _is_tool_dir(path: str) -> bool:
    """A virtual environment by any name (it has pyvenv.cfg)."""
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def iter_workflow_files(directory: Path, *, project: bool = False) -> list[Path]:
    """Candidate workflow files under a directory, sorted for deterministic output.
    ``project``: discovering a project's workflows, so other tools' folders, installed node
    packs and a ComfyUI root's models/outputs/inputs are not looked in."""
    found: list[Path] = []
    skip = PROJECT_SKIP_DIRS if project else SKIP_DIRS
    for dirpath, dirnames, filenames in os.walk(directory):
        here = skip | (COMFYUI_SKIP_DIRS if project and _is_comfyui_root(dirpath) else set())
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in here
            and not d.startswith(".")
            and not (project and _is_tool_dir(os.path.join(dirpath, d)))
        )
        for name in sorted(filenames):
            if name.lower().endswith(WORKFLOW_SUFFIXES) and name != "comfy.lock":
                found.append(Path(os.path.join(dirpath, name)))
    return found


class _CacheEntry(msgspec.Struct, frozen=True, array_like=True):
    key: tuple[int, int, int, int]  # (size, mtime_ns, inode, device)
    info: WorkflowInfo


class WorkflowCache:
    """What each workflow file yielded, keyed by its stat, so `check` of an unchanged
    project parses nothing. One msgpack file; a stale or unreadable cache is just a miss."""

    def __init__(self, path: Path) -> None:
        from .. import __version__
        from .nodeknowledge import fingerprint

        self.path = path
        self.version = f"{__version__} {fingerprint()}"
        self.entries: dict[str, _CacheEntry] = {}
        self.dirty = False
        try:
            version, entries = msgspec.msgpack.decode(
                path.read_bytes(), type=tuple[str, dict[str, _CacheEntry]]
            )
            if version == self.version:
                self.entries = entries
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            pass

    @staticmethod
    def _key(st: os.stat_result) -> tuple[int, int, int, int]:
        return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)

    def get(self, path: Path) -> WorkflowInfo | None:
        name = os.path.abspath(path)
        entry = self.entries.get(name)
        if entry is None:
            return None
        try:
            return entry.info if entry.key == self._key(os.stat(name)) else None
        except OSError:
            return None

    def put(self, path: Path, st: os.stat_result, info: WorkflowInfo) -> None:
        self.entries[os.path.abspath(path)] = _CacheEntry(self._key(st), info)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        from ..basics.fileio import atomic_write_bytes

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, msgspec.msgpack.encode((self.version, self.entries)))
        except OSError:
            pass  # a cache that cannot be written only costs speed


def _read_one(path: Path, shown: str, cache: WorkflowCache | None = None) -> WorkflowInfo:
    if cache is not None:
        hit = cache.get(path)
        if hit is not None:
            return hit
    from .reader import parse

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            # NOTE: reading a FIFO blocks forever and /dev/zero never ends
            raise NotAWorkflowError(shown, "not a regular file (a pipe, socket or device)")
        data = path.read_bytes()
    except IsADirectoryError:
        raise WorkflowError(shown, "is a directory") from None
    except OSError as exc:
        raise WorkflowError(shown, f"cannot read: {exc.strerror or exc}") from None
    info = parse(data, name=shown)
    if cache is not None and st.st_size == len(data):
        cache.put(path, st, info)
    return info


def read_files(files: list[Path], cache: WorkflowCache | None = None) -> ReadResult:
    """Read candidate files as a directory walk does: non-workflows are skipped, broken
    files are errors, nothing raises."""
    workflows: list[ReadWorkflow] = []
    skipped: list[tuple[str, str]] = []
    errors: list[WorkflowError] = []
    for file in files:
        shown = str(file)
        try:
            workflows.append(ReadWorkflow(shown, _read_one(file, shown, cache)))
        except NotAWorkflowError as exc:
            skipped.append((shown, exc.problem))
        except WorkflowError as exc:
            errors.append(exc)
    if cache is not None:
        cache.save()
    return ReadResult(tuple(workflows), tuple(skipped), tuple(errors))


def read_workflows(
    paths: list[str] | tuple[str, ...], cache: WorkflowCache | None = None
) -> ReadResult:
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
            found = read_files(files, cache)
            workflows += found.workflows
            skipped += found.skipped
            errors += found.errors
            if not found.workflows and not found.errors:
                raise InputError(
                    f"{raw}: no workflows found (looked at {len(files)} .json/.png/.webp files)"
                )
        else:
            workflows.append(ReadWorkflow(raw, _read_one(path, raw, cache)))
    if cache is not None:
        cache.save()
    return ReadResult(tuple(workflows), tuple(skipped), tuple(errors))
