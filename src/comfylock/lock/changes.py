"""What changed between two locks (``comfylock diff``): entries added, removed and changed,
section by section, each change naming the fields that differ. Pure.

Every section is a function from one side (a lock and the text of the Python lock files it
names) to ``{key: {field: value}}`` (``SECTIONS``): the comparison itself knows no section, so
a new part of the lock is one more entry there. Values are plain data (strings, numbers,
sorted lists), so the same result renders as words, Markdown or JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from .structs import (
    CivitaiSource,
    FileSource,
    HuggingFaceSource,
    Lock,
    LockedModel,
    Source,
    UrlSource,
)

__all__ = [
    "SECTIONS",
    "Change",
    "FieldChange",
    "LockDiff",
    "LockSide",
    "diff_locks",
    "source_label",
]

Fields = dict[str, Any]


class LockSide(msgspec.Struct, frozen=True, kw_only=True):
    """One side of a diff: the lock, and the Python lock files it names (file name -> text;
    a file that could not be read is absent)."""

    lock: Lock
    pylocks: dict[str, str] = {}


class FieldChange(msgspec.Struct, frozen=True):
    field: str
    old: Any
    new: Any


class Change(msgspec.Struct, frozen=True, kw_only=True):
    section: str  # "model", "node", … (``SECTIONS``)
    key: str
    kind: Literal["added", "removed", "changed"]
    fields: tuple[FieldChange, ...] = ()  # changed: what differs; added/removed: what it is


class LockDiff(msgspec.Struct, frozen=True, kw_only=True):
    changes: tuple[Change, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "removed": 0, "changed": 0}
        for c in self.changes:
            out[c.kind] += 1
        return out


def source_label(source: Source) -> str:
    """One source in a line: what a reviewer needs to tell two apart."""
    if isinstance(source, CivitaiSource):
        file = f" file {source.file_id}" if source.file_id else ""
        return f"civitai {source.model_id}@{source.version_id}{file}"
    if isinstance(source, HuggingFaceSource):
        return f"huggingface {source.repo}@{source.revision[:12]}/{source.path}"
    if isinstance(source, FileSource):
        return f"file {source.path}" + ("" if source.root == "project" else f" ({source.root})")
    if isinstance(source, UrlSource):
        return f"url {source.url}"
    return type(source).__name__  # pragma: no cover


def _plain(struct: msgspec.Struct, *drop: str) -> Fields:
    """A struct's fields as plain data, lists sorted (their order means nothing in a lock)."""
    fields = msgspec.to_builtins(struct)
    for key in drop:
        fields.pop(key, None)
    return {k: sorted(v) if isinstance(v, (list, tuple)) else v for k, v in fields.items()}


def _model(m: LockedModel) -> Fields:
    fields = _plain(msgspec.structs.replace(m, source=()), "folder", "name", "source")
    fields["sources"] = sorted(source_label(s) for s in m.source)
    return fields


def _snapshot(s) -> Fields:
    fields = _plain(msgspec.structs.replace(s, file=()), "dir", "file")
    fields["files"] = sorted(f"{f.path} {f.sha256[:12]} {f.size}" for f in s.file)
    return fields


def _python(python) -> Fields:
    """``[python]`` without its inputs digest and file hashes: the packages section shows
    what those stand for."""
    return {
        "version": python.version,
        "targets": sorted(
            " ".join(p for p in (t.name, t.platform, t.torch_backend, t.file) if p)
            for t in python.target
        ),
        "requirements": sorted(
            f"{r.pack} {r.source}: {', '.join(r.specs)}" for r in python.requirement
        ),
    }


def _packages(side: LockSide) -> dict[str, Fields]:
    """``<target>/<package>`` -> its version, from each target's pylock (PEP 751)."""
    from ..basics.fileio import parse_toml

    out: dict[str, Fields] = {}
    for target in side.lock.python.target if side.lock.python else ():
        text = side.pylocks.get(target.file)
        if text is None:
            continue
        for entry in parse_toml(text, source=target.file).get("packages", []):
            name = re.sub(r"[-_.]+", "-", str(entry.get("name", ""))).lower()
            if name:
                out[f"{target.name}/{name}"] = {"version": str(entry.get("version"))}
    return out


# (section, one side's entries of it as {key: fields}); in the order a reviewer reads them.
SECTIONS: list[tuple[str, Callable[[LockSide], dict[str, Fields]]]] = [
    ("model", lambda s: {m.key: _model(m) for m in s.lock.model}),
    ("node", lambda s: {n.id: _plain(n, "id") for n in s.lock.node}),
    ("snapshot", lambda s: {x.dir: _snapshot(x) for x in s.lock.snapshot}),
    ("comfyui", lambda s: {"comfyui": _plain(s.lock.comfyui)} if s.lock.comfyui else {}),
    ("python", lambda s: {"python": _python(s.lock.python)} if s.lock.python else {}),
    ("python package", _packages),
    ("workflow", lambda s: {w.path: _plain(w, "path", "digest") for w in s.lock.workflow}),
    ("unresolved", lambda s: {f"{u.folder}/{u.name}": _plain(u) for u in s.lock.unresolved}),
]


def _field_changes(old: Fields, new: Fields) -> tuple[FieldChange, ...]:
    keys = [*old, *(k for k in new if k not in old)]
    return tuple(FieldChange(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def diff_locks(old: Lock | LockSide, new: Lock | LockSide) -> LockDiff:
    """Every entry added, removed or changed from ``old`` to ``new``, section by section,
    keys sorted within a section."""
    old = old if isinstance(old, LockSide) else LockSide(lock=old)
    new = new if isinstance(new, LockSide) else LockSide(lock=new)
    changes: list[Change] = []
    for section, entries in SECTIONS:
        before, after = entries(old), entries(new)
        for key in sorted(set(before) | set(after)):
            if key not in before:
                what = _field_changes({}, after[key])
                changes.append(Change(section=section, key=key, kind="added", fields=what))
            elif key not in after:
                what = _field_changes(before[key], {})
                changes.append(Change(section=section, key=key, kind="removed", fields=what))
            elif before[key] != after[key]:
                what = _field_changes(before[key], after[key])
                changes.append(Change(section=section, key=key, kind="changed", fields=what))
    return LockDiff(changes=tuple(changes))
