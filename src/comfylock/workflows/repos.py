"""What download-and-load nodes fetch at run time: whole Hugging Face repos, files of them,
files behind a URL.

A node such as ``DownloadAndLoadCogVideoModel`` holds a repo id (``THUDM/CogVideoX-5b``) in a
widget and, when its directory is missing, downloads the whole repo's newest revision there.
The custom-node knowledge table says which (class, input) does that and where the repo goes
(``nodetable.download_dir``, relative to the ComfyUI root; ``{repo_id}``, ``{repo_owner}`` and
``{repo_name}`` in it stand for the id and its parts). Such a widget value becomes a
``RepoRef`` that resolve pins as a snapshot. Other nodes name a label their code maps to a
repo or a URL (``sam_vit_h (2.56GB)``, ``Qwen3-VL-2B-Instruct``): the table's ``fetches`` say
what each value downloads and where (``fetched``), a whole repo (a ``RepoRef``, with the
code's allow-patterns), one file of a repo or a URL's file (a model reference with its URL,
placed in the directory the code names, a ComfyUI folder or the pack's own directory). A
value the code does not map, or a place comfylock cannot fill (the Hugging Face cache), is
"cannot tell" with the reason, never dropped. Pure: no filesystem, no network.

Only a directory under ``models/`` or ``custom_nodes/`` is a place comfylock fills; anything
else (the Hugging Face cache, which the table writes as ``hf-cache``, several candidate
directories, an unknown placeholder) is not one, and the value stays unlocked rather than
placed where the node may not look.

The value is checked strictly: exactly ``owner/name`` as the hub spells ids (letters, digits,
``.``, ``_``, ``-``; no ``..``); anything else (a local path, a URL, free text) is not a repo.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import quote

from ..pathsafe import normalise_name, unsafe_reason
from . import nodetable, tables
from .inference import is_model_filename
from .refs import REPO_ID_PATTERN, RepoRef

__all__ = [
    "ALWAYS_INPUT",
    "Fetched",
    "always_fetched",
    "fetched",
    "is_repo_id",
    "place_folder",
    "repo_dir",
    "repo_reference",
]

ALWAYS_INPUT = "(first run)"  # the input named by what a node downloads whatever its values

_REPO_ID = re.compile(REPO_ID_PATTERN)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


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
    if unsafe_reason(path) or path.split("/")[0] not in tables.ROOT_DIRS or "/" not in path:
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


class Fetched(NamedTuple):
    """What one widget value makes a node download: whole repos, and files (``add_ref``
    keyword arguments: folder, name, url; or no folder and the reason)."""

    repos: list[RepoRef]
    files: list[dict]


def fetched(
    class_type: str, input_name: str, value: str, *, node_id: str, active: bool = True
) -> Fetched | None:
    """What ``value`` in ``class_type.input_name`` downloads (the table's ``fetches``), or
    None when the input's value decides no download."""
    by_value = nodetable.fetches(class_type, input_name)
    if by_value is None:
        return None
    targets = by_value.get(value)
    if targets == []:
        return None  # this value downloads nothing: the input is read as any other
    if targets is None:
        # the code downloads the value itself as a repo (``snapshot_download(repo_id=model)``):
        # a repo id its list does not offer (another version's list) lands the same way
        ref = repo_reference(class_type, input_name, value, node_id=node_id, active=active)
        if ref is not None:
            return Fetched([ref], [])
        listed = nodetable.folder_of(class_type, input_name)
        if isinstance(listed, str) and listed and is_model_filename(value):
            # the code reads the value as a file of that folder and fetches only the names
            # its list offers: another version's name is still read there (its source unknown)
            return Fetched([], [{"folder": listed, "name": value}])
        why = f"{class_type}.{input_name} downloads what its code maps each value to, and {value!r} is not one of them"
        return Fetched([], [{"folder": None, "name": value, "reason": f"cannot tell: {why}"}])
    out = Fetched([], [])
    where = dict(node_id=node_id, node_type=class_type, input=input_name, active=active)
    for target in targets:
        _add_target(out, target, value, where)
    listed = nodetable.folder_of(class_type, input_name)
    files = [f for f in out.files if f.get("url")]
    if listed and len(files) == 1 and len(out.files) == 1 and not out.repos:
        # the node lists the file in a folder and fetches it from elsewhere on first use
        # (a temp dir it then moves from): the folder is where it reads it, the fetch a source
        out.files[0] = {**files[0], "folder": listed, "name": value}
    return out


def always_fetched(class_type: str, *, node_id: str, active: bool = True) -> Fetched | None:
    """What a node of ``class_type`` downloads on its first run whatever its values (the
    table's ``always``: a controlnet preprocessor's annotator weights), or None."""
    targets = nodetable.always(class_type)
    if not targets:
        return None
    out = Fetched([], [])
    where = dict(node_id=node_id, node_type=class_type, input=ALWAYS_INPUT, active=active)
    for target in targets:
        _add_target(out, target, "", where)
    return out


def _add_target(out: Fetched, target: dict, value: str, where: dict) -> None:
    place = target.get("dir")
    why = _unplaceable(target, place)
    if why is not None:
        name = target.get("name") or target.get("file") or value
        out.files.append({"folder": None, "name": name, "reason": f"cannot tell: {why}"})
        return
    folder = place_folder(place)
    if "url" in target:
        out.files.append({"folder": folder, "name": target["name"], "url": target["url"]})
    elif "file" in target:
        kind = {"space": "spaces/", "dataset": "datasets/"}.get(str(target.get("type")), "")
        url = f"https://huggingface.co/{kind}{target['repo']}/resolve/main/{quote(target['file'])}"
        out.files.append({"folder": folder, "name": target["file"], "url": url})
    else:
        allow = tuple(target.get("allow") or ())
        out.repos.append(RepoRef(repo=target["repo"], dir=place, allow=allow, **where))


def _unplaceable(target: dict, place) -> str | None:
    if "dynamic" in target:
        return f"the download at {target['dynamic']}"  # "x.py:12: the file name is built …"
    if place == "hf-cache" or not isinstance(place, str):
        return "it downloads into the Hugging Face cache, not a directory comfylock fills"
    if "repo" in target and not is_repo_id(target["repo"]):
        return f"{target['repo']!r} is not a Hugging Face repo id"
    if unsafe_reason(place) or not tables.under_root(place):
        return f"it downloads into {place!r}, outside models/ and custom_nodes/"
    return None


def place_folder(place: str) -> str:
    """The folder of a directory a node downloads into: a core folder whose directory it is
    (``models/sams`` -> ``sams`` when registered so, ``models/clip`` -> ``text_encoders``),
    else the directory itself, relative to the ComfyUI root (``custom_nodes/<pack>/ckpts``)."""
    parts = place.split("/")
    if parts[0] == "models" and len(parts) == 2:
        for folder in tables.folder_names():
            if parts[1] in tables.default_dirs(folder):
                return tables.canonical_folder(folder)
        for folder, dirs in nodetable.registered_folders().items():
            if dirs and dirs[0] == place:
                return folder
        return parts[1]  # a folder nobody registers lives at models/<folder>
    return place
