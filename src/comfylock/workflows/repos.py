"""Hugging Face repos that download-and-load nodes fetch whole at run time.

A node such as ``DownloadAndLoadCogVideoModel`` holds a repo id (``THUDM/CogVideoX-5b``) in a
widget and, when its directory is missing, downloads the whole repo's newest revision there.
The custom-node knowledge table says which (class, input) does that and where the repo goes
(``nodetable.download_dir``, relative to the ComfyUI root; ``{repo_id}``, ``{repo_owner}`` and
``{repo_name}`` in it stand for the id and its parts). Such a widget value becomes a
``RepoRef`` that resolve pins as a snapshot. Pure: no filesystem, no network.

Only a directory under ``models/`` or ``custom_nodes/`` is a place comfylock fills; anything
else (the Hugging Face cache, which the table writes as ``hf-cache``, several candidate
directories, an unknown placeholder) is not one, and the value stays unlocked rather than
placed where the node may not look.

The value is checked strictly: exactly ``owner/name`` as the hub spells ids (letters, digits,
``.``, ``_``, ``-``; no ``..``); anything else (a local path, a URL, free text) is not a repo.
"""

from __future__ import annotations

import re
from typing import Any

from ..pathsafe import normalise_name, unsafe_reason
from . import nodetable
from .refs import REPO_ID_PATTERN, RepoRef

__all__ = ["is_repo_id", "repo_dir", "repo_reference"]

_REPO_ID = re.compile(REPO_ID_PATTERN)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_ROOTS = ("models", "custom_nodes")


def is_repo_id(value: Any) -> bool:
    """``owner/name`` exactly as the hub allows it; never a path with ``..`` or a URL."""
    return isinstance(value, str) and _REPO_ID.match(value) is not None


def repo_dir(template: Any, repo: str) -> str | None:
    """The directory a repo goes to: the table's ``template`` with the placeholders filled
    in, normalised; None when it is not one plain string, names another placeholder, is
    unsafe, or lies outside ``models/`` and ``custom_nodes/``."""
    if not isinstance(template, str):
        return None  # several candidate directories: the table cannot say which
    owner, _, name = repo.partition("/")
    values = {"repo_id": repo, "repo_name": name, "repo_owner": owner}
    if any(key not in values for key in _PLACEHOLDER.findall(template)):
        return None
    path = normalise_name(_PLACEHOLDER.sub(lambda m: values[m.group(1)], template)).rstrip("/")
    if unsafe_reason(path) or path.split("/")[0] not in _ROOTS or "/" not in path:
        return None
    return path


def repo_reference(
    class_type: str, input_name: str, value: Any, *, node_id: str, active: bool = True
) -> RepoRef | None:
    """A repo reference when the table marks ``(class_type, input_name)`` as a repo download
    and ``value`` is a repo id; else None."""
    if not is_repo_id(value):
        return None
    template = nodetable.download_dir(class_type, input_name)
    where = repo_dir(template, value) if template else None
    if where is None:
        return None
    return RepoRef(
        repo=value,
        dir=where,
        node_id=node_id,
        node_type=class_type,
        input=input_name,
        active=active,
    )
