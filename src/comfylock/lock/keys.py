"""The lock keys a workflow's reference may be pinned under, and the locked model for one.

Shared by resolution, staleness and ``why``; pure.
"""

from __future__ import annotations

import re

from ..workflows.refs import ModelRef
from .structs import CivitaiSource, LockedModel

__all__ = [
    "find_locked",
    "lock_keys",
    "placeholder_version",
]

EMBEDDING_EXTENSIONS = (".safetensors", ".pt", ".bin")


def lock_keys(folder: str | None, name: str) -> list[str]:
    """Lock keys a reference may be pinned under: ``embedding:foo`` names a file such as
    ``embeddings/foo.safetensors`` (ComfyUI adds the extension; the lock pins the real file)."""
    keys = [f"{folder}/{name}"]
    if folder == "embeddings" and not name.lower().endswith(EMBEDDING_EXTENSIONS):
        keys += [f"{folder}/{name}{ext}" for ext in EMBEDDING_EXTENSIONS]
    return keys


_PLACEHOLDER = re.compile(r"^civitai-(\d+)$")


def placeholder_version(ref: ModelRef) -> int | None:
    """The Civitai version id a URL reference's placeholder name stands for, or None."""
    match = _PLACEHOLDER.match(ref.name) if ref.url else None
    return int(match.group(1)) if match else None


def find_locked(ref: ModelRef, models: dict[str, LockedModel]) -> LockedModel | None:
    """The lock's model for a reference: by key (``lock_keys``), or, for a Civitai URL
    placeholder, the model of that folder pinned to that Civitai version."""
    for key in lock_keys(ref.folder, ref.name):
        if key in models:
            return models[key]
    if ref.folder is None and ref.folders:  # pinned in the one listed folder that held it
        held = [models[k] for f in ref.folders for k in lock_keys(f, ref.name) if k in models]
        return held[0] if len(held) == 1 else None
    version = placeholder_version(ref)
    if version is None:
        return None
    for model in models.values():
        if model.folder == ref.folder and any(
            isinstance(s, CivitaiSource) and s.version_id == version for s in model.source
        ):
            return model
    return None
