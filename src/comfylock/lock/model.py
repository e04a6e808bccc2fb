"""Typed shapes of comfylock's data: what the reader finds, and the lock and config files.

Every on-disk shape is a frozen msgspec Struct decoded strictly (unknown keys are errors),
with kebab-case keys as SPEC §3 writes them. New fields always get defaults so older locks
still decode.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

__all__ = [
    "Base",
    "CivitaiSource",
    "Commit",
    "Config",
    "HuggingFaceSource",
    "Lock",
    "LockedModel",
    "LockedNode",
    "LockedWorkflow",
    "MatchedBy",
    "ModelRef",
    "NodeUse",
    "Sha256",
    "Source",
    "Unresolved",
    "UrlSource",
    "WorkflowInfo",
]

Sha256 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
Commit = Annotated[str, Meta(pattern="^[0-9a-f]{40}$")]
Digest = Annotated[str, Meta(pattern="^sha256:[0-9a-f]{64}$")]
MatchedBy = Literal["hash", "url", "name", "pin"]
NonNegative = Annotated[int, Meta(ge=0)]


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


class WorkflowInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the reader extracted from one workflow file."""

    format: str  # "ui" | "api"
    models: tuple[ModelRef, ...] = ()
    nodes: tuple[NodeUse, ...] = ()
    problems: tuple[str, ...] = ()


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
    size: NonNegative
    sha256: Sha256
    blake3: Sha256 | None = None
    source: tuple[Source, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.folder}/{self.name}"


class LockedWorkflow(Base):
    path: str
    digest: Digest
    models: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()


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
    unresolved: tuple[Unresolved, ...] = ()


# --- comfylock.toml -----------------------------------------------------------------------


class Config(Base):
    """The user-edited ``comfylock.toml``. Never holds a secret."""

    workflows: tuple[str, ...] = ()
    sources: dict[str, str] = {}
    nodes: dict[str, str] = {}
    allow_http: tuple[str, ...] = ()
