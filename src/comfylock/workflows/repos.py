"""Hugging Face repos that download-and-load nodes fetch whole at run time.

A node such as ``DownloadAndLoadCogVideoModel`` holds a repo id (``THUDM/CogVideoX-5b``) in a
widget and, when its directory is missing, downloads the whole repo's newest revision there.
The custom-node knowledge table says which (class, input) does that and where the repo goes
(``nodetable.download_dir``, relative to the ComfyUI root; ``{repo_name}`` / ``{repo_owner}``
in it stand for the id's parts). Such a widget value becomes a ``RepoRef`` that resolve pins
as a snapshot. Pure: no filesystem, no network.

The value is checked strictly: exactly ``owner/name`` as the hub spells ids (letters, digits,
``.``, ``_``, ``-``; no ``..``); anything else (a local path, a URL, free text) is not a repo.
"""

from __future__ import annotations

import re
from typing import Any

from ..lock.model import REPO_ID_PATTERN, RepoRef
from ..pathsafe import normalise_name, unsafe_reason
from . import nodetable

__all__ = ["is_repo_id", "repo_dir", "repo_reference"]

_REPO_ID = re.compile(REPO_ID_PATTERN)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def is_repo_id(value: Any) -> bool:
    """``owner/name`` exactly as the hub allows it; never a path with ``..`` or a URL."""
    return isinstance(value, str) and _REPO_ID.match(value) is not None


def repo_dir(template: str, repo: str) -> str | None:
    """The directory a repo goes to: the table's ``template`` with ``{repo_name}`` and
    ``{repo_owner}`` filled in, normalised; None when the result is unsafe or the template
    names another placeholder."""
    owner, _, name = repo.partition("/")
    values = {"repo_name": name, "repo_owner": owner}
    if any(key not in values for key in _PLACEHOLDER.findall(template)):
        return None
    path = normalise_name(_PLACEHOLDER.sub(lambda m: values[m.group(1)], template)).rstrip("/")
    return None if unsafe_reason(path) else path


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
