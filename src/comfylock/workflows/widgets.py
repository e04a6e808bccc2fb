"""How a node's widget values are named: UI graphs keep them as a list by position, API
graphs as named (possibly nested, dotted) inputs. The reader labels each value with its
widget's name where the file (the node's ``inputs``, the API prompt an image carries beside
its graph) or the knowledge table (the widget order) says it, else by position; the folder a
value reads is decided from that name. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from .subgraphs import as_list

__all__ = [
    "MAX_DEPTH",
    "NONE_VALUES",
    "POSITION",
    "api_leaves",
    "is_api",
    "labelled_leaves",
    "last_key",
    "layout_names",
    "leaves",
    "prompt_inputs",
]

MAX_DEPTH = 32
# values that name no file, whatever the widget (an empty choice, a switched-off one)
NONE_VALUES = frozenset({"", "none", "None", "null", "[None]", "disabled", "Disabled", "NONE"})
POSITION = re.compile(r"^widgets_values\[(\d+)\]$")  # a UI value no name labels
_INDEX = re.compile(r"\[\d+\]")


def is_api(obj: Any) -> bool:
    """An API/prompt graph: a non-empty dict of nodes that each name a ``class_type``."""
    if not isinstance(obj, dict) or not obj:
        return False
    nodes = [v for v in obj.values() if isinstance(v, dict)]
    return (
        bool(nodes)
        and len(nodes) == len(obj)
        and all(isinstance(v.get("class_type"), str) for v in nodes)
    )


def leaves(value: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(dotted path, leaf) pairs of a nested widget value; dict keys name the leaf."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from leaves(sub, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from leaves(sub, f"{path}[{i}]" if path else f"[{i}]", depth + 1)
    else:
        yield path, value


def last_key(path: str) -> str:
    """The widget name a dotted/indexed path ends in: 'lora_1.lora' -> 'lora'."""
    if "[" not in path and "." not in path:
        return path  # the common case: a plain widget name
    return _INDEX.sub("", path).rsplit(".", 1)[-1]


def api_leaves(inputs: dict) -> Iterator[tuple[str, Any]]:
    """Flatten API inputs; links ``[node_id, slot]`` are not values and are skipped."""
    for key, value in inputs.items():
        if (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], int)
        ):
            continue
        if isinstance(value, (dict, list)):
            for path, leaf in leaves(value, str(key)):
                yield path.replace("[", ".").replace("]", ""), leaf
        else:
            yield str(key), value


def labelled_leaves(
    node: dict, values: Any, order: tuple = (), known: dict | None = None, kinds: str = ""
) -> Iterator[tuple[str, Any]]:
    """Leaves of a UI node's widget values, labelled by widget name where the node's
    ``inputs`` list names every widget in order, or where the knowledge table's widget
    ``order`` (with the ``kinds`` of value each position holds) fits the values, else, for a
    string value, by the one input of the same node in the image's API prompt (``known``)
    holding exactly that value, else by position."""
    if isinstance(values, list):
        names: list = [
            i["widget"].get("name")
            for i in as_list(node.get("inputs"))
            if isinstance(i, dict) and isinstance(i.get("widget"), dict)
        ]
        if not (len(names) == len(values) and all(isinstance(n, str) for n in names)):
            names = layout_names(order, values, kinds)
        for i, value in enumerate(values):
            name = names[i] if i < len(names) else None
            if name == "":
                continue  # a seed's control-after-generate value
            label = name or (_label_by_value(known, value) if known else None)
            yield from leaves(value, label or f"widgets_values[{i}]")
        return
    yield from leaves(values)


def layout_names(order: tuple | list, values: list, kinds: str = "") -> list[str | None]:
    """The widget name of each of a UI node's values, from the table's widget ``order``
    (``""``: a seed's control value; ``"?name"``: an input that is a widget or a link, static
    reading cannot tell; ``"*"``: widgets no one can name), None where unknown.

    The frontend hands a node's saved values to its widgets in order, so a node of another
    version (more or fewer values than the code's order) is read the same way: by position,
    up to the first value that does not fit the ``kinds`` of its position (a number where the
    code has a boolean: this node's layout departs from the code's there; nothing after it is
    named). Inputs of unknown kind are all widgets, or all links, when the count says so;
    otherwise, as with a ``"*"``, only the values before the first uncertain input are named
    (values a frontend script appends come last)."""
    if not order:
        return []
    count = len(values)
    pairs = list(zip(order, kinds if len(kinds) == len(order) else "?" * len(order)))
    uncertain = [i for i, (name, _) in enumerate(pairs) if name == "*" or name.startswith("?")]
    if not uncertain:
        chosen = pairs
    elif "*" not in order and count == len(pairs):
        chosen = [(name.removeprefix("?"), kind) for name, kind in pairs]
    elif "*" not in order and count == len(pairs) - len(uncertain):
        chosen = [(name, kind) for name, kind in pairs if not name.startswith("?")]
    else:
        chosen = pairs[: uncertain[0]]
    named: list[str | None] = []
    for (name, kind), value in zip(chosen, values):
        if not _fits(kind, value):
            break
        named.append(name)
    return named


def _fits(kind: str, value: Any) -> bool:
    """Whether a widget value can be of the kind the code gives its position."""
    if value is None:
        return True
    if kind == "i":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "f":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "b":
        return isinstance(value, bool)
    if kind == "s":
        return isinstance(value, str)
    if kind == "k":
        return isinstance(value, str)  # control after generate: "fixed", "randomize", ...
    if kind == "c":
        return not isinstance(value, bool)  # a choice: a string (or a number), never a toggle
    return True


def _label_by_value(known: dict, value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    names = [k for k, v in known.items() if v == value]
    return names[0] if len(names) == 1 and isinstance(names[0], str) else None


def prompt_inputs(text: str | None) -> dict[str, tuple[str, dict]]:
    """{node id: (class, inputs)} of the API prompt an image carries beside its UI workflow:
    it names the widgets the UI graph stores only by position. Broken or absent: {}."""
    if not text:
        return {}
    try:
        prompt = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if not is_api(prompt):
        return {}
    return {
        str(nid): (node["class_type"], node["inputs"])
        for nid, node in prompt.items()
        if isinstance(node.get("inputs"), dict)
    }
