"""Candidates for a reference nothing could pin: shown to the user, never pinned by themselves.

A workflow often names a file its author renamed, kept in another folder, or downloaded from
a Civitai page under another name. Resolution rightly refuses to guess; these suggestions
give the user something to check and the exact command that pins it (``comfylock add …``).
Pure: the caller passes the local files and the remote candidates it already has.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import PurePosixPath

import msgspec

__all__ = ["MIN_SCORE", "Candidate", "Suggestion", "local_suggestions", "rank_by_name"]

# Below this name similarity a candidate is noise (difflib ratio of lower-cased stems).
MIN_SCORE = 0.6
MAX_PER_KIND = 3


class Suggestion(msgspec.Struct, frozen=True, kw_only=True):
    """One candidate; ``command`` pins it, or says what to do with a local file."""

    kind: str  # "local" | "civitai" | "huggingface"
    name: str  # the candidate's file name
    score: float  # name similarity to the reference, 0..1 (1.0 for the same bytes)
    detail: str  # why it is a candidate: where it is, base model, size
    command: str


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A remote file that might be the one: ``source`` is what ``comfylock add`` accepts."""

    kind: str
    source: str
    file_name: str
    detail: str


def _stem(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).stem.lower()


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
        score = _score(name, c.file_name)
        if score >= MIN_SCORE:
            scored.append((score, c))
    scored.sort(key=lambda sc: (-sc[0], sc[1].source))
    return [
        Suggestion(
            kind=c.kind,
            name=c.file_name,
            score=score,
            detail=c.detail,
            command=_add_command(c.source, folder, name),
        )
        for score, c in scored[:MAX_PER_KIND]
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
        score = 1.0 if same_bytes else _score(name, f.name)
        if score < MIN_SCORE:
            continue
        if same_bytes:
            why = "the same bytes as the workflow declares"
        elif _stem(f.name) == _stem(name):
            why = "the same name"
        else:
            why = "a similar name"
        out.append(
            (
                score,
                Suggestion(
                    kind="local",
                    name=f.name,
                    score=score,
                    detail=f"{f.folder}/{f.name} on this machine has {why}",
                    command=f"if it is the file, copy it{where}, then run `comfylock resolve`",
                ),
            )
        )
    out.sort(key=lambda s: (-s[0], s[1].detail))
    return [s for _, s in out[:MAX_PER_KIND]]
