"""Where the third-party data in data/node_map.json came from, and under which licence.

ComfyUI-Manager's ``extension-node-map.json`` is third-party data (GPL-3.0, the licence of the
ComfyUI-Manager repository). The file records its repository, the commit that holds exactly
the bytes read (found in a git snapshot of ComfyUI-Manager by the file's git blob id; null
when no snapshot at hand has it) and that commit's date.
"""

from __future__ import annotations

from pathlib import Path

from .gitread import blob_id, commit_date, commit_holding, read_text

__all__ = ["MANAGER_FILE", "MANAGER_LICENSE", "MANAGER_REPO", "manager_source"]

MANAGER_FILE = "extension-node-map.json"
MANAGER_REPO = "https://github.com/Comfy-Org/ComfyUI-Manager"  # formerly ltdrdata/ComfyUI-Manager
# LICENSE.txt of ComfyUI-Manager (GPL v3 text; checked at 908a1009 and 674b9f37) and its
# pyproject.toml `license = { file = "LICENSE.txt" }`; re-checked whenever a snapshot is given.
MANAGER_LICENSE = "GPL-3.0"


def manager_source(manager: Path, gitdir: Path | None, previous: dict) -> tuple[dict, str]:
    """(the ``source`` record of ``manager``'s extension-node-map.json, a note for the run).

    ``gitdir``: a git snapshot of ComfyUI-Manager to find the commit holding these bytes in;
    without one (or when it lacks them) the previous record's commit stands if it named the
    same bytes, else the commit is null: unknown, the blob id still identifies the file."""
    blob = blob_id((manager / MANAGER_FILE).read_bytes())
    commit = date = None
    note = ""
    if gitdir is not None and gitdir.is_dir():
        commit = commit_holding(str(gitdir), MANAGER_FILE, blob)
        if commit is None:
            note = f"no commit of {gitdir} holds {MANAGER_FILE} blob {blob[:12]}"
        else:
            date = commit_date(str(gitdir), commit)
            note = _license_note(str(gitdir), commit)
    if commit is None and previous.get("blob") == blob:
        commit, date = previous.get("commit"), previous.get("commit-date")
    return {
        "file": MANAGER_FILE,
        "repo": MANAGER_REPO,
        "commit": commit,
        "commit-date": date,
        "blob": blob,
        "license": MANAGER_LICENSE,
        "read-from": _shown(manager / MANAGER_FILE),
    }, note


def _license_note(gitdir: str, commit: str) -> str:
    head = (read_text(gitdir, commit, "LICENSE.txt") or "")[:400]
    if "GNU GENERAL PUBLIC LICENSE" in head and "Version 3" in head:
        return ""
    return f"LICENSE.txt at {commit[:12]} is not the GPL v3 text: check MANAGER_LICENSE"


def _shown(path: Path) -> str:
    """``path`` from the directory holding the project (``shared/comfyui/manager/…``)."""
    root = Path(__file__).resolve().parents[3]
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.name
