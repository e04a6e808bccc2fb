"""The custom-node knowledge table: which folder a custom node's input reads, which pack a
class belongs to, the folders packs register, and where download-and-load nodes put the
Hugging Face repos they fetch. Generated from the packs' own source code by
``tools/gen_node_table.py`` into ``data/custom_nodes.json`` (provenance: repo + commit per
pack); loaded lazily, once, on first use.

Shape of the data file (version 1)::

    {"version": 1,
     "packs": {"<pack id>": {"repo": "https://github.com/o/r", "commit": "<40 hex>",
                             "registry-id": "<id>" | null,
                             "folders": {"<folder key>": ["<dir relative to the ComfyUI root>", ...]}}},
     "classes": {"<class>": {"pack": "<pack id>",
                             "inputs": {"<input name>": "<folder key>"},
                             "downloads": {"<input name>": "<dir relative to the ComfyUI root>"}}}}

An absent class or input means "the table does not know" — never a guess.
"""

from __future__ import annotations

import os
from functools import lru_cache

import msgspec

__all__ = ["download_dir", "folder_dirs", "folder_of", "pack_of", "pack_repo"]


class _Pack(msgspec.Struct, frozen=True, rename="kebab"):
    repo: str
    commit: str = ""
    registry_id: str | None = None
    folders: dict[str, list[str]] = {}


class _Class(msgspec.Struct, frozen=True):
    pack: str
    inputs: dict[str, str] = {}
    downloads: dict[str, str] = {}


class _Table(msgspec.Struct, frozen=True):
    version: int
    packs: dict[str, _Pack] = {}
    classes: dict[str, _Class] = {}


@lru_cache(maxsize=1)
def _table() -> _Table:
    path = os.path.join(os.path.dirname(__file__), "data", "custom_nodes.json")
    with open(path, "rb") as fh:
        return msgspec.json.decode(fh.read(), type=_Table)


def folder_of(class_type: str, input_name: str) -> str | None:
    """The ``folder_paths`` key the class's input reads, or None when the table does not know."""
    entry = _table().classes.get(class_type)
    return entry.inputs.get(input_name) if entry else None


def pack_of(class_type: str) -> str | None:
    """The id of the pack that provides ``class_type``, or None."""
    entry = _table().classes.get(class_type)
    return entry.pack if entry else None


def pack_repo(pack_id: str) -> str | None:
    pack = _table().packs.get(pack_id)
    return pack.repo if pack else None


def download_dir(class_type: str, input_name: str) -> str | None:
    """Where a download-and-load node puts the Hugging Face repo named by ``input_name``
    (relative to the ComfyUI root, ``/`` separators), or None. ``{repo_id}``,
    ``{repo_owner}`` and ``{repo_name}`` stand for the repo id and its parts
    (``models/LLM/{repo_name}``); a dir without them is the repo's own directory (see
    ``workflows.repos.repo_dir``)."""
    entry = _table().classes.get(class_type)
    return entry.downloads.get(input_name) if entry else None


def folder_dirs(folder: str) -> tuple[str, ...]:
    """Directories (relative to the ComfyUI root) that packs register for ``folder``."""
    out: list[str] = []
    for pack in _table().packs.values():
        out.extend(d for d in pack.folders.get(folder, ()) if d not in out)
    return tuple(out)
