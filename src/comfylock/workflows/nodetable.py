"""The custom-node knowledge table: which folder a custom node's input reads, which pack a
class belongs to, the folders packs register, and where download-and-load nodes put the
Hugging Face repos they fetch. Generated from the packs' own source code by
``tools/nodetable/`` into ``data/custom_nodes.json`` (provenance: repo + commit per
pack); loaded lazily, once, on first use. Classes the table did not read can still be named
offline from ``data/node_map.json`` (ComfyUI-Manager's class -> pack facts: ``mapped_packs``),
loaded only when asked.

An absent class or input means "the table does not know" — never a guess.

``data/node_map.json`` (version 2) is ``{"generator", "source": {repo, commit, commit-date,
blob, license, ...}, "packs": [[id, repo, [class, ...]], ...], "patterns": [[regex, repo]]}``:
ComfyUI-Manager's data (GPL-3.0), its provenance in ``source``.

The data file's shape, and which table answers (the shipped one, ``COMFYLOCK_NODE_TABLE``'s,
extra facts pinned over it), are ``nodeknowledge``'s.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache

import msgspec

from . import nodeknowledge
from .delegation import readers, with_delegates
from .nodeknowledge import ClassEntry, Knowledge

__all__ = [
    "always",
    "chosen_variants",
    "installed_variants",
    "disagreeing_packs",
    "class_facts",
    "download_dir",
    "download_dirs",
    "fetches",
    "fileless",
    "folder_dirs",
    "folder_of",
    "folders_of",
    "for_pack",
    "for_workflow",
    "needed_packs",
    "is_dynamic",
    "is_unread",
    "has_unplaced_inputs",
    "installed_commit",
    "knows",
    "mapped_packs",
    "named_packs",
    "model_inputs",
    "origin",
    "pack_commit",
    "pack_ids",
    "pack_of",
    "pack_registry_id",
    "pack_repo",
    "pack_scanner",
    "packs_of",
    "registered_folders",
    "registry_repo",
    "scanner_version",
    "widget_kinds",
    "widget_order",
]


class _NodeMap(msgspec.Struct, frozen=True):
    # (pack id, repo, [class, ...]): a pack's classes a list searched in place (no index to
    # build: a run looks up a few classes; indexing 25k names would cost more)
    packs: list[tuple[str, str, list[str]]] = []
    patterns: list[tuple[str, int]] = []  # (regex, index of the pack it names)
    classes: dict[str, int | list[int]] = {}  # class -> pack index(es), for small hand-made maps


class _NodeMapFile(msgspec.Struct, frozen=True):
    """data/node_map.json (version 2; ``generator`` and ``source``, provenance, are not read
    here). ``patterns`` name their pack by repo, so adding a pack changes no other line."""

    packs: list[tuple[str, str, list[str]]] = []
    patterns: list[tuple[str, str]] = []  # (regex, repo)


def _owners() -> dict[str, tuple[str, ...]]:
    """class -> the packs whose code provides it (from each pack's ``nodes``)."""
    table = nodeknowledge.current_table()
    if _OWNERS and _OWNERS[0] is table:
        return _OWNERS[1]
    out: dict[str, tuple[str, ...]] = {}
    for pack_id, pack in table.packs.items():
        for name in pack.nodes:
            out[name] = (*out.get(name, ()), pack_id)
    _OWNERS[:] = [table, out]
    return out


_OWNERS: list = []  # [table, {class: pack ids}] for the table last asked


@contextmanager
def for_pack(cnr_id: str | None, aux_id: str | None) -> Iterator[None]:
    """Read the classes of one node as the pack it names (``properties.cnr_id``: a registry
    id; ``aux_id``: ``owner/repo``): for a class several packs provide with code that
    disagrees (``variants``), that pack's facts."""
    _HINT.append((cnr_id or "", (aux_id or "").strip().lower()))
    try:
        yield
    finally:
        _HINT.pop()


_HINT: list[tuple[str, str]] = []  # (cnr_id, owner/repo) of the node being read


@contextmanager
def for_workflow(needed: frozenset[str]) -> Iterator[None]:
    """Read one workflow knowing the packs it surely needs (``needed_packs``): a class
    several packs provide with code that disagrees, where exactly one of them is among those
    packs and the node names none, is read with that pack's facts. The workflow was made
    with that pack installed; a fork that copied its classes would be needed for a class of
    its own."""
    _NEEDED.append(needed)
    try:
        yield
    finally:
        _NEEDED.pop()


_NEEDED: list[frozenset[str]] = []  # the packs the workflow being read surely needs


def needed_packs(uses: Iterable[tuple[str, str | None, str | None]]) -> frozenset[str]:
    """The table's packs a workflow surely needs, from its nodes' (class, cnr_id, aux_id):
    the pack a node names, else the only pack whose code provides its class."""
    owners, out = _owners(), set()
    for class_type, cnr_id, aux_id in uses:
        named = _pack_named(cnr_id or "", (aux_id or "").strip().lower())
        if named is not None:
            out.add(named)
        elif len(owners.get(class_type, ())) == 1:
            out.add(owners[class_type][0])
    return frozenset(out)


def _pack_named(cnr_id: str, aux_id: str) -> str | None:
    """The table's pack a node's ``cnr_id`` (registry id) or ``aux_id`` (owner/repo) names."""
    if not cnr_id and not aux_id:
        return None
    table = nodeknowledge.current_table()
    if not _NAMES or _NAMES[0] is not table:
        names: dict[str, str] = {}
        for pack_id, pack in table.packs.items():
            repo = pack.repo.lower().removesuffix(".git").rstrip("/")
            names.setdefault(f"aux:{pack_id.lower()}", pack_id)
            names.setdefault(f"aux:{repo.split('github.com/')[-1]}", pack_id)
            for rid in (pack_id, pack.registry_id):
                if rid:
                    names.setdefault(f"cnr:{rid}", pack_id)
        _NAMES[:] = [table, names]
    names = _NAMES[1]
    return (
        (cnr_id and names.get(f"cnr:{cnr_id}")) or (aux_id and names.get(f"aux:{aux_id}")) or None
    )


_NAMES: list = []  # [table, {"cnr:<id>" | "aux:<owner/repo>": pack id}] for the table last asked


def _entry(class_type: str) -> ClassEntry | None:
    entry = _own_entry(class_type)
    if entry is None or not entry.delegates:
        return entry
    return with_delegates(class_type, entry, _own_entry)


def _own_entry(class_type: str) -> ClassEntry | None:
    entry = nodeknowledge.current_table().classes.get(class_type)
    if entry is None or not entry.variants:
        return entry
    pack_id = _variant_named(entry, *_HINT[-1]) if _HINT and any(_HINT[-1]) else None
    if pack_id is None and _NEEDED:
        ours = [p for p in entry.variants if p in _NEEDED[-1]]
        pack_id = ours[0] if len(ours) == 1 else None
    if pack_id is None:
        return entry
    return _variant(pack_id, msgspec.json.encode(entry.variants[pack_id]))


def _variant_named(entry: ClassEntry, cnr_id: str, aux_id: str) -> str | None:
    """The pack among the class's ``variants`` that a registry id or ``owner/repo`` names."""
    for named in (_pack_named(cnr_id, ""), _pack_named("", aux_id)):
        if named in entry.variants:
            return named
    return None


def chosen_variants(pins: dict[str, str]) -> Knowledge | None:
    """The facts of the pack a ``[nodes]`` pin in comfylock.toml names, for each pinned class
    several packs provide with code that disagrees (``variants``): the pin is the user's word
    for every node of the class. None when no pin chooses one."""
    classes: dict[str, ClassEntry] = {}
    for class_type, pin in sorted(pins.items()):
        entry = nodeknowledge.current_table().classes.get(class_type)
        if entry is None or not entry.variants:
            continue
        named = pin.strip()
        aux = named.lower().removesuffix(".git").rstrip("/").split("github.com/")[-1]
        pack_id = _variant_named(entry, named, aux if "/" in aux else "")
        if pack_id is not None:
            classes[class_type] = _variant(pack_id, msgspec.json.encode(entry.variants[pack_id]))
    if not classes:
        return None
    digest = "pins:" + ",".join(f"{c}={p.pack}" for c, p in classes.items())
    return Knowledge(classes=classes, digest=digest)


def installed_variants(installed: set[str]) -> Knowledge | None:
    """For each class several packs provide with code that disagrees (``variants``), the
    facts of the one pack among them installed here (``installed``: table pack ids): ComfyUI
    loads that pack's class, whatever the others' code says. None when no class is decided."""
    classes: dict[str, ClassEntry] = {}
    for class_type, entry in nodeknowledge.current_table().classes.items():
        if not entry.variants:
            continue
        ours = [p for p in entry.variants if p in installed]
        if len(ours) == 1:
            facts = msgspec.json.encode(entry.variants[ours[0]])
            classes[class_type] = _variant(ours[0], facts)
    if not classes:
        return None
    digest = "installed-variants:" + ",".join(sorted({c.pack for c in classes.values()}))
    return Knowledge(classes=classes, digest=digest)


@lru_cache(maxsize=256)
def _variant(pack_id: str, facts: bytes) -> ClassEntry:
    return msgspec.convert({**msgspec.json.decode(facts), "pack": pack_id}, ClassEntry)


def knows(class_type: str) -> bool:
    """Whether the table read this class's code (its inputs are then known, not guessed);
    False for a class whose inputs its code builds beyond static reading (``dynamic: *``)."""
    entry = _entry(class_type)
    if entry is not None:
        return "*" not in entry.dynamic
    return class_type in _owners()


def is_unread(class_type: str) -> bool:
    """Whether no code of this class was read (not in the table, not an installed pack's, or
    its whole code beyond static reading): nothing says what its values are."""
    entry = _entry(class_type)
    if entry is not None:
        return "*" in entry.dynamic
    return class_type not in _owners()


def has_unplaced_inputs(class_type: str) -> bool:
    """Whether some model input of the class has no one folder (its list is built beyond
    reading, or it downloads): unnamed values can then not all be of the known folders."""
    entry = _entry(class_type)
    return bool(entry and (entry.dynamic or entry.downloads or entry.fetches))


def disagreeing_packs(class_type: str, input_name: str | None = None) -> tuple[str, ...]:
    """The packs whose code reads the class (or this input) differently (its ``variants``),
    when no node hint or ``[nodes]`` pin chose one; () otherwise, or when every pack's code
    is beyond reading for the input alike."""
    entry = _entry(class_type)
    if not entry or not entry.variants:
        return ()
    if input_name is not None:
        readings = {
            json.dumps(
                [v.get(k, {}).get(input_name) for k in ("inputs", "downloads", "fetches")]
                + [bool({input_name, "*"} & set(v.get("dynamic", ())))],
                sort_keys=True,
            )
            for v in entry.variants.values()
        }
        if len(readings) == 1:  # alike (all beyond reading for it): not a disagreement
            return ()
    return tuple(sorted(entry.variants))


def is_dynamic(class_type: str, input_name: str) -> bool:
    """True when the pack builds this input's file list in a way static reading cannot
    follow: "cannot tell", never "no model"."""
    entry = _entry(class_type)
    return entry is not None and (input_name in entry.dynamic or "*" in entry.dynamic)


def model_inputs(class_type: str) -> dict[str, str | list[str]]:
    """{input name: folder key, or several keys} of the class's model inputs."""
    entry = _entry(class_type)
    return dict(entry.inputs) if entry else {}


def widget_order(class_type: str) -> tuple[str, ...]:
    """The class's ``widgets_values`` layout in UI files (see the docstring), or ()."""
    entry = _entry(class_type)
    return tuple(entry.widgets) if entry else ()


def fileless(class_type: str) -> dict[str, list[str]]:
    """Per input, the node's own words offered beside a folder's files (``None``, ``Auto``,
    ``Baked VAE``): values that name no file. Empty for most classes (one lookup a node)."""
    entry = _entry(class_type)
    return entry.fileless if entry else {}


def widget_kinds(class_type: str) -> str:
    """The kind of value each position of the layout holds (``widgets.layout_names``), or ""."""
    entry = _entry(class_type)
    return entry.widget_kinds if entry else ""


def packs_of(class_type: str) -> tuple[str, ...]:
    """Every pack that defines ``class_type``: one id, or several when it is ambiguous."""
    entry = nodeknowledge.current_table().classes.get(class_type)
    if entry is not None and (entry.pack or entry.packs):
        named = entry.packs or [entry.pack]
        return tuple(dict.fromkeys([*named, *entry.claimed_by]))
    return _owners().get(class_type, ())


def folder_of(class_type: str, input_name: str) -> str | None:
    """The ``folder_paths`` key the class's input reads, or None when the table does not know
    or the input lists files of several folders."""
    entry = _entry(class_type)
    value = entry.inputs.get(input_name) if entry else None
    if value is None and entry is not None and input_name not in _widget_names(entry):
        value = entry.inputs.get("*")  # inputs the node takes beyond INPUT_TYPES (**kwargs)
    if isinstance(value, list):
        return value[0] if len(value) == 1 else _one_place(value)
    return value


def _widget_names(entry: ClassEntry) -> set[str]:
    """The names of the class's widget inputs (the order's markers stripped)."""
    return {name.removeprefix("?") for name in entry.widgets}


def _one_place(keys: list[str]) -> str | None:
    """Several folder keys that name the same directories (GGUF registers ``unet_gguf`` at
    the diffusion models' own, another pack lists both): that one folder, ComfyUI's own key
    first; None when they are different places."""
    from . import tables

    def dirs(key: str) -> tuple[str, ...]:
        core = tables.canonical_folder(key)
        if core in tables.folder_names():
            return tuple(sorted(f"models/{d}" for d in tables.default_dirs(core)))
        return tuple(sorted(folder_dirs(key)))

    places = {dirs(k) for k in keys}
    if len(places) != 1 or not next(iter(places)):
        return None
    core = sorted(k for k in keys if tables.canonical_folder(k) in tables.folder_names())
    return tables.canonical_folder(core[0]) if core else sorted(keys)[0]


def folders_of(class_type: str, input_name: str) -> tuple[str, ...]:
    """Every ``folder_paths`` key the class's input lists files from (usually one)."""
    entry = _entry(class_type)
    value = entry.inputs.get(input_name) if entry else None
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def mapped_packs(class_type: str) -> tuple[tuple[str, str], ...]:
    """(pack id, repo) of the packs ComfyUI-Manager's class map (``data/node_map.json``) names
    for a class the table did not read: exact names, then the map's name patterns. Offline
    and weaker than the table (names only, no code read)."""
    nmap = _node_map()
    if not (_MAPPED and _MAPPED[0] is nmap):
        _MAPPED[:] = [nmap, {}]
    seen = _MAPPED[1]
    if class_type not in seen:
        seen[class_type] = _mapped(nmap, class_type)
    return seen[class_type]


_MAPPED: list = []  # [node map, {class: answer}] for the map last asked


def _mapped(nmap: _NodeMap, class_type: str) -> tuple[tuple[str, str], ...]:
    idx = nmap.classes.get(class_type)
    if idx is not None:
        found = [idx] if isinstance(idx, int) else list(idx)
    else:
        found = [i for i, pack in enumerate(nmap.packs) if len(pack) > 2 and class_type in pack[2]]
    if not found and "\n" not in class_type:
        found = [i for pattern, i in nmap.patterns if _search(pattern, class_type)]
    return tuple(dict.fromkeys((nmap.packs[i][0], nmap.packs[i][1]) for i in found))


@lru_cache(maxsize=1)
def _node_map() -> _NodeMap:
    path = os.path.join(os.path.dirname(__file__), "data", "node_map.json")
    try:
        with open(path, "rb") as fh:
            data = msgspec.json.decode(fh.read(), type=_NodeMapFile)
    except OSError:
        return _NodeMap()
    named = {repo for _, repo in data.patterns}
    index = {pack[1]: i for i, pack in enumerate(data.packs) if pack[1] in named}
    patterns = [(regex, index[repo]) for regex, repo in data.patterns if repo in index]
    return _NodeMap(packs=data.packs, patterns=patterns)


def _search(pattern: str, text: str) -> bool:
    import re

    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def named_packs(class_type: str) -> tuple[tuple[str, ...], str | None]:
    """(pack ids, where from) naming a class's pack offline: the table (``"table"``: the
    packs' code), else the shipped class map (``"map"``: names only), else ((), None)."""
    table = nodeknowledge.current_table()
    if not (_NAMED and _NAMED[0] is table):
        _NAMED[:] = [table, {}]
    memo: dict = _NAMED[1]
    found = memo.get(class_type)
    if found is None:
        read = packs_of(class_type)
        mapped = () if read else tuple(pid for pid, _repo in mapped_packs(class_type))
        found = memo[class_type] = (read, "table") if read else (mapped, "map" if mapped else None)
    return found


_NAMED: list = []  # [table, {class: named_packs answer}]: the map's patterns are costly


def pack_of(class_type: str) -> str | None:
    """The id of the one pack that provides ``class_type``; None when unknown or ambiguous."""
    packs = packs_of(class_type)
    return packs[0] if len(packs) == 1 else None


def scanner_version() -> int:
    """Which reading of the packs' code the shipped table holds (``packcode.SCANNER_VERSION``
    then; 1 when unrecorded)."""
    return int(nodeknowledge.current_table().generator.get("scanner-version", 1))


def pack_scanner(pack_id: str) -> int | None:
    """Which scanner read the pack: the table's, or an older one for a pack whose snapshot
    the last generator run did not have (its facts are that reading's)."""
    pack = nodeknowledge.current_table().packs.get(pack_id)
    return (pack.scanner or scanner_version()) if pack else None


def pack_ids() -> tuple[str, ...]:
    """Every pack the table (with any extra facts pinned) holds."""
    return tuple(nodeknowledge.current_table().packs)


def pack_repo(pack_id: str) -> str | None:
    pack = nodeknowledge.current_table().packs.get(pack_id)
    return pack.repo if pack else None


def registry_repo(registry_id: str) -> str | None:
    """The repo of the pack whose Comfy Registry id is ``registry_id`` (a node's ``cnr_id``)."""
    want = registry_id.strip().lower()
    for pack in nodeknowledge.current_table().packs.values():
        if (pack.registry_id or "").lower() == want:
            return pack.repo
    return None


def pack_registry_id(pack_id: str) -> str | None:
    pack = nodeknowledge.current_table().packs.get(pack_id)
    return pack.registry_id if pack else None


def installed_commit(pack_id: str) -> str | None:
    """The commit a pack read from this machine's ``custom_nodes/`` is checked out at: the
    version the workflows here were made with (None for the shipped table's packs, whose
    commit is only where the facts were read)."""
    pack = nodeknowledge.current_table().packs.get(pack_id)
    if pack is None or not (pack.origin or "").startswith("installed pack at "):
        return None
    return pack.commit or None


def pack_commit(pack_id: str) -> str | None:
    """The commit the table read the pack at (provenance), or None."""
    pack = nodeknowledge.current_table().packs.get(pack_id)
    return (pack.commit or None) if pack else None


def class_facts(class_type: str) -> dict | None:
    """The table's facts about a class (inputs, downloads, fetches, always, widgets, dynamic, each
    pack's where several disagree), as data, or None when it holds none."""
    entry = nodeknowledge.current_table().classes.get(class_type)
    if entry is None:
        return None
    data = msgspec.to_builtins(entry)
    keep = ("inputs", "fileless", "downloads", "fetches", "always", "widgets", "widget-kinds")
    keep += ("dynamic",)
    keep += ("variants",)
    return {k: v for k, v in data.items() if k in keep and v}


def fetches(class_type: str, input_name: str) -> dict[str, list[dict]] | None:
    """What the class's node downloads for each value of ``input_name`` (``packcode.fetches``:
    ``{value: [target, ...]}``), or None when its value decides no download."""
    entry = _entry(class_type)
    found = entry.fetches.get(input_name) if entry else None
    return found if found is not None else None


def always(class_type: str) -> list[dict]:
    """What the class's node downloads whatever its values (``packcode.fetches``'s targets:
    a repo's file or a URL into a directory comfylock places), or []."""
    entry = _entry(class_type)
    return list(entry.always) if entry else []


def origin(class_type: str) -> str:
    """Where the facts about a class come from: ``table`` (the shipped table), or the
    ``origin`` of the pack that gave them (``installed pack at <commit>``, ``comfy.lock``)."""
    table = nodeknowledge.current_table()
    where = "table"
    for pack_id in packs_of(class_type):
        pack = table.packs.get(pack_id)
        if pack is not None and pack.origin:
            where = pack.origin
            break
    own = _own_entry(class_type)
    handed = readers(own, _own_entry) if own is not None else []
    return f"{where}; some inputs as {', '.join(handed)} reads them" if handed else where


def download_dir(class_type: str, input_name: str) -> str | None:
    """Where a download-and-load node puts the Hugging Face repo named by ``input_name``
    (relative to the ComfyUI root, ``/`` separators), or None. ``{repo_id}``,
    ``{repo_owner}`` and ``{repo_name}`` stand for the repo id and its parts
    (``models/LLM/{repo_name}``); a dir without them is the repo's own directory (see
    ``workflows.repos.repo_dir``)."""
    entry = _entry(class_type)
    value = entry.downloads.get(input_name) if entry else None
    return value if isinstance(value, str) else None  # several places: cannot say which


def download_dirs(class_type: str, input_name: str) -> tuple[str, ...]:
    """Every directory the node may put the repo in (several: it picks one by value)."""
    entry = _entry(class_type)
    value = entry.downloads.get(input_name) if entry else None
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def folder_dirs(folder: str) -> tuple[str, ...]:
    """Directories (relative to the ComfyUI root) that packs register for ``folder``."""
    return registered_folders().get(folder, ())


def registered_folders() -> dict[str, tuple[str, ...]]:
    """Every folder packs register, with its directories (relative to the ComfyUI root)."""
    table = nodeknowledge.current_table()
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
