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
                             "downloads": {"<input name>": "<dir relative to the ComfyUI root>"},
                             "widgets": ["<input name>", ...],
                             "claimed-by": ["<other pack id>", ...]}}}

``inputs`` follows the order of the node's ``INPUT_TYPES``. ``widgets`` (optional) is the
order of the UI's ``widgets_values``: the widget inputs as the frontend lays them out, with
``""`` for the extra value a seed widget's "control after generate" adds; the reader uses it
when a UI node does not name its widgets. ``claimed-by`` (optional) lists other packs that
define the same class: the class is then ambiguous and resolve says so.

An absent class or input means "the table does not know" — never a guess.

``COMFYLOCK_NODE_TABLE`` (read at call time) points at another data file of this shape:
tests inject small tables with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import msgspec

__all__ = [
    "ENV_TABLE",
    "download_dir",
    "fingerprint",
    "folder_dirs",
    "folder_of",
    "knows",
    "model_inputs",
    "pack_of",
    "pack_registry_id",
    "pack_repo",
    "packs_of",
    "pinned",
    "registered_folders",
    "widget_order",
]

ENV_TABLE = "COMFYLOCK_NODE_TABLE"


class _Pack(msgspec.Struct, frozen=True, rename="kebab"):
    repo: str
    commit: str = ""
    registry_id: str | None = None
    folders: dict[str, list[str]] = {}


class _Class(msgspec.Struct, frozen=True, rename="kebab"):
    pack: str
    inputs: dict[str, str] = {}
    downloads: dict[str, str] = {}
    widgets: list[str] = []
    claimed_by: list[str] = []


class _Table(msgspec.Struct, frozen=True):
    version: int
    packs: dict[str, _Pack] = {}
    classes: dict[str, _Class] = {}


_SHIPPED = os.path.join(os.path.dirname(__file__), "data", "custom_nodes.json")


_PINNED: list[str] = []


def _path() -> str:
    return _PINNED[-1] if _PINNED else (os.environ.get(ENV_TABLE) or _SHIPPED)


@contextmanager
def pinned() -> Iterator[None]:
    """Read the environment once for a whole workflow: the reader asks the table a few
    times per node, and ``os.environ`` lookups were a fifth of its time."""
    _PINNED.append(_path())
    try:
        yield
    finally:
        _PINNED.pop()


def _table() -> _Table:
    return _load(_path())


def fingerprint() -> str:
    """Which table answers (path, size, mtime), without reading it: caches of what the
    reader extracted key on it, so a new table is never hidden behind an old answer."""
    path = _path()
    try:
        st = os.stat(path)
    except OSError:
        return path
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


@lru_cache(maxsize=4)
def _load(path: str) -> _Table:
    with open(path, "rb") as fh:
        return msgspec.json.decode(fh.read(), type=_Table)


def knows(class_type: str) -> bool:
    """Whether the table read this class's code (its inputs are then known, not guessed)."""
    return class_type in _table().classes


def model_inputs(class_type: str) -> dict[str, str]:
    """{input name: folder key} of the class's model inputs, in ``INPUT_TYPES`` order."""
    entry = _table().classes.get(class_type)
    return dict(entry.inputs) if entry else {}


def widget_order(class_type: str) -> tuple[str, ...]:
    """The class's ``widgets_values`` layout in UI files (see the docstring), or ()."""
    entry = _table().classes.get(class_type)
    return tuple(entry.widgets) if entry else ()


def packs_of(class_type: str) -> tuple[str, ...]:
    """Every pack that defines ``class_type``: one id, or several when it is ambiguous."""
    entry = _table().classes.get(class_type)
    if entry is None:
        return ()
    return tuple(dict.fromkeys([entry.pack, *entry.claimed_by]))


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


def pack_registry_id(pack_id: str) -> str | None:
    pack = _table().packs.get(pack_id)
    return pack.registry_id if pack else None


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
    return registered_folders().get(folder, ())


def registered_folders() -> dict[str, tuple[str, ...]]:
    """Every folder packs register, with its directories (relative to the ComfyUI root)."""
    table = _table()
    if _FOLDER_INDEX and _FOLDER_INDEX[0] is table:
        return _FOLDER_INDEX[1]
    index: dict[str, list[str]] = {}
    for pack in table.packs.values():
        for name, dirs in pack.folders.items():
            known = index.setdefault(name, [])
            known.extend(d for d in dirs if d not in known)
    _FOLDER_INDEX[:] = [table, {k: tuple(v) for k, v in index.items()}]
    return _FOLDER_INDEX[1]


_FOLDER_INDEX: list = []  # [table, {folder: dirs}] for the table last asked
