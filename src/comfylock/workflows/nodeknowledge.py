"""Where the custom-node knowledge table's facts come from: the shape of
``data/custom_nodes.json``, loading it, pinning one table for a run, and merging extra facts
(``Knowledge``: the packs installed here, a lock's ``[[class]]``) over it. ``nodetable``
answers questions from whichever table this module says answers now.

Shape of the data file (version 1; one pack field, class name or class entry a line, so a
regeneration is a readable diff)::

    {"version": 1, "generator": {"tool": "tools/nodetable", "scanner-version": <n>},
     "ranking": "<where the list of packs came from>",
     "packs": {"<pack id>": {"repo": "https://github.com/o/r", "commit": "<40 hex>",
                             "commit-date": "<UTC, when the snapshot gave it>",
                             "registry-id": "<id>" | null,
                             "folders": {"<folder key>": ["<dir relative to the ComfyUI root>", ...]},
                             "nodes": ["<every class the pack's code provides>", ...],
                             "unread": <places in the pack static reading could not follow>}},
     "classes": {"<class>": {"pack": "<pack id>" | "packs": ["<pack id>", ...],
                             "inputs": {"<input name>": "<folder key>" | ["<key>", ...]},
                             "fileless": {"<input name>": ["<the node's own word>", ...]},
                             "downloads": {"<input name>": "<dir>" | ["<dir>", ...]},
                             "dynamic": ["<input name>" | "*", ...],
                             "widgets": ["<input name>", ...],
                             "widget-kinds": "<one letter a widget>",
                             "claimed-by": ["<other pack id>", ...],
                             "variants": {"<pack id>": {<that pack's facts>}, ...}}}}

A pack id is the pack's Comfy Registry id (its ``pyproject.toml`` name) where it has one, else
``owner/repo``. ``classes`` holds the classes with facts or several packs; a class in a pack's
``nodes`` and nowhere in ``classes`` was read and takes no model. ``inputs`` follows the order
of the node's ``INPUT_TYPES``; an input listing several folder keys lists files of all of
them: no one folder (``folder_of`` says None, ``folders_of`` gives them); ``fileless``: the
words a node offers beside the files (``["None", "Auto"] + names``), which name no file. ``downloads``: the
placeholders ``{repo_id}``/``{repo_name}`` (see ``download_dir``); ``hf-cache`` is the Hugging
Face cache (``hf-cache:<dir>`` a ``cache_dir``); a list is several directories chosen by the
value. ``dynamic``: inputs whose file list the code builds in a way static reading cannot
follow (``*``: the whole class) — "cannot tell". ``widgets`` (optional) is the order of the
UI's ``widgets_values``: the widget inputs as the frontend lays them out, with ``""`` for the
extra value a seed widget's "control after generate" adds, ``"?name"`` for an input static
reading cannot tell is a widget or a link, ``"*"`` for inputs the code builds beyond reading;
the reader uses it when a UI node does not name its widgets (``widgets.layout_names``), and
``widget-kinds`` (``i`` int, ``f`` float, ``b`` boolean, ``s`` string, ``c`` a choice, ``k`` a
control value, ``?``/``*`` unknown; absent when it would check nothing) to tell where a node of
another version stops fitting the layout. Several packs for a class (``packs``, or ``pack`` plus
``claimed-by``) make it ambiguous: resolve says so. Where their code disagrees the class is
``dynamic: *`` and ``variants`` holds each pack's facts: a UI node whose ``cnr_id``/``aux_id``
names one of them is read with that pack's (``for_pack``), any other node is "cannot tell".

``generator`` and ``commit-date`` are provenance for reviewers; the loader skips them.

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
    "ClassEntry",
    "Knowledge",
    "PackEntry",
    "Table",
    "combine",
    "current_table",
    "fingerprint",
    "knowledge",
    "pinned",
]

ENV_TABLE = "COMFYLOCK_NODE_TABLE"


class PackEntry(msgspec.Struct, frozen=True, rename="kebab"):
    repo: str
    commit: str = ""
    registry_id: str | None = None
    folders: dict[str, list[str]] = {}
    nodes: list[str] = []
    unread: int = 0
    origin: str | None = None  # where the facts come from when not the shipped table
    scanner: int | None = None  # the scanner that read it, when older than the table's


class ClassEntry(msgspec.Struct, frozen=True, rename="kebab"):
    pack: str | None = None
    packs: list[str] = []
    inputs: dict[str, str | list[str]] = {}
    downloads: dict[str, str | list[str]] = {}
    fetches: dict[str, dict[str, list[dict[str, str | list[str]]]]] = {}
    always: list[dict[str, str | list[str]]] = []  # what its node downloads whatever its values
    widgets: list[str] = []
    widget_kinds: str = ""
    fileless: dict[str, list[str]] = {}  # input -> the node's own words beside its files
    claimed_by: list[str] = []
    dynamic: list[str] = []
    # input -> [another pack's class, its input]: the node hands the value to that node
    # (``NODE_CLASS_MAPPINGS["X"]().load(value)``), whose facts place it (``nodetable``)
    delegates: dict[str, list[str]] = {}
    # a class several packs provide with code that disagrees: each pack's facts, used for a
    # node that names its pack (``for_pack``) or a [nodes] pin; the entry itself keeps what
    # they agree on, the inputs they differ on ``dynamic``
    variants: dict[str, dict] = {}


class Table(msgspec.Struct, frozen=True):
    version: int
    generator: dict = {}
    ranking: str = ""
    packs: dict[str, PackEntry] = {}
    classes: dict[str, ClassEntry] = {}
    source: str = ""  # a merged table: which file and which extra facts (``fingerprint``)


_SHIPPED = os.path.join(os.path.dirname(__file__), "data", "custom_nodes.json")


_PINNED: list = []  # the tables pinned by ``pinned()``: a file's path, or a merged Table


def _path() -> str:
    return os.environ.get(ENV_TABLE) or _SHIPPED


@contextmanager
def pinned(extra: Knowledge | None = None) -> Iterator[None]:
    """Answer from one table for a whole run: the file (read from the environment once: the
    reader asks the table a few times per node, and ``os.environ`` lookups were a fifth of its
    time), with ``extra`` (``Knowledge``: the packs installed here, the facts a lock
    recorded) over it when given. Nested pins keep the outer one's answers."""
    if extra is not None and (extra.packs or extra.classes):
        merged = _merged(current_table(), extra)
        _PINNED.append(msgspec.structs.replace(merged, source=f"{fingerprint()}+{extra.digest}"))
    else:
        _PINNED.append(_PINNED[-1] if _PINNED else _path())
    try:
        yield
    finally:
        _PINNED.pop()


