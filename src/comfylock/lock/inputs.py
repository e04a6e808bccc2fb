"""What a workflow contributes to a lock: its lockable references, its custom classes, their
digest (``[[workflow]] digest``) and the lock keys a reference may be pinned under.

Shared by resolution, staleness and ``why``; pure.
"""

from __future__ import annotations

import hashlib
import re

import msgspec

from .model import CivitaiSource, LockedModel, ModelRef, NodeUse, RepoRef, WorkflowInfo

__all__ = [
    "WorkflowInput",
    "custom_classes",
    "find_locked",
    "inputs_digest",
    "lock_keys",
    "lockable_refs",
    "placeholder_version",
    "url_placeholder",
    "workflow_digest",
]

EMBEDDING_EXTENSIONS = (".safetensors", ".pt", ".bin")


def lock_keys(folder: str | None, name: str) -> list[str]:
    """Lock keys a reference may be pinned under: ``embedding:foo`` names a file such as
    ``embeddings/foo.safetensors`` (ComfyUI adds the extension; the lock pins the real file)."""
    keys = [f"{folder}/{name}"]
    if folder == "embeddings" and not name.lower().endswith(EMBEDDING_EXTENSIONS):
        keys += [f"{folder}/{name}{ext}" for ext in EMBEDDING_EXTENSIONS]
    return keys


_CIVITAI_DOWNLOAD = re.compile(r"/api/download/models/(\d+)")
_PLACEHOLDER = re.compile(r"^civitai-(\d+)$")


def url_placeholder(path: str) -> str | None:
    """The reference name of a Civitai download URL's path (``/api/download/models/142421``
    names no file): ``civitai-142421``, completed by resolve with the file's real name."""
    match = _CIVITAI_DOWNLOAD.search(path)
    return f"civitai-{match.group(1)}" if match else None


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
    version = placeholder_version(ref)
    if version is None:
        return None
    for model in models.values():
        if model.folder == ref.folder and any(
            isinstance(s, CivitaiSource) and s.version_id == version for s in model.source
        ):
            return model
    return None


class WorkflowInput(msgspec.Struct, frozen=True):
    path: str  # relative to the lock's directory, '/' separators
    info: WorkflowInfo


def custom_classes(info: WorkflowInfo) -> list[NodeUse]:
    """One NodeUse per custom (non-core) class, the first occurrence carrying the hints."""
    out: dict[str, NodeUse] = {}
    for node in info.nodes:
        if not node.core:
            previous = out.get(node.class_type)
            if previous is None or (
                not previous.cnr_id and not previous.aux_id and (node.cnr_id or node.aux_id)
            ):
                out[node.class_type] = node
    return [out[k] for k in sorted(out)]


def lockable_refs(info: WorkflowInfo) -> list[ModelRef]:
    """References that belong in a lock: valid names (muted nodes included)."""
    return [r for r in info.models if not r.invalid]


def workflow_digest(info: WorkflowInfo) -> str:
    return inputs_digest(
        lockable_refs(info), [n.class_type for n in custom_classes(info)], info.repos
    )


def inputs_digest(
    refs: list[ModelRef] | tuple[ModelRef, ...],
    nodes: list[str] | tuple[str, ...] = (),
    repos: tuple[RepoRef, ...] = (),
) -> str:
    """Digest of a workflow's extracted references: changes only when what it needs changes.
    (Repo keys are added only when there are repos, so older digests stay valid.)"""
    keys = sorted({f"model\t{r.folder}\t{r.name}" for r in refs if not r.invalid})
    keys += sorted({f"node\t{n}" for n in nodes})
    keys += sorted({f"repo\t{r.dir}\t{r.repo}" for r in repos})
    return "sha256:" + hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()
