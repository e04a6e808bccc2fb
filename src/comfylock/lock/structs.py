"""The lock's shapes: ``comfy.lock`` as typed values (SPEC §3).

Every on-disk shape is a frozen msgspec Struct decoded strictly (unknown keys are errors),
with kebab-case keys as SPEC §3 writes them. New fields always get defaults so older locks
still decode.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ..basics.fileio import Base
from ..constants import MAX_MODEL_SIZE
from ..workflows.refs import REPO_ID_PATTERN

__all__ = [
    "DEFAULT_COMFYUI_REPO",
    "CivitaiSource",
    "Commit",
    "FileSource",
    "HuggingFaceSource",
    "Lock",
    "LockedClass",
    "LockedModel",
    "LockedComfyUI",
    "LockedNode",
    "LockedPython",
    "LockedSnapshot",
    "LockedWorkflow",
    "MatchedBy",
    "PythonRequirement",
    "PythonTarget",
    "Sha256",
    "SnapshotFile",
    "Source",
    "Unresolved",
    "UrlSource",
    "snapshot_models",
]

Sha256 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
Commit = Annotated[str, Meta(pattern="^[0-9a-f]{40}$")]
Digest = Annotated[str, Meta(pattern="^sha256:[0-9a-f]{64}$")]
MatchedBy = Literal["hash", "url", "name", "pin"]
RepoId = Annotated[str, Meta(pattern=REPO_ID_PATTERN)]
ModelSize = Annotated[int, Meta(ge=0, le=MAX_MODEL_SIZE)]  # bytes, at most 1 PiB


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


class FileSource(Base, tag="file", tag_field="type", kw_only=True):
    """A file of the project or of a ComfyUI root, for input files (SPEC §10): ``path`` is
    relative to the lock's directory (``root = "project"``: a file committed beside the
    workflow) or to the ComfyUI root (``root = "comfyui"``: ``input/photo.png`` there). Only
    a machine that has the file can read it; others get the bytes from a team remote."""

    matched_by: MatchedBy | None = None
    path: str
    root: Literal["project", "comfyui"] = "project"


Source = CivitaiSource | HuggingFaceSource | UrlSource | FileSource


class LockedModel(Base):
    """A pinned file: its bytes, where they come from, and what the source publishes about
    them (licence and permissions, base model, trained words; SPEC §10), when known."""

    folder: str
    name: str
    size: ModelSize
    sha256: Sha256
    blake3: Sha256 | None = None
    license: str | None = None  # Hugging Face card ``license`` (``license_name`` for "other")
    gated: Literal["auto", "manual"] | None = None  # a Hugging Face repo's access gate
    allow_commercial_use: tuple[str, ...] | None = None  # Civitai: "Image", "Rent", "Sell", …
    allow_derivatives: bool | None = None  # Civitai permission flags, as published
    allow_different_license: bool | None = None
    allow_no_credit: bool | None = None
    base_model: str | None = None  # "SDXL 1.0", "Flux.1 D", …
    trained_words: tuple[str, ...] = ()  # Civitai: the words a LoRA or embedding answers to
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
    allow: tuple[str, ...] = ()  # the node's allow-patterns: only files matching one (none: all)
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
    # an install.py or setup.py at that commit: code meant to run at install time, which
    # comfylock lists and never runs (SPEC §9)
    install_script: bool = False


DEFAULT_COMFYUI_REPO = "https://github.com/Comfy-Org/ComfyUI"


class LockedComfyUI(Base, kw_only=True):
    """``[comfyui]``: the ComfyUI core the workflows run on (SPEC §9)."""

    repo: str = DEFAULT_COMFYUI_REPO
    commit: Commit
    version: str | None = None  # ``comfyui_version.py`` at that commit
    matched_by: Literal["local", "ver", "pin"] | None = None


class PythonTarget(Base, kw_only=True):
    """One ``[[python.target]]``: a platform the team runs and its PEP 751 lock file."""

    name: Annotated[str, Meta(pattern="^[A-Za-z0-9][A-Za-z0-9_-]*$")]
    platform: str  # uv's --python-platform, e.g. x86_64-manylinux_2_28
    # pylock.<name>.toml beside comfy.lock: a plain file name, never a path (untrusted)
    file: Annotated[str, Meta(pattern=r"^pylock\.[A-Za-z0-9][A-Za-z0-9_-]*\.toml$")]
    sha256: Sha256  # of that file
    torch_backend: str | None = None  # uv's --torch-backend (cpu, cu128, ...)
    indexes: tuple[str, ...] = ()  # extra indexes the packs' --extra-index-url lines named


class PythonRequirement(Base):
    """Where requirements came from: a node id (or ``comfyui``) and one of its files."""

    pack: str
    source: Literal["requirements.txt", "pyproject.toml"]
    specs: tuple[str, ...] = ()


class LockedPython(Base, kw_only=True):
    """``[python]``: the interpreter's major.minor, what the Python lock was made from
    (``inputs``: when it no longer matches, the Python lock is stale), the targets."""

    version: Annotated[str, Meta(pattern=r"^3\.[0-9]+$")]
    inputs: Digest
    target: tuple[PythonTarget, ...] = ()
    requirement: tuple[PythonRequirement, ...] = ()


class LockedClass(Base):
    """What an installed pack's code says about a custom node class the workflows use, when
    the shipped table does not hold that pack at that commit: recorded so that ``check`` and
    ``resolve`` on a machine without the pack read the workflows the same way. ``facts`` is
    the knowledge table's entry for the class (inputs, downloads, fetches, widgets, dynamic)
    as JSON."""

    name: str
    pack: str
    read_from: str  # "installed pack at <commit>"
    facts: str


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
    comfyui: LockedComfyUI | None = None
    python: LockedPython | None = None
    classes: tuple[LockedClass, ...] = msgspec.field(default=(), name="class")


def snapshot_models(lock: Lock) -> tuple[LockedModel, ...]:
    """Every file of every snapshot in the lock, as models placed under the ComfyUI root."""
    return tuple(m for s in lock.snapshot for m in s.models())