def current_table() -> Table:
    top = _PINNED[-1] if _PINNED else _path()
    return top if isinstance(top, Table) else _load(top)


class Knowledge(msgspec.Struct, frozen=True):
    """Facts beyond the shipped table, in its shape: packs (``origin`` says where they were
    read: ``installed pack at <commit>``, ``comfy.lock``) and their classes. Over the table,
    a class it gives replaces the table's entry; ``digest`` names the facts for caches."""

    packs: dict[str, PackEntry] = {}
    classes: dict[str, ClassEntry] = {}
    digest: str = ""


def knowledge(data: dict, digest: str = "") -> Knowledge:
    """``Knowledge`` from table-shaped data (``{"packs": {...}, "classes": {...}}``)."""
    return msgspec.convert({**data, "digest": digest}, Knowledge)


def _merged(table: Table, extra: Knowledge) -> Table:
    packs = {**table.packs, **extra.packs}
    classes = {**table.classes, **extra.classes}
    # a class an extra pack provides is that pack's, even where the table named another
    for pack_id, pack in extra.packs.items():
        for name in pack.nodes:
            if name not in extra.classes and name in classes:
                classes[name] = msgspec.structs.replace(
                    classes[name], pack=pack_id, packs=[], claimed_by=[]
                )
    return msgspec.structs.replace(table, packs=packs, classes=classes)


def fingerprint() -> str:
    """Which table answers (path, size, mtime; and the extra facts' digest), without reading
    it: caches of what the reader extracted key on it, so a new table is never hidden behind
    an old answer."""
    top = _PINNED[-1] if _PINNED else _path()
    if isinstance(top, Table):
        return top.source
    path = top
    try:
        st = os.stat(path)
    except OSError:
        return path
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


@lru_cache(maxsize=4)
def _load(path: str) -> Table:
    with open(path, "rb") as fh:
        return msgspec.json.decode(fh.read(), type=Table)


def combine(*parts: Knowledge | None) -> Knowledge | None:
    """Several extra facts, later ones over earlier ones (None when there are none)."""
    given = [p for p in parts if p is not None and (p.packs or p.classes)]
    if not given:
        return None
    packs: dict = {}
    classes: dict = {}
    for part in given:
        packs.update(part.packs)
        classes.update(part.classes)
    return Knowledge(packs=packs, classes=classes, digest="+".join(p.digest for p in given))
