"""What ``pack_facts`` found, as entries of the knowledge table (``workflows/data/
custom_nodes.json``): one pack entry, and the class entries of several packs merged. Shared by
the generator that builds the shipped table and the reader of installed packs, so both give the
same answer for the same code. Pure."""

from __future__ import annotations

import json

import tomllib

__all__ = ["merge_claims", "pack_entry", "registry_id"]


def registry_id(pyproject: str | None) -> str | None:
    """The pack's Comfy Registry id: its ``pyproject.toml`` ``[project] name`` when the file
    has a ``[tool.comfy]`` table; None otherwise (or unreadable)."""
    if not pyproject:
        return None
    try:
        doc = tomllib.loads(pyproject)
    except tomllib.TOMLDecodeError:
        return None
    name = doc.get("project", {}).get("name")
    tool = doc.get("tool")
    is_comfy = isinstance(tool, dict) and "comfy" in tool
    return name.lower() if isinstance(name, str) and is_comfy else None


def pack_entry(
    owner_repo: str,
    facts: dict,
    *,
    commit: str,
    registry: str | None,
    core: set[str],
    repo: str | None = None,
    commit_date: str | None = None,
) -> tuple[str, dict]:
    """(pack id, table entry) of a pack ``pack_facts`` read: the id is the registry id where
    the pack has one, else ``owner/repo``; ``nodes`` leaves out ComfyUI's own classes."""
    entry: dict = {"repo": repo or f"https://github.com/{owner_repo}", "commit": commit}
    if commit_date:
        entry["commit-date"] = commit_date
    entry["registry-id"] = registry
    if facts["folders"]:
        entry["folders"] = {k: v for k, v in sorted(facts["folders"].items()) if v}
    entry["nodes"] = sorted(c for c in facts["classes"] if c not in core)
    if facts["notes"]:
        entry["unread"] = len(facts["notes"])
    return registry or owner_repo, entry


def merge_claims(claims: dict[str, list]) -> dict:
    """Class entries from ``{class: [(pack id, facts), ...]}`` (packs in ranking order): a
    class with facts, or claimed by several packs (``pack`` is then the first and
    ``claimed-by`` the rest; facts kept only where every pack's code agrees (``_agreed``), the
    inputs they disagree on ``dynamic``: "cannot tell", never one pack's guess; ``variants``
    holds each pack's facts for a node that names its pack)."""
    out = {}
    for name in sorted(claims):
        owners = claims[name]
        entry: dict = {"pack": owners[0][0]}
        others = sorted({pid for pid, _ in owners[1:]} - {owners[0][0]})
        kinds = {json.dumps(f, sort_keys=True) for _, f in owners}
        if len(kinds) == 1:
            entry.update(owners[0][1])
        else:
            variants: dict = {}
            for pid, facts in owners:
                variants.setdefault(pid, facts)
            entry.update(_agreed(list(variants.values())))
            entry["variants"] = dict(sorted(variants.items()))
        if others:
            entry["claimed-by"] = others
        if len(entry) > 1:
            out[name] = entry
    return out


_PER_INPUT = ("inputs", "downloads", "fileless", "delegates")


def _agreed(facts: list[dict]) -> dict:
    """What the code of every pack providing a class says alike: per input its folder, its
    download directory, each value's fetch targets; the widget order when it is the same.
    An input that one pack reads otherwise, or not at all, is ``dynamic`` (a node of either
    pack may be in the workflow); a pack whose class is beyond reading makes all of it so."""
    dynamic = set().union(*(f.get("dynamic", ()) for f in facts))
    if "*" in dynamic:
        return {"dynamic": ["*"]}
    out: dict = {}
    for field in _PER_INPUT:
        maps = [f.get(field, {}) for f in facts]
        for name in dict.fromkeys(n for m in maps for n in m):  # the first pack's order
            values = [json.dumps(m.get(name), sort_keys=True) for m in maps]
            if len(set(values)) == 1:
                out.setdefault(field, {})[name] = maps[0][name]
            elif field not in ("fileless", "delegates"):
                dynamic.add(name)
    fetches = [f.get("fetches", {}) for f in facts]
    for name in sorted(set().union(*fetches)):
        if not all(name in m for m in fetches):
            dynamic.add(name)
            continue
        common = set.intersection(*(set(m[name]) for m in fetches))
        same = {
            value: fetches[0][name][value]
            for value in sorted(common)
            if len({json.dumps(m[name][value], sort_keys=True) for m in fetches}) == 1
        }
        if same:
            out.setdefault("fetches", {})[name] = same
        else:
            dynamic.add(name)
    always = [f.get("always", []) for f in facts]
    shared = [t for t in always[0] if all(t in a for a in always[1:])]
    if shared:
        out["always"] = shared
    out.update(_common_layout(facts))
    for field in ("downloads", "fileless", "fetches", "delegates"):  # inputs keep their order
        if field in out:
            out[field] = dict(sorted(out[field].items()))
    if dynamic:
        out["dynamic"] = sorted(dynamic)
    return out


def _common_layout(facts: list[dict]) -> dict:
    """The widget order every pack's code starts with alike (a copy made before the original
    gained an input agrees on the inputs before it: the frontend hands a node's values to its
    widgets in order), with the kinds of those positions when every pack records them."""
    orders = [f.get("widgets") or [] for f in facts]
    common = 0
    while all(len(o) > common for o in orders) and len({o[common] for o in orders}) == 1:
        common += 1
    if not common:
        return {}
    out: dict = {"widgets": orders[0][:common]}
    kinds = [f.get("widget-kinds", "") for f in facts]
    alike = all(len(k) >= common for k in kinds) and len({k[:common] for k in kinds}) == 1
    if alike and set(kinds[0][:common]) & set("ifbs"):
        out["widget-kinds"] = kinds[0][:common]
    return out
