"""Typed shapes of comfylock's data: what the reader finds, and the lock and config files.

Every on-disk shape is a frozen msgspec Struct decoded strictly (unknown keys are errors),
with kebab-case keys as SPEC §3 writes them. New fields always get defaults so older locks
still decode.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ..constants import MAX_MODEL_SIZE

__all__ = [
    "Base",
    "CivitaiSource",
    "Commit",
    "Config",
    "HuggingFaceSource",
    "Lock",
    "LockedModel",
    "LockedNode",
    "LockedSnapshot",
    "LockedWorkflow",
    "REPO_ID_PATTERN",
    "MatchedBy",
    "ModelRef",
    "NodeUse",
    "RemoteConfig",
    "RepoRef",
    "Sha256",
    "SnapshotFile",
    "Source",
    "Unresolved",
    "UrlSource",
    "WorkflowInfo",
    "snapshot_models",
]

Sha256 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
Commit = Annotated[str, Meta(pattern="^[0-9a-f]{40}$")]
Digest = Annotated[str, Meta(pattern="^sha256:[0-9a-f]{64}$")]
MatchedBy = Literal["hash", "url", "name", "pin"]
# A hub repo id: "owner/name", each part as the hub allows it (no "..", at most 96 chars).
REPO_ID_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$"
RepoId = Annotated[str, Meta(pattern=REPO_ID_PATTERN)]
ModelSize = Annotated[int, Meta(ge=0, le=MAX_MODEL_SIZE)]  # bytes, at most 1 PiB


class Base(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    rename="kebab",
    omit_defaults=True,
):
    """Base of every file-backed struct: frozen, strict, kebab-case keys."""


# --- what the workflow reader finds ---------------------------------------------------------


class ModelRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One model file a workflow names. ``folder`` is None when it could not be inferred."""

    folder: str | None
    name: str
    node_id: str
    node_type: str
    input: str
    active: bool = True
    url: str | None = None
    sha256: str | None = None
    directory: str | None = None
    inferred: bool = False
    invalid: str | None = None  # why the name is unsafe (absolute, '..'); never joined to a path
    reason: str | None = None  # why ``folder`` is None ("cannot tell: unknown custom node X")

    @property
    def key(self) -> str:
        return f"{self.folder}/{self.name}"


class NodeUse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One node class a workflow uses, with the pack hints its properties carry."""

    class_type: str
    node_id: str
    core: bool
    cnr_id: str | None = None
    aux_id: str | None = None
    ver: str | None = None
    active: bool = True
    packs: tuple[str, ...] = ()  # packs named offline for the class (several: ambiguous)
    packs_via: str | None = None  # "table" (the packs' code) | "map" (the shipped class map)


class RepoRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A Hugging Face repo a download-and-load node fetches whole at run time: the repo id
    from its widget and ``dir``, where the node puts it (relative to the ComfyUI root)."""

    repo: str  # "owner/name", checked strictly
    dir: str  # "models/CogVideo/CogVideoX-5b": '/' separators, no '..'
    node_id: str
    node_type: str
    input: str
    active: bool = True


class WorkflowInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the reader extracted from one workflow file."""

    format: str  # "ui" | "api"
    models: tuple[ModelRef, ...] = ()
    nodes: tuple[NodeUse, ...] = ()
    problems: tuple[str, ...] = ()
    repos: tuple[RepoRef, ...] = ()


# --- comfy.lock ---------------------------------------------------------------------------


class CivitaiSource(Base, tag="civitai", tag_field="type", kw_only=True):
    matched_by: MatchedBy | None = None
    model_id: int | None = None
    version_id: int | None = None
    file_id: int | None = None
    url: str | None = None


class HuggingFaceSource(Base, tag="huggingface", tag_field="type", kw_only=True):
    matched_by: MatchedBy | None = None
    repo: str
    revision: Commit
    path: str
    repo_type: Literal["model", "dataset", "space"] | None = None


class UrlSource(Base, tag="url", tag_field="type", kw_only=True):
    matched_by: MatchedBy | None = None
    url: str


Source = CivitaiSource | HuggingFaceSource | UrlSource


class LockedModel(Base):
    folder: str
    name: str
    size: ModelSize
    sha256: Sha256
    blake3: Sha256 | None = None
    source: tuple[Source, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.folder}/{self.name}"


class SnapshotFile(Base):
    """One file of a repo snapshot: its path in the repo, size and sha256 (of the bytes)."""

    path: str
    size: ModelSize
    sha256: Sha256


class LockedSnapshot(Base):
    """A whole Hugging Face repo pinned to a commit and placed at ``dir`` (relative to the
    ComfyUI root), every file through the store like any model."""

    repo: RepoId
    revision: Commit
    dir: str
    repo_type: Literal["model", "dataset", "space"] | None = None
    file: tuple[SnapshotFile, ...] = ()

    def models(self) -> tuple[LockedModel, ...]:
        """Each file as a model to place: folder = ``dir``, name = the file's path, one
        Hugging Face source at the pinned commit (so sync fetches, verifies and links it
        like any other blob)."""
        return tuple(
            LockedModel(
                folder=self.dir,
                name=f.path,
                size=f.size,
                sha256=f.sha256,
                source=(
                    HuggingFaceSource(
                        repo=self.repo,
                        revision=self.revision,
                        path=f.path,
                        repo_type=self.repo_type,
                    ),
                ),
            )
            for f in self.file
        )


class LockedWorkflow(Base):
    path: str
    digest: Digest
    models: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    snapshots: tuple[str, ...] = ()  # the ``dir`` of each snapshot it needs


class LockedNode(Base):
    id: str
    repo: str
    commit: Commit
    version: str | None = None
    classes: tuple[str, ...] = ()


class Unresolved(Base):
    folder: str
    name: str
    reason: str


class Lock(Base):
    version: int
    workflow: tuple[LockedWorkflow, ...] = ()
    model: tuple[LockedModel, ...] = ()
    node: tuple[LockedNode, ...] = ()
    snapshot: tuple[LockedSnapshot, ...] = ()
    unresolved: tuple[Unresolved, ...] = ()


def snapshot_models(lock: Lock) -> tuple[LockedModel, ...]:
    """Every file of every snapshot in the lock, as models placed under the ComfyUI root."""
    return tuple(m for s in lock.snapshot for m in s.models())


# --- comfylock.toml -----------------------------------------------------------------------


class RemoteConfig(Base):
    """One ``[[remote]]``: a team store (SPEC §8). Credentials come from the environment."""

    name: Annotated[str, Meta(pattern="^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    url: str  # s3://BUCKET/PREFIX or https://HOST/PREFIX (a read-only mirror)
    push: bool = False


class Config(Base):
    """The user-edited ``comfylock.toml``. Never holds a secret."""

    workflows: tuple[str, ...] = ()
    sources: dict[str, str] = {}
    nodes: dict[str, str] = {}
    allow_http: tuple[str, ...] = ()
    remote: tuple[RemoteConfig, ...] = ()
