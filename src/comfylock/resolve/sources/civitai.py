"""Civitai: find a model file by its sha256 or by its exact file name, and name it canonically.

Why this shape: resolve needs a *source* (model/version/file ids and the public download URL)
plus the hashes Civitai publishes, never the mirror's host. The API's JSON is parsed leniently
(``strict=False``: counts arrive as strings in some answers, ``tags`` as strings or objects,
``primary`` is absent rather than false on non-primary files, archived versions have
``files: []``); only the fields we use are declared.

Lookups return ``None`` (or ``[]``) when Civitai says 404: absence is an answer.
Exact-name matching is **case-sensitive** on the basename: ComfyUI names files as the
filesystem does (case-sensitive on Linux), and a case-only near match is a different name.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import msgspec

from ...lock.structs import CivitaiSource, MatchedBy
from ...net.http import TTL_METADATA, TTL_SEARCH, ServiceClient, convert

if TYPE_CHECKING:
    pass

__all__ = [
    "CANONICAL_HOST",
    "FOLDER_TYPES",
    "CivitaiClient",
    "CivitaiFile",
    "CivitaiHit",
    "CivitaiModel",
    "CivitaiVersion",
    "download_url",
    "hits_from_model",
    "hits_from_version",
    "parse_model",
    "parse_version",
]

CANONICAL_HOST = "https://civitai.com"
SEARCH_LIMIT = 20

# ComfyUI folder -> Civitai ModelType values to search (several where Civitai splits a kind).
FOLDER_TYPES: dict[str, tuple[str, ...]] = {
    "checkpoints": ("Checkpoint",),
    "loras": ("LORA", "LoCon", "DoRA"),
    "embeddings": ("TextualInversion",),
    "hypernetworks": ("Hypernetwork",),
    "vae": ("VAE",),
    "controlnet": ("Controlnet",),
    "upscale_models": ("Upscaler",),
    "text_encoders": ("TextEncoder", "CLIP"),
    "clip": ("TextEncoder", "CLIP"),
    "diffusion_models": ("UNet", "Checkpoint"),
    "unet": ("UNet", "Checkpoint"),
    "clip_vision": ("CLIPVision",),
    "animatediff_models": ("MotionModule",),
}


# --- API shapes (only what we read) ---------------------------------------------------------


class _FileMeta(msgspec.Struct, frozen=True):
    format: str | None = None
    size: str | None = None
    fp: str | None = None


class CivitaiFile(msgspec.Struct, frozen=True):
    id: int
    name: str
    sizeKB: float | None = None
    type: str | None = None
    metadata: _FileMeta | None = None
    hashes: dict[str, str | None] = {}
    primary: bool | None = None  # absent (None) on non-primary files, not False
    downloadUrl: str | None = None

    def hash(self, kind: str) -> str | None:
        for key, value in self.hashes.items():
            if key.upper() == kind.upper() and value:
                return value.lower()
        return None


class _ModelBrief(msgspec.Struct, frozen=True):
    name: str | None = None
    type: str | None = None


class CivitaiVersion(msgspec.Struct, frozen=True):
    id: int
    modelId: int | None = None
    name: str | None = None
    baseModel: str | None = None
    trainedWords: list[str] = []
    model: _ModelBrief | None = None
    files: list[CivitaiFile] = []


class CivitaiModel(msgspec.Struct, frozen=True):
    """A ``/models/{id}`` answer. The permission flags are the model's: older answers give
    ``allowCommercialUse`` as one word (``"Sell"``, ``"None"``), newer ones as a list
    (``["Image", "RentCivit", "Rent"]``)."""

    id: int
    name: str | None = None
    type: str | None = None
    allowCommercialUse: str | list[str] | None = None
    allowDerivatives: bool | None = None
    allowDifferentLicense: bool | None = None
    allowNoCredit: bool | None = None
    modelVersions: list[CivitaiVersion] = []

    def about(self, version: CivitaiVersion | None) -> dict:
        """What the lock records of this model (``LockedModel`` field names): its permission
        flags as published ("None" means no commercial use at all) and the version's base
        model and trained words."""
        use = self.allowCommercialUse
        if isinstance(use, str):
            use = [] if use == "None" else [use]
        words = [w.strip() for w in (version.trainedWords if version else []) if w.strip()]
        return {
            "allow_commercial_use": tuple(use) if use is not None else None,
            "allow_derivatives": self.allowDerivatives,
            "allow_different_license": self.allowDifferentLicense,
            "allow_no_credit": self.allowNoCredit,
            "base_model": version.baseModel if version else None,
            "trained_words": tuple(dict.fromkeys(words)),
        }


class _SearchPage(msgspec.Struct, frozen=True):
    items: list[CivitaiModel] = []


# --- what resolve consumes ------------------------------------------------------------------


class CivitaiHit(msgspec.Struct, frozen=True, kw_only=True):
    """One file on Civitai. ``size`` comes from ``sizeKB`` (KiB float): approximate."""

    model_id: int
    version_id: int
    file_id: int
    file_name: str
    size: int | None
    size_approximate: bool = True
    sha256: str | None
    blake3: str | None
    url: str
    primary: bool = False
    model_name: str | None = None
    version_name: str | None = None
    model_type: str | None = None
    base_model: str | None = None

    def to_source(self, matched_by: MatchedBy) -> CivitaiSource:
        return CivitaiSource(
            matched_by=matched_by,
            model_id=self.model_id,
            version_id=self.version_id,
            file_id=self.file_id,
            url=self.url,
        )


def download_url(version_id: int, file: CivitaiFile) -> str:
    """The canonical public URL: the bare version URL for the primary file, else with params.

    Always on ``civitai.com`` whatever host answered (mirrors, ``api.civitai.com``). A
    non-primary file without type/format metadata is named by ``fileId``, which the download
    endpoint also accepts.
    """
    base = f"{CANONICAL_HOST}/api/download/models/{version_id}"
    if file.primary:
        return base
    meta = file.metadata or _FileMeta()
    params = [
        (k, v)
        for k, v in (
            ("type", file.type),
            ("format", meta.format),
            ("size", meta.size),
            ("fp", meta.fp),
        )
        if v
    ]
    if not params:  # no metadata to tell it apart from the primary file: name it by id
        params = [("fileId", str(file.id))]
    return f"{base}?{urlencode(params, quote_via=quote)}"


def _hit(
    version: CivitaiVersion, file: CivitaiFile, model_id: int | None, model: _ModelBrief | None
) -> CivitaiHit:
    size = round(file.sizeKB * 1024) if file.sizeKB is not None else None
    return CivitaiHit(
        model_id=model_id if model_id is not None else (version.modelId or 0),
        version_id=version.id,
        file_id=file.id,
        file_name=file.name,
        size=size,
        sha256=file.hash("SHA256"),
        blake3=file.hash("BLAKE3"),
        url=download_url(version.id, file),
        primary=bool(file.primary),
        model_name=model.name if model else None,
        version_name=version.name,
        model_type=model.type if model else None,
        base_model=version.baseModel,
    )


def hits_from_version(
    version: CivitaiVersion, *, model: CivitaiModel | None = None
) -> list[CivitaiHit]:
    """Every file of a version as a hit (archived versions have none)."""
    brief = version.model or (_ModelBrief(name=model.name, type=model.type) if model else None)
    model_id = model.id if model is not None else version.modelId
    return [_hit(version, f, model_id, brief) for f in version.files]


def hits_from_model(model: CivitaiModel) -> list[CivitaiHit]:
    return [
        hit for version in model.modelVersions for hit in hits_from_version(version, model=model)
    ]


def parse_version(data: object) -> CivitaiVersion:
    """Decode a ``/model-versions/{id}`` (or by-hash) answer, leniently."""
    return convert(data, CivitaiVersion, "Civitai")


def parse_model(data: object) -> CivitaiModel:
    return convert(data, CivitaiModel, "Civitai")


# --- the client -----------------------------------------------------------------------------


class CivitaiClient(ServiceClient):
    """Civitai's public REST API through comfylock's HTTP rules (retries, cache, token)."""

    def __repr__(self) -> str:
        return f"CivitaiClient({self.endpoints.civitai!r})"

    def _get(self, path: str, *, kind: str, ttl: float) -> object:
        return self._get_json(f"{self.endpoints.civitai}{path}", kind=kind, ttl=ttl)

    def by_hash(self, sha256: str) -> CivitaiHit | None:
        """The file whose published SHA256 is ``sha256``, or None."""
        wanted = sha256.strip().lower()
        data = self._get(
            f"/api/v1/model-versions/by-hash/{wanted}", kind="metadata", ttl=TTL_METADATA
        )
        if data is None:
            return None
        for hit in hits_from_version(parse_version(data)):
            if hit.sha256 == wanted:
                return hit
        return None  # the hash matched another hash kind, never a file's SHA256

    def version(self, version_id: int) -> CivitaiVersion | None:
        data = self._get(
            f"/api/v1/model-versions/{int(version_id)}", kind="metadata", ttl=TTL_METADATA
        )
        return None if data is None else parse_version(data)

    def model(self, model_id: int) -> CivitaiModel | None:
        data = self._get(f"/api/v1/models/{int(model_id)}", kind="metadata", ttl=TTL_METADATA)
        return None if data is None else self._seen(parse_model(data))

    def _seen(self, model: CivitaiModel) -> CivitaiModel:
        """Remember a model a search or lookup answered with: ``about`` then needs no
        request of its own (a search answer carries the models' permission flags)."""
        if not hasattr(self, "_models"):
            self._models: dict[int, CivitaiModel] = {}
        self._models[model.id] = model
        return model

    def about(self, model_id: int, version_id: int | None) -> dict | None:
        """What Civitai publishes about a model version (``CivitaiModel.about``): from a
        model already seen in this run, else one ``/models/{id}`` request; None when gone."""
        model = getattr(self, "_models", {}).get(model_id) or self.model(model_id)
        if model is None:
            return None
        version = next((v for v in model.modelVersions if v.id == version_id), None)
        if version is None and version_id is not None:
            version = self.version(version_id)
        return model.about(version)

    def search_by_name(self, name: str, folder: str | None) -> list[CivitaiHit]:
        """Files named exactly like ``name``'s basename, from a search by its stem.

        Case-sensitive; hits keep the API's order, one per file id.
        """
        wanted = PurePosixPath(name.replace("\\", "/")).name
        return [hit for hit in self.search(name, folder) if hit.file_name == wanted]

    def search(self, name: str, folder: str | None) -> list[CivitaiHit]:
        """Every file of the models a search by ``name``'s stem returns (one per file id),
        in the API's order: the exact-name pick and the suggestions share one request."""
        stem = PurePosixPath(PurePosixPath(name.replace("\\", "/")).name).stem
        if not stem:
            return []
        params: list[tuple[str, str]] = [("query", stem)]
        params += [("types", t) for t in FOLDER_TYPES.get(folder or "", ())]
        params.append(("limit", str(SEARCH_LIMIT)))
        path = f"/api/v1/models?{urlencode(params, quote_via=quote)}"
        data = self._get(path, kind="search", ttl=TTL_SEARCH)
        if data is None:
            return []
        page = convert(data, _SearchPage, "Civitai search")
        seen: set[int] = set()
        hits = []
        for model in page.items:
            self._seen(model)
            for hit in hits_from_model(model):
                if hit.file_id not in seen:
                    seen.add(hit.file_id)
                    hits.append(hit)
        return hits
