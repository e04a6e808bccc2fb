"""What the workflow reader finds: the references a workflow makes, as plain values.

These are the reader's own output types; later stages (the lock, resolution, sync, reports)
import them from here. Pure: no I/O.
"""

from __future__ import annotations

import re

import msgspec

__all__ = [
    "ModelRef",
    "NodeUse",
    "REPO_ID_PATTERN",
    "RepoRef",
    "WorkflowInfo",
    "WorkflowInput",
    "url_placeholder",
]


# A hub repo id: "owner/name", each part as the hub allows it (no "..", at most 96 chars).
REPO_ID_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$"


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
    # the folders the node lists files of, when it lists several (``folder`` None): the one of
    # them that holds the file on the resolving machine is its place
    folders: tuple[str, ...] = ()

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
    # where the facts about its inputs come from: "table" (the shipped knowledge table),
    # "installed pack at <commit>" (read from the pack in custom_nodes/), "comfy.lock"
    knowledge: str | None = None


class RepoRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A Hugging Face repo a download-and-load node fetches whole at run time: the repo id
    from its widget and ``dir``, where the node puts it (relative to the ComfyUI root)."""

    repo: str  # "owner/name", checked strictly
    dir: str  # "models/CogVideo/CogVideoX-5b": '/' separators, no '..'
    node_id: str
    node_type: str
    input: str
    active: bool = True
    allow: tuple[str, ...] = ()  # the node's allow-patterns: only these files (none: all)


class WorkflowInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the reader extracted from one workflow file."""

    format: str  # "ui" | "api"
    models: tuple[ModelRef, ...] = ()
    nodes: tuple[NodeUse, ...] = ()
    problems: tuple[str, ...] = ()
    repos: tuple[RepoRef, ...] = ()


_CIVITAI_DOWNLOAD = re.compile(r"/api/download/models/(\d+)")


def url_placeholder(path: str) -> str | None:
    """The reference name of a Civitai download URL's path (``/api/download/models/142421``
    names no file): ``civitai-142421``, completed by resolve with the file's real name."""
    match = _CIVITAI_DOWNLOAD.search(path)
    return f"civitai-{match.group(1)}" if match else None


class WorkflowInput(msgspec.Struct, frozen=True):
    path: str  # relative to the lock's directory, '/' separators
    info: WorkflowInfo
