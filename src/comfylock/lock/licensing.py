"""What a lock says about the licences of its models (SPEC §10): per workflow, each model's
licence and the permissions its source publishes, and which models a ``--deny-license`` rule
catches. Pure: it reads the lock's values, never the network.

A model's licence is the ``license`` its source published (a Hugging Face card's), else
"unknown"; Civitai publishes permission flags instead (commercial use, derivatives,
relicensing, credit), listed beside it. Input files (the project's own images and clips)
carry no licence and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

import msgspec

from ..workflows.tables import INPUT_FOLDER
from .structs import Lock, LockedModel

__all__ = [
    "UNKNOWN",
    "Denied",
    "LicenseRow",
    "WorkflowLicenses",
    "denied_models",
    "license_of",
    "license_rows",
    "permissions_of",
]

UNKNOWN = "unknown"
OUTSIDE = "(models no workflow names)"


class LicenseRow(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    license: str  # the published licence, or "unknown"
    gated: str | None = None
    permissions: str | None = None  # Civitai's flags in words, when published
    allow_commercial_use: tuple[str, ...] | None = None  # the flags as published
    allow_derivatives: bool | None = None
    allow_different_license: bool | None = None
    allow_no_credit: bool | None = None
    base_model: str | None = None
    trained_words: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # "civitai", "huggingface", "url"


class WorkflowLicenses(msgspec.Struct, frozen=True, kw_only=True):
    path: str  # a workflow's path, or OUTSIDE for hand pins no workflow names
    models: tuple[LicenseRow, ...] = ()


class Denied(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    license: str
    rule: str  # the --deny-license NAME that caught it


def license_of(model: LockedModel) -> str:
    return model.license or UNKNOWN


def permissions_of(model: LockedModel) -> str | None:
    """Civitai's permission flags in a few words, or None when it published none."""
    parts = []
    use = model.allow_commercial_use
    if use is not None:
        parts.append(f"commercial use: {', '.join(use) if use else 'none'}")
    for flag, yes, no in (
        (model.allow_derivatives, "derivatives allowed", "no derivatives"),
        (model.allow_different_license, "relicensing allowed", "same licence only"),
        (model.allow_no_credit, "no credit needed", "credit required"),
    ):
        if flag is not None:
            parts.append(yes if flag else no)
    return "; ".join(parts) or None


def _row(model: LockedModel) -> LicenseRow:
    kinds = dict.fromkeys(type(s).__name__.removesuffix("Source").lower() for s in model.source)
    return LicenseRow(
        key=model.key,
        license=license_of(model),
        gated=model.gated,
        permissions=permissions_of(model),
        allow_commercial_use=model.allow_commercial_use,
        allow_derivatives=model.allow_derivatives,
        allow_different_license=model.allow_different_license,
        allow_no_credit=model.allow_no_credit,
        base_model=model.base_model,
        trained_words=model.trained_words,
        sources=tuple(kinds),
    )


def _licensed(lock: Lock) -> dict[str, LockedModel]:
    return {m.key: m for m in lock.model if m.folder != INPUT_FOLDER}


def license_rows(lock: Lock, workflows: Iterable[str] | None = None) -> list[WorkflowLicenses]:
    """Each workflow of the lock (only ``workflows`` when given) with its models' licences;
    models no workflow names (hand pins) last, when every workflow is shown."""
    models = _licensed(lock)
    chosen = None if workflows is None else set(workflows)
    out, named = [], set()
    for wf in lock.workflow:
        named.update(wf.models)
        if chosen is not None and wf.path not in chosen:
            continue
        rows = tuple(_row(models[k]) for k in wf.models if k in models)
        out.append(WorkflowLicenses(path=wf.path, models=rows))
    rest = tuple(_row(m) for k, m in models.items() if k not in named)
    if chosen is None and rest:
        out.append(WorkflowLicenses(path=OUTSIDE, models=rest))
    return out


def denied_models(lock: Lock, rules: Sequence[str]) -> list[Denied]:
    """The models whose licence a rule names: exactly or as a glob (``cc-by-nc-*``), case
    ignored; ``unknown`` names every model whose source published no licence."""
    out = []
    for model in _licensed(lock).values():
        name = license_of(model)
        for rule in rules:
            if fnmatchcase(name.lower(), rule.strip().lower()):
                out.append(Denied(key=model.key, license=name, rule=rule))
                break
    return out
