"""Pure renderers: turn results into JSON-ready dicts and terminal text. No I/O here.

Every text renderer builds a list of lines and passes each through ``_lines``: a name
that carries an ESC sequence or a ``\\r`` (from a workflow, a lock, a file name) is shown
escaped, never sent raw to the terminal. JSON shapes stay exact.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .lock.model import ModelRef, NodeUse, WorkflowInfo
from .pathsafe import printable

__all__ = [
    "count",
    "gaps_json",
    "gaps_markdown",
    "gaps_script",
    "inspect_json",
    "inspect_text",
    "model_json",
    "node_json",
    "resolution_json",
    "resolution_text",
    "suggestion_lines",
    "table",
]


def _lines(lines: list[str]) -> str:
    """Join rendered lines, each made terminal-safe (a value's newline cannot forge a line)."""
    return "\n".join(printable(line) for line in lines)


def count(n: int, word: str, plural: str | None = None) -> str:
    """'1 model', '2 models', '1 custom node class', '3 custom node classes'."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def model_json(ref: ModelRef) -> dict[str, Any]:
    """One model reference in the stable `inspect --json` shape (see README)."""
    out: dict[str, Any] = {
        "folder": ref.folder,
        "name": ref.name,
        "node_id": ref.node_id or None,
        "node_type": ref.node_type or None,
        "input": ref.input,
        "active": ref.active,
    }
    if ref.url:
        out["url"] = ref.url
    if ref.sha256:
        out["sha256"] = ref.sha256
    if ref.inferred:
        out["inferred"] = True
    if ref.invalid:
        out["invalid"] = ref.invalid
    if ref.reason:
        out["reason"] = ref.reason
    return out


def node_json(node: NodeUse) -> dict[str, Any]:
    out: dict[str, Any] = {
        "class_type": node.class_type,
        "node_id": node.node_id,
        "core": node.core,
    }
    for key in ("cnr_id", "aux_id", "ver"):
        value = getattr(node, key)
        if value is not None:
            out[key] = value
    if node.packs:  # named offline (table, else the shipped class map); several = ambiguous
        out["packs"] = list(node.packs)
        out["packs_via"] = node.packs_via
    if not node.active:
        out["active"] = False
    return out


def _workflow_json(path: str, info: WorkflowInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": path,
        "format": info.format,
        "models": [model_json(m) for m in info.models],
        "nodes": [node_json(n) for n in info.nodes],
        "problems": list(info.problems),
    }
    if info.repos:  # whole Hugging Face repos download-and-load nodes fetch (only when any)
        out["repos"] = [msgspec.to_builtins(r) for r in info.repos]
    return out


def inspect_json(items: list[tuple[str, WorkflowInfo]], skipped, errors) -> dict[str, Any]:
    return {
        "workflows": [_workflow_json(path, info) for path, info in items],
        "skipped": [{"path": p, "reason": why} for p, why in skipped],
        "errors": [{"path": e.path, "error": e.problem} for e in errors],
    }


def table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns, no borders: stable and pipe-friendly."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _flags(ref: ModelRef) -> str:
    flags = []
    if not ref.active:
        flags.append("inactive")
    if ref.inferred:
        flags.append("folder inferred")
    if ref.invalid:
        flags.append(f"INVALID: {ref.invalid}")
    if ref.reason:
        flags.append(ref.reason)
    if ref.url:
        flags.append("url")
    if ref.sha256:
        flags.append("sha256")
    return ", ".join(flags)


def _pack_hint(node: NodeUse) -> str:
    """What names the node's pack offline: its own ``cnr_id``/``aux_id``, else the table."""
    own = node.cnr_id or node.aux_id
    if own:
        return f"pack: {own}"
    by_name = " (class map)" if node.packs_via == "map" else ""
    if len(node.packs) == 1:
        return f"pack: {node.packs[0]}{by_name}"
    if node.packs:
        return f"ambiguous: {' | '.join(node.packs)}{by_name}"
    return ""


def inspect_text(items: list[tuple[str, WorkflowInfo]], skipped, errors) -> str:
    lines: list[str] = []
    for path, info in items:
        custom = sorted({n.class_type for n in info.nodes if not n.core})
        lines.append(
            f"{path}  ({info.format} format, {count(len(info.models), 'model reference')}, {count(len(custom), 'custom node class', 'custom node classes')})"
        )
        rows = [
            [
                f"{m.folder or '?'}/{m.name}",
                f"node {m.node_id}" if m.node_id else "workflow",
                f"{m.node_type}.{m.input}" if m.node_type else m.input,
                _flags(m),
            ]
            for m in info.models
        ]
        lines += table(rows)
        if custom:
            hints = {}
            for n in info.nodes:
                if not n.core and n.class_type not in hints:
                    hints[n.class_type] = _pack_hint(n)
            lines.append("  custom nodes:")
            lines += table([[c, hints[c]] for c in custom], indent="    ")
        if info.repos:
            lines.append("  repo snapshots (downloaded whole by the node):")
            lines += table(
                [
                    [r.repo, f"-> {r.dir}", f"node {r.node_id}", f"{r.node_type}.{r.input}"]
                    for r in info.repos
                ],
                indent="    ",
            )
        for problem in info.problems:
            lines.append(f"  problem: {problem}")
        lines.append("")
    for path, why in skipped:
        lines.append(f"skipped {path}: {why}")
    return _lines(lines).rstrip() + "\n" if lines else ""


# --- `comfylock report` ---------------------------------------------------------------------


def _md_cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def gaps_json(gaps, *, comfyui_root: str | None, models_dir: str | None) -> dict[str, Any]:
    return {
        "comfyui_root": comfyui_root,
        "models_dir": models_dir,
        "workflows": [
            {
                "path": g.path,
                "missing_models": [
                    {
                        **model_json(m.ref),
                        "expected_path": m.expected_path,
                        "sha256": m.sha256,
                        "suggestions": [msgspec.to_builtins(x) for x in m.suggestions],
                    }
                    for m in g.models
                ],
                "missing_nodes": [node_json(n.node) for n in g.nodes],
                "invalid_models": [model_json(r) for r in g.invalid],
            }
            for g in gaps
        ],
    }


def gaps_markdown(gaps, *, comfyui_root: str | None, models_dir: str | None) -> str:
    lines = ["# comfylock report", ""]
    lines.append(f"ComfyUI root: `{comfyui_root or '-'}` · models: `{models_dir or '-'}`")
    for g in gaps:
        lines += ["", f"## `{g.path}`", ""]
        if not (g.models or g.nodes or g.invalid):
            lines.append("Everything this workflow needs is installed.")
            continue
        if g.models:
            lines += [
                f"**Missing models ({len(g.models)})**",
                "",
                "| folder | name | node | expected path | url |",
                "|---|---|---|---|---|",
            ]
            for m in g.models:
                node = f"{m.ref.node_id} {m.ref.node_type}".strip() or "workflow"
                lines.append(
                    f"| {_md_cell(m.ref.folder or '?')} | {_md_cell(m.ref.name)} | {_md_cell(node)} | {_md_cell(m.expected_path)} | {_md_cell(m.ref.url)} |"
                )
            for m in g.models:
                if m.suggestions:
                    lines.append(f"Candidates for `{m.ref.folder}/{m.ref.name}`:")
                    lines += [f"- {x.detail}: {x.command}" for x in m.suggestions]
            lines.append("")
        if g.nodes:
            lines += [
                f"**Missing custom nodes ({len(g.nodes)})**",
                "",
                "| class | node | pack hint |",
                "|---|---|---|",
            ]
            for n in g.nodes:
                hint = _pack_hint(n.node).removeprefix("pack: ")
                lines.append(
                    f"| {_md_cell(n.node.class_type)} | {_md_cell(n.node.node_id)} | {_md_cell(hint)} |"
                )
            lines.append("")
        for ref in g.invalid:
            lines.append(f"- invalid name `{ref.name}` on node {ref.node_id}: {ref.invalid}")
    return _lines(lines).rstrip() + "\n"


def _downloadable(url: str) -> str:
    """A Hugging Face ``/blob/`` page URL becomes the file's ``/resolve/`` URL."""
    import re

    return re.sub(
        r"^(https://huggingface\.co/(?:(?:datasets|spaces)/)?[^/]+/[^/]+)/blob/",
        r"\1/resolve/",
        url,
    )


_TOKEN_FOR_HOST = (("civitai.com", "CIVITAI_API_KEY"), ("huggingface.co", "HF_TOKEN"))

_SCRIPT_HEAD = r"""#!/usr/bin/env bash
# Generated by `comfylock report --format script`: downloads the models this machine lacks.
# Set CIVITAI_API_KEY / HF_TOKEN in the environment for gated files; they are read at run time.
set -euo pipefail
list=$(mktemp)
hdr=$(mktemp)
trap 'rm -f "$list" "$hdr"' EXIT
chmod 600 "$list" "$hdr"
# URL DIR NAME - [SHA256]: a token-free download for aria2c below (which checks the sha256).
queue() {
  printf '%s\n  dir=%s\n  out=%s\n' "$1" "$2" "$3" >> "$list"
  if [ -n "${5:-}" ]; then printf '  checksum=sha-256=%s\n' "$5" >> "$list"; fi
}
# URL DIR NAME VAR [SHA256]: with the token in $VAR, curl fetches it now; curl sends the
# header to the URL's own host only, never to a redirect target, and follows https only.
with_token() {
  local token="${!4:-}"
  if [ -z "$token" ]; then queue "$1" "$2" "$3" - "${5:-}"; return; fi
  printf 'Authorization: Bearer %s\n' "$token" > "$hdr"
  curl -fL --proto '=https' --proto-redir '=https' -C - -H "@$hdr" -o "$2/$3" -- "$1"
  if [ -n "${5:-}" ]; then printf '%s  %s\n' "$5" "$2/$3" | sha256sum -c --quiet -; fi
}"""


def _has_control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _comment(text: str) -> str:
    """Text made safe for one ``#`` line: control characters shown as ``\\xNN``."""
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 32 or ord(c) == 127 else c for c in text)


