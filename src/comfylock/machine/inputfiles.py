"""Input files on this machine (SPEC §10): where the images, masks, audio and video a
workflow loads from ComfyUI's ``input/`` are here, and where a lock's file source points.

An input file has two homes a lock can name (``FileSource``): the project (a file committed
beside the workflow, ``root = "project"``, its path relative to the lock's directory) and a
ComfyUI root's ``input/`` folder (``root = "comfyui"``). Resolution looks beside the workflow
first, then in the root's ``input/``; sync and push read a source's file when this machine
has it. A project file is only taken when it is really inside the project, symlinks
resolved: a committed symlink to ``~/.ssh/id_rsa`` named like an image must never be pinned
and pushed to a team remote.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UnsafePathError
from ..lock.structs import FileSource, LockedModel
from ..pathsafe import safe_join
from ..workflows.tables import INPUT_FOLDER
from .hashcache import cached_hash

__all__ = ["candidates", "find_copies", "source_path"]


def candidates(
    project_dir: Path, comfyui_root: Path | None, workflow: str, name: str
) -> list[tuple[FileSource, Path]]:
    """Each place an input file ``name`` of ``workflow`` may be, in the order resolution asks:
    beside the workflow, in an ``input/`` folder beside it, in the ComfyUI root's ``input/``."""
    parent = workflow.rpartition("/")[0]
    rels = [f"{parent}/{name}" if parent else name]
    rels.append(f"{parent}/{INPUT_FOLDER}/{name}" if parent else f"{INPUT_FOLDER}/{name}")
    sources = [FileSource(path=rel) for rel in rels]
    if comfyui_root is not None:
        sources.append(FileSource(path=f"{INPUT_FOLDER}/{name}", root="comfyui"))
    found = []
    for source in sources:
        path = source_path(source, project_dir, comfyui_root)
        if path is not None:
            found.append((source, path))
    return found


def source_path(source: FileSource, project_dir: Path, comfyui_root: Path | None) -> Path | None:
    """The file a source names on this machine, or None (no ComfyUI root for a ``comfyui``
    source, or a path that leaves its root)."""
    if source.root == "project":
        return _file_at(project_dir, source.path, contained=True)
    return None if comfyui_root is None else _file_at(comfyui_root, source.path, contained=False)


def _file_at(base: Path, rel: str, *, contained: bool) -> Path | None:
    """``base/rel`` when it is a file; with ``contained``, only when its real path (symlinks
    resolved) stays inside ``base``. A ComfyUI root's ``input/`` is the user's own and may
    hold links (those sync placed point into the store); a project comes from a commit."""
    try:
        path = safe_join(base, *rel.split("/"))
    except UnsafePathError:
        return None
    real = os.path.realpath(path)
    if contained and not real.startswith(os.path.realpath(base).rstrip(os.sep) + os.sep):
        return None
    return path if os.path.isfile(real) else None


def find_copies(
    models: tuple[LockedModel, ...] | list[LockedModel],
    wanted: dict[str, int],
    project_dir: Path,
    comfyui_root: Path | None,
    hash_cache,
) -> dict[str, str]:
    """sha256 -> a file here that one of the models' file sources names and that holds
    those bytes now (size first, then the sha256, through the hash cache)."""
    found: dict[str, str] = {}
    for model in models:
        if model.sha256 not in wanted or model.sha256 in found:
            continue
        for source in model.source:
            if not isinstance(source, FileSource):
                continue
            path = source_path(source, project_dir, comfyui_root)
            if path is None or os.path.getsize(path) != wanted[model.sha256]:
                continue
            if cached_hash(path, hash_cache).sha256 == model.sha256:
                found[model.sha256] = str(path)
                break
    return found
