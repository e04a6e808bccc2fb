"""A node that hands an input's value to another pack's node (MultiGPU's proxies,
``NODE_CLASS_MAPPINGS["X"]().load(value)``, recorded by the reader as ``delegates``) reads it
as that node does. Pure: the entries in, the entry as read out; ``entry_of`` gives another
class's own entry (its facts, never its delegates)."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from .nodeknowledge import ClassEntry

__all__ = ["HANDED", "readers", "their_input", "with_delegates"]

EntryOf = Callable[[str], "ClassEntry | None"]

HANDED = ("inputs", "downloads", "fetches", "fileless")


def with_delegates(class_type: str, entry: ClassEntry, entry_of: EntryOf) -> ClassEntry:
    """A node that hands an input's value to another pack's node reads it as that node does:
    its folder, download directory, fetches and words join the entry (one step: the other
    node's own facts, never its delegates). An input the other node's code could not place,
    or a node nothing here read, is "cannot tell" (``dynamic``); a node not known at all
    leaves the input as it was."""
    added: dict[str, dict] = {field: {} for field in HANDED}
    dynamic = list(entry.dynamic)
    for name, (other, theirs) in entry.delegates.items():
        target = entry_of(other) if other != class_type else None
        if target is None:
            continue
        theirs = their_input(target, theirs)
        for field in HANDED:
            value = getattr(target, field).get(theirs)
            if value is not None:
                added[field][name] = value
        if (theirs in target.dynamic or "*" in target.dynamic) and name not in dynamic:
            dynamic.append(name)
    if not any(added.values()) and dynamic == entry.dynamic:
        return entry
    merged = {f: {**getattr(entry, f), **added[f]} for f in HANDED}
    return msgspec.structs.replace(entry, dynamic=dynamic, **merged)


def their_input(target: ClassEntry, theirs: str) -> str:
    """The other node's input a handed value is: the one of its name (a keyword, or a
    wrapper passing its inputs on as they are), else, when the other node has no input of
    that name and takes one model file only, that one (``VAELoaderKJ().load_vae(
    video_vae_name, ...)``)."""
    if any(theirs in getattr(target, field) for field in HANDED) or theirs in target.dynamic:
        return theirs
    named = {w.lstrip("?") for w in target.widgets or ()}
    if not named or theirs in named:
        return theirs  # an input of that name takes no model (or the node's inputs are unknown)
    models = {n for field in ("inputs", "downloads", "fetches") for n in getattr(target, field)}
    models |= set(target.dynamic)
    models.discard("*")
    return models.pop() if len(models) == 1 else theirs


def readers(entry: ClassEntry, entry_of: EntryOf) -> list[str]:
    """The other nodes whose facts place some of ``entry``'s inputs (for ``origin``)."""
    found = set()
    for other, theirs in entry.delegates.values():
        target = entry_of(other)
        if target is not None and any(
            their_input(target, theirs) in getattr(target, f) for f in HANDED
        ):
            found.add(other)
    return sorted(found)