def gaps_script(gaps) -> str:
    """A bash script of downloads for the missing models that carry a URL.

    Every value is shell-quoted and passed as an argument, never spliced into code or into
    aria2c's input file unchecked: a URL or name with a control character is refused (a
    comment says so). URLs lose any credential they carried. Token-bearing hosts are fetched
    with curl, which sends ``Authorization`` to the URL's own host only; aria2c (which would
    replay it on a redirect) never gets a token. Tokens are read from the environment when
    the script runs; nothing secret is written here.
    """
    import shlex
    from urllib.parse import urlsplit

    from .lock.urlclean import strip_url_secrets

    lines = [_SCRIPT_HEAD]
    seen: set[tuple[str, str]] = set()
    count = 0
    for g in gaps:
        for m in g.models:
            key = (m.ref.folder or "?", m.ref.name)
            if key in seen:
                continue
            seen.add(key)
            label = _comment(f"{key[0]}/{key[1]}")
            if not m.ref.url or not m.expected_path:
                lines.append(
                    f"# no download URL known for {label} (run `comfylock resolve` to find one)"
                )
                continue
            url = strip_url_secrets(_downloadable(m.ref.url))
            if _has_control(url) or _has_control(m.expected_path) or "\\" in url:
                lines.append(f"# skipped {label}: control characters in its URL or name")
                continue
            directory, _, name = m.expected_path.rpartition("/")
            args = " ".join(shlex.quote(v) for v in (url, directory, name))
            lines.append(f"mkdir -p -- {shlex.quote(directory)}")
            host = (urlsplit(url).hostname or "").lower()
            var = next(
                (
                    v
                    for suffix, v in _TOKEN_FOR_HOST
                    if host == suffix or host.endswith("." + suffix)
                ),
                None,
            )
            sha = m.sha256 if m.sha256 and re.fullmatch(r"[0-9a-f]{64}", m.sha256) else ""
            tail = f" {sha}" if sha else ""  # pinned by the lock: the bytes are verified
            lines.append(f"with_token {args} {var}{tail}" if var else f"queue {args} -{tail}")
            count += 1
    if count:
        lines.append('if [ -s "$list" ]; then')
        lines.append(
            "  aria2c --continue=true --split=16 --max-connection-per-server=16 --min-split-size=1M \\"
        )
        lines.append(
            '    --max-concurrent-downloads=4 --auto-file-renaming=false --input-file="$list"'
        )
        lines.append("fi")
    else:
        lines.append("echo 'nothing to download'")
    return "\n".join(lines) + "\n"


