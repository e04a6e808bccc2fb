"""Unpinned references named for what they are, with the fix that works for each kind.

Why one module: ``resolve``, ``check``, ``sync``, ``status`` and ``doctor`` all meet the
same unpinned entries (the lock's ``[[unresolved]]``, or references the lock lacks), and a
fix that is right for one kind is wrong for another: a node class is not a file (``add``
pins models only), and a reference an offline run never looked up needs the network, not a
hand pin. Pure: entries in, words out.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..basics.units import count
from ..workflows.tables import split_key

__all__ = [
    "OFFLINE",
    "UNPLACED",
    "ambiguous_reason",
    "fixes",
    "is_offline",
    "label",
    "suggested_pack",
    "summary",
]

# Every reason an offline run gives ends with this mark (resolve/core, resolve/live).
OFFLINE = "(offline)"
NODE_FOLDER, SNAPSHOT_FOLDER, INPUT_FOLDER = "custom_nodes", "snapshot", "input"
UNPLACED = "?"  # the folder of a file the reader cannot tell the place of (resolve/core)


def label(key: str) -> str:
    """``custom_nodes/X`` → ``node class X``; ``snapshot/D`` → ``repo snapshot D``; a model
    or an input file stays ``folder/name``."""
    folder, _, name = key.partition("/")
    if _kind(key) == NODE_FOLDER:
        return f"node class {name}"
    if folder == SNAPSHOT_FOLDER:
        return f"repo snapshot {name}"
    if folder == UNPLACED:
        return f"{name} (folder unknown)"
    return key  # a model or an input file is a file: folder/name


_CLAIMED = "claimed by several packs: "
_NEEDED = " is a pack this project needs for other node classes: "


def ambiguous_reason(class_name: str, ids: Iterable[str], needed: Iterable[str]) -> str:
    """Why a class several packs claim is not pinned. When exactly one of them is a pack the
    project needs anyway (a fork that copied its classes is the usual other claimant), the
    reason names the ``[nodes]`` pin that settles it; it is never chosen silently (SPEC §4:
    a pin settles an ambiguity)."""
    ids = sorted(set(ids))
    ours = sorted(set(ids) & set(needed))
    head = f"{_CLAIMED}{', '.join(ids)}"
    if len(ours) == 1:
        return f'{head}; {ours[0]}{_NEEDED}[nodes] "{class_name}" = "{ours[0]}" settles it'
    return f"{head} (settle it with a [nodes] pin in comfylock.toml)"


def suggested_pack(reason: str) -> str | None:
    """The pack ``ambiguous_reason`` suggested, or None."""
    if not reason.startswith(_CLAIMED) or _NEEDED not in reason:
        return None
    return reason.partition(_NEEDED)[0].rpartition("; ")[2] or None


def is_offline(reason: str) -> bool:
    return OFFLINE in reason


def _kind(key: str) -> str:
    folder, _, name = key.partition("/")
    if folder == NODE_FOLDER and "/" in name:  # a file in a pack's own directory: a model
        return "model"
    return folder if folder in (NODE_FOLDER, SNAPSHOT_FOLDER, INPUT_FOLDER) else "model"


def summary(keys: Iterable[str]) -> str:
    """ "19 node classes and 8 models" — what is unpinned, by kind."""
    kinds = [_kind(k) for k in keys]
    words = (
        ("model", "model"),
        (NODE_FOLDER, "node class"),
        (SNAPSHOT_FOLDER, "repo snapshot"),
        (INPUT_FOLDER, "input file"),
    )
    parts = [
        count(kinds.count(kind), word, "node classes" if word == "node class" else None)
        for kind, word in words
        if kind in kinds
    ]
    return " and ".join(parts) if parts else "nothing"


def fixes(entries: Iterable[tuple[str, str]]) -> list[str]:
    """One fix per kind of unpinned entry ``(key, reason)``, each naming a command that
    works when copied (``SOURCE``/``OWNER/REPO`` are what only the user can know)."""
    entries = list(entries)
    out: list[str] = []
    looked_offline = [k for k, why in entries if is_offline(why)]
    if looked_offline:
        out.append(
            f"run `comfylock resolve` with the network: an offline resolve did not look up "
            f"{summary(looked_offline)}"
        )
    rest = [(k, why) for k, why in entries if not is_offline(why)]
    unplaced = [k.partition("/")[2] for k, _ in rest if k.partition("/")[0] == UNPLACED]
    if unplaced:
        out.append(
            "tell comfylock where it goes: install the node's pack and run `comfylock resolve "
            "--comfyui-root DIR` (the pack's code says the folder), or pin it by hand with the "
            f"folder the node reads: `comfylock add SOURCE --folder FOLDER --name {unplaced[0]}`"
        )
    rest = [(k, why) for k, why in rest if k.partition("/")[0] != UNPLACED]
    models = [k for k, _ in rest if _kind(k) == "model"]
    if models:
        folder, name = split_key(models[0])
        out.append(
            f"pin {'it' if len(models) == 1 else 'each model'} by hand: `comfylock add SOURCE "
            f"--folder {folder} --name {name}` (SOURCE: civitai:ID[@VERSION], "
            "hf:OWNER/REPO/PATH or an https URL; `comfylock resolve` lists candidates)"
        )
    classes = [(k.partition("/")[2], why) for k, why in rest if _kind(k) == NODE_FOLDER]
    settled = [(c, suggested_pack(why)) for c, why in classes if suggested_pack(why)]
    if settled:
        first, pack = settled[0]
        more = f" (and {count(len(settled) - 1, 'more class', 'more classes')} the same way)"
        out.append(
            f'add to comfylock.toml\'s [nodes]: "{first}" = "{pack}"'
            f"{more if len(settled) > 1 else ''}: a pack this project needs provides "
            f"{'them' if len(settled) > 1 else 'it'}; then run `comfylock resolve`"
        )
    if len(classes) > len(settled):
        unsettled = [c for c, why in classes if not suggested_pack(why)]
        out.append(
            f'name the pack in comfylock.toml, [nodes] "{unsettled[0]}" = "OWNER/REPO" (one '
            "line per node class), then run `comfylock resolve`"
        )
    if any(_kind(k) == INPUT_FOLDER for k, _ in rest):  # never looked up online: local only
        out.append(
            "put each input file beside its workflow (or in the ComfyUI root's input/), "
            "then run `comfylock resolve`"
        )
    if any(_kind(k) == SNAPSHOT_FOLDER for k, _ in rest):
        out.append("check the repo id the workflow names, then run `comfylock resolve`")
    return out
