"""What a workflow is missing on this machine (``comfylock report``): text for a terminal,
JSON, Markdown, and a
bash script of aria2c commands (tokens read from the environment when it runs, never written
in). Pure: returns strings.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ..basics.units import count
from .references import model_json, node_json, pack_hint
from .resolution import as_hint
from .text import lines_text, table

__all__ = [
    "gaps_json",
    "gaps_markdown",
    "gaps_script",
    "gaps_text",
]


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


def gaps_text(gaps, *, comfyui_root: str | None, models_dir: str | None) -> str:
    """For a terminal: per workflow, what is missing, as aligned rows with paths relative to
    the models root (``--format markdown`` gives the tables with full paths)."""
    lines = [f"models: {models_dir or comfyui_root or '-'}"]
    for g in gaps:
        lines += ["", g.path]
        if not (g.models or g.nodes or g.invalid):
            lines.append("  everything it needs is installed")
            continue
        if g.models:
            lines.append(f"  missing {count(len(g.models), 'model')}:")
            rows = []
            for m in g.models:
                node = f"node {m.ref.node_id} {m.ref.node_type}".strip()
                rows.append(
                    [f"{m.ref.folder or '?'}/{m.ref.name}", node, "url" if m.ref.url else ""]
                )
            lines += table(rows, indent="    ")
            for m in g.models:
                for x in m.suggestions:
                    lines.append(f"    maybe ({x.evidence}): {x.detail}")
                    lines.append(f"      {as_hint(x.command)}")
        if g.nodes:
            lines.append(
                f"  missing {count(len(g.nodes), 'custom node class', 'custom node classes')}:"
            )
            rows = [
                [n.node.class_type, f"node {n.node.node_id}", pack_hint(n.node)] for n in g.nodes
            ]
            lines += table(rows, indent="    ")
        for ref in g.invalid:
            lines.append(f"  invalid name {ref.name!r} on node {ref.node_id}: {ref.invalid}")
    return lines_text(lines).rstrip() + "\n"


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
                hint = pack_hint(n.node).removeprefix("pack: ")
                lines.append(
                    f"| {_md_cell(n.node.class_type)} | {_md_cell(n.node.node_id)} | {_md_cell(hint)} |"
                )
            lines.append("")
        for ref in g.invalid:
            lines.append(f"- invalid name `{ref.name}` on node {ref.node_id}: {ref.invalid}")
    return lines_text(lines).rstrip() + "\n"


def _downloadable(url: str) -> str:
    """A Hugging Face ``/blob/`` page URL becomes the file's ``/resolve/`` URL."""
    import re

    return re.sub(
        r"^(https://huggingface\.co/(?:(?:datasets|spaces)/)?[^/]+/[^/]+)/blob/",
        r"\1/resolve/",
        url,
    )


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

    from ..basics.redact import strip_url_secrets

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
