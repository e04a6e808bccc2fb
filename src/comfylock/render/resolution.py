"""What ``resolve`` and ``check`` found, for people (text) and programs (JSON). Pure."""

from __future__ import annotations

from typing import Any

import msgspec

from ..basics.units import count
from ..lock.unpinned import fixes as unpinned_fixes
from ..lock.unpinned import label, suggested_pack
from .text import lines_text, table

__all__ = [
    "as_hint",
    "environment_lines",
    "resolution_json",
    "resolution_text",
    "staleness_json",
    "staleness_text",
    "suggestion_lines",
]


def staleness_json(staleness, *, strict: bool) -> dict[str, Any]:
    return {
        "stale": [
            {
                "path": c.path,
                "status": c.status,
                "added": list(c.added),
                "removed": list(c.removed),
                "renamed": [list(pair) for pair in c.renamed],
            }
            for c in staleness.changes
        ],
        "unpinned": [{"reference": ref, "reason": why} for ref, why in staleness.unpinned],
        "name_only": list(staleness.name_only),
        "strict": strict,
    }


def staleness_text(
    staleness, lock, *, strict: bool, installed: list | tuple = (), environment=()
) -> str:
    lines: list[str] = []
    for c in staleness.changes:
        if c.status == "new":
            lines.append(f"stale: {c.path} is not in the lock")
        elif c.status == "missing":
            lines.append(f"stale: {c.path} is in the lock but no longer exists")
        else:
            parts = (
                [f"+{a}" for a in c.added]
                + [f"-{r}" for r in c.removed]
                + [f"{a} -> {b}" for a, b in c.renamed]
            )
            lines.append(f"stale: {c.path} changed: {', '.join(parts) or 'custom nodes changed'}")
    for ref, why in staleness.unpinned:
        lines.append(f"unpinned: {label(ref)}: {why}")
    if strict:
        for key in staleness.name_only:
            lines.append(f"weak pin: {key} was matched by file name only (--strict)")
    for problem in installed:
        lines.append(f"not installed: {problem}")
    lines += [f"stale: python: {why}" for why in environment]
    if lines:
        lines += _check_fixes(
            staleness, lock, strict=strict, installed=installed, environment=environment
        )
    else:
        lines.append(
            f"comfy.lock is up to date: {count(len(lock.workflow), 'workflow')}, {count(len(lock.model), 'model')}, {count(len(lock.node), 'node pack')}"
        )
    return lines_text(lines) + "\n"


def weak_pin_fixes(keys, lock) -> list[str]:
    """For each model matched by file name only, the ``add`` that pins the same source by
    hand (``check --strict`` accepts a hand pin: the user vouched for the file)."""
    models = {m.key: m for m in lock.model}
    out = []
    for key in keys:
        model = models.get(key)
        spec = next((s for s in map(source_spec, model.source if model else ()) if s), None)
        if spec is None:
            out.append(f"pin {key} by hand with `comfylock add` and a source you trust")
            continue
        out.append(
            f"if {key} is the file you meant, pin it by hand: "
            f"`comfylock add {spec} --folder {model.folder} --name {model.name}`"
        )
    return out


def source_spec(source) -> str | None:
    """A lock source in the form ``comfylock add`` reads."""
    from ..lock.structs import CivitaiSource, HuggingFaceSource

    if isinstance(source, CivitaiSource):
        return f"civitai:{source.model_id}@{source.version_id}" if source.model_id else None
    if isinstance(source, HuggingFaceSource):
        return f"hf:{source.repo}@{source.revision}/{source.path}"
    return getattr(source, "url", None)


def _check_fixes(staleness, lock, *, strict: bool, installed, environment=()) -> list[str]:
    """One line per kind of finding, each naming the command that fixes that kind."""
    fixes = []
    new_refs = any(why.startswith("not in the lock") for _, why in staleness.unpinned)
    if staleness.changes or new_refs:
        fixes.append("fix: run `comfylock resolve` to update the lock")
    unpinned = [(k, why) for k, why in staleness.unpinned if not why.startswith("not in the lock")]
    fixes += [f"fix: {line}" for line in unpinned_fixes(unpinned)]
    if strict and staleness.name_only:
        fixes += [f"fix: {line}" for line in weak_pin_fixes(staleness.name_only, lock)]
    if installed:
        fixes.append("fix: run `comfylock sync` to install")
    if environment and not fixes:
        fixes.append("fix: run `comfylock resolve` to lock the Python requirements again")
    return fixes


def resolution_json(outcome) -> dict[str, Any]:
    r = outcome.resolution
    return {
        "lock": outcome.lock_path,
        "written": outcome.written,
        "changed": outcome.changed,
        "stats": r.stats,
        "unresolved": [
            {
                "folder": u.folder,
                "name": u.name,
                "reason": u.reason,
                "suggestions": [
                    msgspec.to_builtins(x)
                    for x in getattr(outcome, "suggestions", {}).get(f"{u.folder}/{u.name}", ())
                ],
            }
            for u in r.unresolved
        ],
        "conflicts": [
            {"reference": c.key, "workflows": {c.first[0]: c.first[1], c.second[0]: c.second[1]}}
            for c in r.conflicts
        ],
        "ambiguous": [
            {"class": cls, "candidates": list(c), "pin": _settling_pin(r, cls)}
            for cls, c in r.ambiguous
        ],
        **_environment_json(getattr(outcome, "environment", None)),
    }