# --- `comfylock check` ----------------------------------------------------------------------


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


def staleness_text(staleness, lock, *, strict: bool, installed: list | tuple = ()) -> str:
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
        lines.append(f"unpinned: {ref}: {why}")
    if strict:
        for key in staleness.name_only:
            lines.append(f"weak pin: {key} was matched by file name only (--strict)")
    for problem in installed:
        lines.append(f"not installed: {problem}")
    if lines:
        lines += _check_fixes(staleness, strict=strict, installed=installed)
    else:
        lines.append(
            f"comfy.lock is up to date: {count(len(lock.workflow), 'workflow')}, {count(len(lock.model), 'model')}, {count(len(lock.node), 'node pack')}"
        )
    return _lines(lines) + "\n"


def _check_fixes(staleness, *, strict: bool, installed) -> list[str]:
    """One line per kind of finding, each naming the command that fixes that kind."""
    fixes = []
    new_refs = any(why.startswith("not in the lock") for _, why in staleness.unpinned)
    if staleness.changes or new_refs:
        fixes.append("fix: run `comfylock resolve` to update the lock")
    if any(not why.startswith("not in the lock") for _, why in staleness.unpinned):
        fixes.append(
            "fix: resolve cannot find the unpinned ones; pin each with "
            "`comfylock add SOURCE --folder F --name N` (civitai:ID, hf:OWNER/REPO/PATH or a URL)"
        )
    if strict and staleness.name_only:
        fixes.append(
            "fix: pin weak ones by hash with `comfylock add SOURCE --folder F --name N`, or put "
            "the file in the models tree and run `comfylock resolve --upgrade`"
        )
    if installed:
        fixes.append("fix: run `comfylock sync` to install")
    return fixes


