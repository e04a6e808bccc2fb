"""What a node downloads at run time for each value of an input.

Nodes that fetch their weights on first use name them by a value the user picks: a Hugging
Face repo id (``THUDM/CogVideoX-5b``), or a label the pack's code maps to a repo or a URL (a
dict of labels, a list of ``(label, url)`` pairs, an f-string over a base URL, a JSON file
beside the code). When an input offers a fixed list of such values and the node's function
downloads something, the function is read once per value, with that value bound to the input
(and once with a value the list does not hold): what it downloads for a value and not for the
others is that value's. Each becomes a target the reader can lock and place:

- ``{"repo": R, "dir": D}``: the whole repo (``"allow"``: its allow-patterns) at ``D``;
- ``{"repo": R, "file": F, "dir": D}``: one file of the repo, landing at ``D/F``;
  (``"type": "space"`` or ``"dataset"`` for a repo that is not a model repo)
- ``{"url": U, "dir": D, "name": N}``: a file downloaded from ``U`` to ``D/N``;

``D`` relative to the ComfyUI root (``models/...`` or the pack's own ``custom_nodes/<pack>/...``),
or ``hf-cache`` (the Hugging Face cache, no place comfylock fills). What static reading cannot
follow is ``{"dynamic": why}``: "cannot tell", never a guess. A value of the list that
downloads nothing of its own maps to ``[]`` (a switch that is off). What the node downloads
whatever its values is ``fixed_fetches``'s (the table's ``always``). Pure.
"""

from __future__ import annotations

import json
import posixpath
import re
from urllib.parse import unquote, urlsplit

from .dataflow import inputs_reaching
from .interp import Fetch, _Stop
from .values import Const, EnvV, ListV, PathV

__all__ = ["MAX_VALUES", "as_given", "chosen_beyond_reading", "fixed_fetches", "value_fetches"]

MAX_VALUES = 48  # values read one by one; a longer list of a downloading input is "dynamic"
_SENTINEL = "\0not-a-listed-value"
_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def value_fetches(scanner, cls, methods: list, options: dict[str, list[str]]) -> dict:
    """``{input: {value: [target, ...]}}`` for the inputs of ``cls`` whose value decides what
    its ``methods`` (the node's function) download; see the module docstring."""
    out: dict = {}
    for name, values in options.items():
        if len(values) > MAX_VALUES:
            continue
        baseline = _targets_for(scanner, methods, name, _SENTINEL)
        found = {}
        same = 0
        for value in values:
            own = [t for t in _targets_for(scanner, methods, name, value) if t not in baseline]
            found[value] = own  # [] for a value that downloads nothing of its own
            same = same + 1 if not own else len(values)
            if same == 2 and not any(found.values()):
                break  # two values download only what any value does: it does not decide
        if not any(found.values()):
            continue
        unread = all("dynamic" in t for targets in found.values() for t in targets)
        if not (unread and _settings(values)):  # a switch, not a model's choice
            out[name] = found
    return out


def as_given(scanner, methods: list) -> list:
    """The downloads the node's function makes with every input as it comes (the reading
    ``chosen_beyond_reading`` and ``fixed_fetches`` both start from: made once)."""
    return _fetches_for(scanner, methods, {})


def chosen_beyond_reading(
    scanner, methods: list, options: dict[str, list[str]], given: list
) -> dict:
    """``{input: {value: [{"dynamic": why}]}}`` for the inputs of ``options`` whose value the
    node's function (``given``: its downloads, ``as_given``) hands on to a download static
    reading cannot follow (``inputs_reaching``): each of their values is "cannot tell", never
    left unsaid. Inputs whose every choice is a run setting (a device, a precision) are left
    out: they tune a download, not choose it."""
    chosen = {n for n, vals in options.items() if len(vals) <= MAX_VALUES and not _settings(vals)}
    if not chosen:
        return {}
    out: dict = {}
    for fetch in given:
        target = _target(fetch, scanner.resolve_dir)
        if "dynamic" not in target or not fetch.site:
            continue
        for method in methods:
            for name in sorted(inputs_reaching(method.node, fetch.site, chosen)):
                out.setdefault(name, {v: [target] for v in options[name]})
    return out


def fixed_fetches(scanner, methods: list, options: dict, decided: dict, given: list) -> list[dict]:
    """What the node's function downloads whatever its choices, where comfylock can place it:
    a repo's file or a URL into ``models/...`` or the pack's own directory (a controlnet
    preprocessor's annotator weights). Read with every listed choice bound to a value no list
    holds, so that a table indexed by a choice gives nothing (not all its entries) and the
    targets ``decided`` gives a value are left to it. A run the code stops (an unknown choice
    raises) says nothing: a file missing from the lock, never a wrong one; so does a file the
    reading with the inputs as they come does not name alike. A download behind a
    switch no list decides counts; one a temporary name stands for (``x.part``, renamed after)
    does not; of mirrors giving one file, the first."""
    taken = [t for by_value in decided.values() for ts in by_value.values() for t in ts]
    unlisted = {name: Const(_SENTINEL) for name in options}
    # and the same with every input as it comes: a file one reading names and the other
    # cannot build (a temporary directory the code moves from, to a name its value makes)
    # is a value's, not the node's
    anyway = [_target(f, scanner.resolve_dir) for f in given]
    out: list[dict] = []
    places: set = set()
    for fetch in _fetches_for(scanner, methods, unlisted):
        target = _target(fetch, scanner.resolve_dir)
        if "dynamic" in target or target in taken or target not in anyway or not _lands(target):
            continue
        place = (target["dir"], target.get("file") or target.get("name"))
        if place not in places:
            places.add(place)
            out.append(target)
    return sorted(out, key=lambda t: json.dumps(t, sort_keys=True))