def _settling_pin(resolution, class_name: str) -> str | None:
    """The ``[nodes]`` value the reason suggests for an ambiguous class (a pack the project
    needs anyway), or None when only the user can choose."""
    for u in resolution.unresolved:
        if u.folder == "custom_nodes" and u.name == class_name:
            return suggested_pack(u.reason)
    return None


_MATCHED = {"local": "the ComfyUI root's HEAD", "pin": "comfylock.toml", "ver": "the workflows"}


def environment_lines(env) -> list[str]:
    """ComfyUI and Python as resolve pinned them, the packs' install scripts (never run)."""
    if env is None or env.lock.comfyui is None:
        return []
    c, py = env.lock.comfyui, env.lock.python
    how = _MATCHED.get(c.matched_by or "", "the lock")
    lines = [f"ComfyUI {c.version or '(no version)'} at {c.commit[:12]} (from {how})"]
    if py is not None:
        files = ", ".join(t.file for t in py.target)
        state = "locked with uv" if env.recompiled else "unchanged"
        lines.append(f"Python {py.version}: {files} ({state})")
    lines += [f"warning: {w}" for w in env.warnings]
    if env.install_scripts:
        lines.append(
            f"install scripts (comfylock never runs them): {', '.join(env.install_scripts)}"
        )
    return lines


def _environment_json(env) -> dict[str, Any]:
    if env is None or env.lock.comfyui is None:
        return {}
    py = env.lock.python
    return {
        "comfyui": msgspec.to_builtins(env.lock.comfyui),
        "python": msgspec.to_builtins(py) if py is not None else None,
        "install_scripts": list(env.install_scripts),
        "warnings": list(env.warnings),
    }


def as_hint(command: str) -> str:
    """A command shown on its own line, in backticks like every hint (so it is kept whole
    when lines are fitted, and carries the run's global options)."""
    return f"`{command}`" if command.startswith("comfylock ") else command


def suggestion_lines(suggestions, indent: str = "    ") -> list[str]:
    """A candidate per line: what it is and the command that pins it (never auto-pinned)."""
    lines = []
    for x in suggestions or ():
        lines.append(f"{indent}maybe ({x.kind}, {x.evidence}): {x.detail}")
        lines.append(f"{indent}  {as_hint(x.command)}")
    return lines


# The rows under "pinned" (``resolve.core.PINNED_ROWS``: they add up); empty rows are left out.
PINNED_LABELS = (
    ("kept", "kept from the lock"),
    ("by_pin", "pinned by hand"),
    ("by_hash", "identified by hash"),
    ("by_url", "by URL"),
    ("by_name", "by file name only"),
)


def resolution_text(outcome, shown_lock: str | None = None) -> str:
    """``shown_lock``: the lock path as the caller wants it shown (e.g. relative to the cwd)."""
    r = outcome.resolution
    s = r.stats
    node_unresolved = sum(1 for u in r.unresolved if u.folder == "custom_nodes")
    snap_unresolved = sum(1 for u in r.unresolved if u.folder == "snapshot")
    model_unresolved = s["unresolved"] - node_unresolved - snap_unresolved
    lines = [f"resolved {count(outcome.workflows, 'workflow')}:"]
    lines += table(
        [
            ["", "models", "node packs"],
            ["pinned", str(s["pinned"]), str(s.get("packs", 0))],
            *([f"  {label}", str(s[key]), ""] for key, label in PINNED_LABELS if s.get(key)),
            ["unresolved", str(model_unresolved), str(node_unresolved)],
        ]
    )
    if s.get("snapshots") or snap_unresolved:
        lines.append(
            f"  repo snapshots: {s.get('snapshots', 0)} pinned, {snap_unresolved} unresolved"
        )
    for u in r.unresolved:
        lines.append(f"  unresolved {label(f'{u.folder}/{u.name}')}: {u.reason}")
        lines += suggestion_lines(getattr(outcome, "suggestions", {}).get(f"{u.folder}/{u.name}"))
    for c in r.conflicts:
        if getattr(c, "what", "sha256") == "url":
            lines.append(
                f"  conflict {c.key}: {c.first[0]} names {c.first[1]}, {c.second[0]} names {c.second[1]}: not the same file"
            )
        elif c.what == "file":
            lines.append(
                f"  conflict {c.key}: the file beside {c.first[0]} (sha256 {c.first[1][:12]}…) "
                f"is not the one beside {c.second[0]} (sha256 {c.second[1][:12]}…)"
            )
        else:
            lines.append(
                f"  conflict {c.key}: {c.first[0]} declares sha256 {c.first[1]}, {c.second[0]} declares {c.second[1]}"
            )
    if r.unresolved and not getattr(outcome, "local_files", True):
        lines.append(
            "note: no --comfyui-root (or --models-dir), so no local model file was hashed; "
            "pass the one your models are in to identify them by hash"
        )
    lines += environment_lines(getattr(outcome, "environment", None))
    if outcome.check_only:
        lines.append(
            "comfy.lock would change"
            if outcome.changed or outcome.exit_code
            else "comfy.lock is up to date"
        )
    elif outcome.written:
        lines.append(f"wrote {shown_lock or outcome.lock_path}")
    elif outcome.exit_code:
        if r.unresolved:
            lines.append("comfy.lock not written (pass --allow-unresolved to write it anyway)")
            entries = [(f"{u.folder}/{u.name}", u.reason) for u in r.unresolved]
            lines += [f"fix: {line}" for line in unpinned_fixes(entries)]
        else:
            lines.append("comfy.lock not written: settle the conflicts")
    else:
        lines.append(f"{shown_lock or outcome.lock_path} unchanged")
    return lines_text(lines) + "\n"
