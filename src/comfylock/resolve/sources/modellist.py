"""A known-models index in ComfyUI-Manager's ``model-list.json`` format.

Why: many workflows name well-known files (``sd_xl_base_1.0.safetensors``) without a URL;
Manager's curated list says where they come from. The list is fetched from
``COMFYLOCK_MODEL_LIST_URL`` (unset: an empty index and no request; a local path or
``file://`` URL is read directly) and cached with the metadata TTL. Entries carry no hashes: a hit gives a URL (a Hugging Face URL becomes a
pinnable ``HfRef``), never a pin by itself.

Folder rules: ``save_path`` is relative to ``models/`` (``checkpoints/SDXL`` = folder
``checkpoints``, subdir ``SDXL``); a directory ComfyUI maps to a folder (``unet``, ``clip``,
``t2i_adapter``) becomes that folder; ``default`` derives the folder from ``type`` (our own
table below, from Manager's documented behaviour); ``custom_nodes/...`` entries and whole-repo
snapshots (``filename: "<huggingface>"``) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import msgspec

from ...net.endpoints import Endpoints
from ...net.http import TTL_METADATA, convert, fetch_document
from ...net.send import Retry
from .huggingface import HfRef, parse_hf_url

if TYPE_CHECKING:
    import httpx

    from ...net.httpcache import HttpCache

__all__ = [
    "TYPE_FOLDERS",
    "ModelIndex",
    "ModelListEntry",
    "build_index",
    "load_model_list",
    "parse_entry",
]

# Manager model ``type`` (lower-cased) -> ComfyUI folder, used when save_path is "default".
TYPE_FOLDERS: dict[str, str] = {
    "checkpoint": "checkpoints",
    "checkpoints": "checkpoints",
    "unclip": "checkpoints",
    "clip": "text_encoders",
    "text_encoders": "text_encoders",
    "vae": "vae",
    "lora": "loras",
    "t2i-adapter": "controlnet",
    "t2i-style": "style_models",
    "controlnet": "controlnet",
    "clip_vision": "clip_vision",
    "gligen": "gligen",
    "upscale": "upscale_models",
    "embedding": "embeddings",
    "embeddings": "embeddings",
    "unet": "diffusion_models",
    "diffusion_model": "diffusion_models",
    "taesd": "vae_approx",
}


class _RawEntry(msgspec.Struct, frozen=True):
    name: str = ""
    type: str = ""
    base: str = ""
    save_path: str = "default"
    description: str = ""
    reference: str = ""
    filename: str = ""
    url: str = ""
    size: str = ""


class _RawList(msgspec.Struct, frozen=True):
    models: list[_RawEntry] = []


class ModelListEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One known model: where it goes (folder + subdir + filename) and where it comes from."""

    name: str
    type: str
    base: str
    folder: str
    subdir: str  # "" or e.g. "SDXL"
    filename: str
    url: str
    size_text: str = ""  # Manager's human string ("4.71MB"); not a byte count
    reference: str = ""
    hf: HfRef | None = None

    @property
    def relname(self) -> str:
        """The name a workflow would use for it inside ``folder``."""
        return f"{self.subdir}/{self.filename}" if self.subdir else self.filename


@lru_cache(maxsize=1)
def _dir_folders() -> dict[str, str]:
    from ...workflows.tables import default_dirs, folder_names

    mapping: dict[str, str] = {}
    for folder in sorted(folder_names()):
        for directory in default_dirs(folder):
            mapping.setdefault(directory, folder)
    return mapping


def _folder_of(save_path: str, type_: str) -> tuple[str, str] | None:
    save_path = save_path.strip().strip("/").replace("\\", "/")
    if save_path == "default" or not save_path:
        folder = TYPE_FOLDERS.get(type_.strip().lower())
        return (folder, "") if folder else None
    head, _, sub = save_path.partition("/")
    if head == "custom_nodes" or ".." in save_path.split("/"):
        return None
    return _dir_folders().get(head, head), sub


def parse_entry(raw: _RawEntry) -> ModelListEntry | None:
    """One Manager entry, or None when it is not a single file under models/."""
    if not raw.filename or raw.filename == "<huggingface>" or "/" in raw.filename or not raw.url:
        return None
    placed = _folder_of(raw.save_path, raw.type)
    if placed is None:
        return None
    folder, subdir = placed
    return ModelListEntry(
        name=raw.name,
        type=raw.type,
        base=raw.base,
        folder=folder,
        subdir=subdir,
        filename=raw.filename,
        url=raw.url,
        size_text=raw.size,
        reference=raw.reference,
        hf=parse_hf_url(raw.url),
    )


class ModelIndex:
    """Known models by (folder, file name)."""

    def __init__(self, entries: Iterable[ModelListEntry] = ()) -> None:
        self.entries = tuple(entries)
        self._by_name: dict[tuple[str, str], list[ModelListEntry]] = {}
        for entry in self.entries:
            self._by_name.setdefault((entry.folder, entry.filename), []).append(entry)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"ModelIndex({len(self.entries)} entries)"

    def lookup(self, folder: str, name: str) -> list[ModelListEntry]:
        """Entries for a reference: same folder (legacy names mapped) and same file name.

        Entries whose ``relname`` equals ``name`` exactly (subdir included) come first.
        """
        from ...workflows.tables import canonical_folder

        name = name.replace("\\", "/")
        found = self._by_name.get((canonical_folder(folder), PurePosixPath(name).name), [])
        return sorted(found, key=lambda e: e.relname != name)


def build_index(data: object) -> ModelIndex:
    raw = convert(data, _RawList, "the model list")
    return ModelIndex(e for e in map(parse_entry, raw.models) if e is not None)


def load_model_list(
    client: httpx.Client | None,
    endpoints: Endpoints | None = None,
    cache: HttpCache | None = None,
    *,
    retry: Retry | None = None,
    refresh: bool = False,
) -> ModelIndex:
    """The configured list, cached; an empty index (no request) when none is configured."""
    endpoints = endpoints or Endpoints.from_env()
    if not endpoints.model_list:
        return ModelIndex()
    data = fetch_document(
        client,
        endpoints.model_list,
        endpoints=endpoints,
        cache=cache,
        kind="model-list",
        ttl=TTL_METADATA,
        refresh=refresh,
        retry=retry,
    )
    return ModelIndex() if data is None else build_index(data)