# --- `comfylock resolve` --------------------------------------------------------------------


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
        "ambiguous": [{"class": cls, "candidates": list(c)} for cls, c in r.ambiguous],
    }


def suggestion_lines(suggestions, indent: str = "    ") -> list[str]:
    """A candidate per line: what it is and the command that pins it (never auto-pinned)."""
    lines = []
    for x in suggestions or ():
        lines.append(f"{indent}maybe ({x.kind}, name {round(x.score * 100)}% alike): {x.detail}")
        lines.append(f"{indent}  {x.command}")
    return lines


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
            ["  kept from the lock", str(s["kept"]), ""],
            ["  identified by hash", str(s["by_hash"]), ""],
            ["  by file name only", str(s["by_name"]), ""],
            ["unresolved", str(model_unresolved), str(node_unresolved)],
        ]
    )
    if s.get("snapshots") or snap_unresolved:
        lines.append(
            f"  repo snapshots: {s.get('snapshots', 0)} pinned, {snap_unresolved} unresolved"
        )
    for u in r.unresolved:
        lines.append(f"  unresolved {u.folder}/{u.name}: {u.reason}")
        lines += suggestion_lines(getattr(outcome, "suggestions", {}).get(f"{u.folder}/{u.name}"))
    for c in r.conflicts:
        if getattr(c, "what", "sha256") == "url":
            lines.append(
                f"  conflict {c.key}: {c.first[0]} names {c.first[1]}, {c.second[0]} names {c.second[1]}: not the same file"
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
    if outcome.check_only:
        lines.append(
            "comfy.lock would change"
            if outcome.changed or outcome.exit_code
            else "comfy.lock is up to date"
        )
    elif outcome.written:
        lines.append(f"wrote {shown_lock or outcome.lock_path}")
    elif outcome.exit_code:
        hint = (
            "pin each with `comfylock add SOURCE --folder F --name N`, or pass --allow-unresolved"
            if r.unresolved
            else "settle the conflicts"
        )
        lines.append(f"comfy.lock not written: {hint}")
    else:
        lines.append(f"{shown_lock or outcome.lock_path} unchanged")
    return _lines(lines) + "\n"
