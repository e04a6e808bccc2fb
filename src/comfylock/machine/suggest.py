"""Candidates for a reference nothing could pin: shown to the user, never pinned by themselves.

A workflow often names a file its author renamed, kept in another folder, or downloaded from
a Civitai page under another name. Resolution rightly refuses to guess; these suggestions
give the user something to check and the exact command that pins it (``comfylock add …``).
Pure: the caller passes the local files and the remote candidates it already has.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

import msgspec

__all__ = [
    "Candidate",
    "Suggestion",
    "evidence",
    "family",
    "local_suggestions",
    "rank_by_name",
]

MAX_PER_KIND = 3


class Suggestion(msgspec.Struct, frozen=True, kw_only=True):
    """One candidate; ``command`` pins it, or says what to do with a local file."""

    kind: str  # "local" | "civitai" | "huggingface"
    name: str  # the candidate's file name
    score: float  # name similarity to the reference, 0..1 (1.0 for the same bytes)
    detail: str  # why it is a candidate: where it is, base model, size
    command: str
    evidence: str = "same name"  # "same bytes" | "same name" | "same family" (a variant)


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A remote file that might be the one: ``source`` is what ``comfylock add`` accepts."""

    kind: str
    source: str
    file_name: str
    detail: str


def _stem(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).stem.lower()


# Words that name a variant of the same weights (precision, quantisation, pruning), not
# another model: ``sdxl_vae_fp16`` is ``sdxl_vae``; ``sd_xl_refiner`` is not ``sd_xl_base``.
_VARIANT = re.compile(
    r"^(fp8|fp16|fp32|bf16|f16|f32|e4m3fn|e5m2|e4m3fnuz|scaled|fp8scaled|int8|int4|nf4|"
    r"pruned|ema|emaonly|noema|half|full|q\d(_k)?(_[msl0-9])*|gguf|safetensors|ckpt)$"
)


def family(name: str) -> tuple[str, ...]:
    """The words of a file's stem that say which model it is (variant words dropped)."""
    words = [w for w in re.split(r"[-_. ]+", _stem(name)) if w]
    return tuple(w for w in words if not _VARIANT.match(w))


def evidence(name: str, other: str) -> str | None:
    """Why ``other`` may be the file ``name`` means: "same name" or "same family" (a variant
    of the same weights); None when it is another model's name (issue 19: a similar name —
    ``sd_xl_refiner`` for ``sd_xl_base``, ``clip_l_hidream`` for ``clip_l`` — is never
    offered under the missing name)."""
    if _stem(name) == _stem(other):
        return "same name"
    mine = family(name)
    return "same family" if mine and mine == family(other) else None


def _score(a: str, b: str) -> float:
    return round(difflib.SequenceMatcher(None, _stem(a), _stem(b)).ratio(), 2)


def _add_command(source: str, folder: str, name: str) -> str:
    return f"comfylock add {source} --folder {folder} --name {name}"


def rank_by_name(folder: str, name: str, candidates: Iterable[Candidate]) -> list[Suggestion]:
    """Remote candidates ranked by how alike their file name is to ``name`` (best first)."""
    scored = []
    seen: set[str] = set()
    for c in candidates:
        if c.source in seen:
            continue
        seen.add(c.source)
        why = evidence(name, c.file_name)
        if why is not None:
            scored.append((_score(name, c.file_name), why, c))
    scored.sort(key=lambda sc: (-sc[0], sc[2].source))
    return [
        Suggestion(
            kind=c.kind,
            name=c.file_name,
            score=score,
            detail=c.detail,
            command=_add_command(c.source, folder, name),
            evidence=why,
        )
        for score, why, c in scored[:MAX_PER_KIND]
    ]


def local_suggestions(
    folder: str, name: str, files, *, target: str | None = None, sha256: str | None = None
) -> list[Suggestion]:
    """Local files that may be the one: the same bytes as a declared ``sha256`` anywhere, else
    the same or a similar stem in any folder. ``files`` are ``inventory.LocalFile`` rows."""
    where = f" to {target}" if target else f" into the {folder} folder"
    out: list[tuple[float, Suggestion]] = []
    for f in files:
        if f.folder == folder and f.name == name:
            continue  # the reference itself (it would have been found)
        same_bytes = bool(sha256 and f.sha256 and f.sha256 == sha256.lower())
        why = "same bytes" if same_bytes else evidence(name, f.name)
        if why is None:
            continue  # another model's name: never offered in its place
        score = 1.0 if same_bytes else _score(name, f.name)
        told = {
            "same bytes": "the same bytes as the workflow declares",
            "same name": "the same name",
        }
        out.append(
            (
                score,
                Suggestion(
                    kind="local",
                    name=f.name,
                    score=score,
                    detail=f"{f.folder}/{f.name} on this machine has "
                    + told.get(why, "a name of the same family (a variant of the same weights)"),
                    command=f"if it is the file, copy it{where}, then run `comfylock resolve`",
                    evidence=why,
                ),
            )
        )
    out.sort(key=lambda s: (-s[0], s[1].detail))
    return [s for _, s in out[:MAX_PER_KIND]]