_TEMPORARY = (".part", ".tmp", ".partial", ".download", ".incomplete", ".lock")


def _lands(target: dict) -> bool:
    """A file (not a whole repo) into a directory comfylock fills, under its final name."""
    name = target.get("file") or target.get("name") or ""
    if not name or name.lower().endswith(_TEMPORARY):
        return False
    if any("\0" in str(v) for v in target.values()):
        return False  # made from the unlisted value: a choice's, not the node's
    return target["dir"].startswith(("models/", "custom_nodes/"))


_SETTINGS = re.compile(  # devices, precisions, attention kernels, switches
    r"^(auto|default|none|cpu|cuda(:\d+)?|mps|xpu|gpu|rocm|coreml|directml|tensorrt|openvino"
    r"|fp\d+\w*|bf16|float\d+|bfloat16|int\d+|true|false|yes|no|on|off|enabled?|disabled?"
    r"|sdpa|eager|xformers|flash_attn\w*|flash_attention\w*|sage\w*)$",
    re.IGNORECASE,
)


def _settings(values: list[str]) -> bool:
    return all(_SETTINGS.match(v.strip()) for v in values)


def _fetches_for(scanner, methods: list, values: dict) -> list:
    """The downloads the node's function makes on a machine that lacks them, with ``values``
    bound to some inputs (the others stay the node's inputs)."""
    it = scanner.it
    start = len(it.effects.fetches)
    it.fresh_machine = True  # NOTE: only for these runs: "if not exists: download" is taken
    try:
        for method in methods:
            it.steps = 0
            try:
                it.run_method(method, inputs=True, values=values)
            except _Stop:
                pass
    finally:
        it.fresh_machine = False
    fetches = it.effects.fetches[start:]
    del it.effects.fetches[start:]
    del it.effects.downloads[:]  # the whole-repo record of the same calls: read elsewhere
    del it.effects.file_reads[:]
    return fetches


def _targets_for(scanner, methods: list, name: str, value: str) -> list[dict]:
    targets: list[dict] = []
    for fetch in _fetches_for(scanner, methods, {name: Const(value)}):
        target = _target(fetch, scanner.resolve_dir)
        if target not in targets:
            targets.append(target)
    return targets


def _one(alts: tuple):
    concrete = {a for a in alts if isinstance(a, Const | PathV | ListV)}
    return concrete.pop() if len(concrete) == 1 else None


def _mirrors(alts: tuple):
    """URLs of one file the code tries in turn (a release on several mirrors): the first."""
    urls = [a for a in alts if isinstance(a, Const) and isinstance(a.value, str)]
    if len(urls) != len(alts) or not urls or not all("://" in u.value for u in urls):
        return None
    names = {unquote(urlsplit(u.value).path.rsplit("/", 1)[-1]) for u in urls}
    return urls[0] if len(names) == 1 else None


def _target(fetch: Fetch, resolve_dir) -> dict:
    source = _one(fetch.source)
    if source is None and fetch.kind == "url":
        source = _mirrors(fetch.source)
    if not (isinstance(source, Const) and isinstance(source.value, str)):
        return {"dynamic": f"{fetch.where}: the source is built beyond static reading"}
    place = _place(fetch, resolve_dir)
    if place is None:
        return {"dynamic": f"{fetch.where}: the destination is built beyond static reading"}
    if fetch.kind == "url":
        name = _one(fetch.name) if fetch.name else None
        file = name.value if isinstance(name, Const) and isinstance(name.value, str) else None
        file = file or unquote(urlsplit(source.value).path.rsplit("/", 1)[-1])
        if not file or "/" in file.strip("/"):
            return {"dynamic": f"{fetch.where}: the file name is built beyond static reading"}
        return {"url": source.value, "dir": place, "name": file}
    if not _REPO.match(source.value):
        return {"dynamic": f"{fetch.where}: {source.value!r} is not a repo id"}
    target: dict = {"repo": source.value, "dir": place}
    if fetch.name:
        file = _one(fetch.name)
        if not (isinstance(file, Const) and isinstance(file.value, str)):
            return {"dynamic": f"{fetch.where}: the file name is built beyond static reading"}
        sub = _one(fetch.subfolder) if fetch.subfolder else None
        prefix = sub.value.strip("/") + "/" if isinstance(sub, Const) and sub.value else ""
        target["file"] = prefix + file.value.replace("\\", "/").lstrip("/")
    kind = _one(fetch.repo_type) if fetch.repo_type else None
    if isinstance(kind, Const) and kind.value in ("space", "dataset"):
        target["type"] = kind.value
    allow = _one(fetch.allow) if fetch.allow else None
    if isinstance(allow, ListV) and all(isinstance(p, Const) for p in allow.items):
        target["allow"] = sorted(str(p.value) for p in allow.items)
    elif isinstance(allow, Const) and isinstance(allow.value, str):
        target["allow"] = [allow.value]
    return target


def _place(fetch: Fetch, resolve_dir) -> str | None:
    dirs = [p for p in fetch.dir if not isinstance(p, EnvV)]  # the default, not an override
    if not dirs:
        return "hf-cache" if fetch.kind == "repo" and not fetch.dir else None
    found = {resolve_dir(p) for p in dirs if isinstance(p, PathV)}
    found.discard(None)
    if len(found) != 1 or len(dirs) != sum(isinstance(p, PathV) for p in dirs):
        return None
    rel = posixpath.normpath(found.pop())
    if rel.startswith(("models/", "custom_nodes/")) and ".." not in rel.split("/"):
        return rel
    return None
