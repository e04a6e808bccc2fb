"""The layout of one node's inputs as the UI shows them, read from the specs of its
``INPUT_TYPES`` (or V3 schema): each input's kind (link, int or widget) and the order and
value kinds of its ``widgets_values``. Kept apart from ``facts.py``, which reads the classes
and hands each one's specs here; these need nothing but the values."""

from __future__ import annotations

from .values import UNKNOWN, Const, DictV, DirFiles, Dyn, Files, ListV, V3Input

__all__ = ["input_layout", "widget_order"]

_WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
_V3_WIDGETS = {"Int", "Float", "String", "Boolean", "Combo"}


def widget_order(specs: list) -> tuple[list, str]:
    """The UI's ``widgets_values`` layout: widget inputs in order, ``""`` after a seed's
    control-after-generate value, ``"?name"`` for an input whose kind static reading cannot
    tell (a combo or a link: the count of a node's values decides), ``"*"`` for inputs the
    code builds beyond reading (any number of widgets no one can name); and the kind of value
    each position holds (``i`` int, ``f`` float, ``b`` boolean, ``s`` string, ``c`` a combo's
    choice, ``k`` a control value, ``?`` and ``*`` unknown), to tell a node of another version
    whose values do not fit."""
    order: list[str] = []
    kinds: list[str] = []
    for name, vals in specs:
        if vals is None:
            if order[-1:] != ["*"]:
                order.append("*")
                kinds.append("*")
            continue
        if isinstance(vals, V3Input):
            found = {"widget" if vals.kind in _V3_WIDGETS else "link"}
            opts: list = []
        else:
            found = {_kind(v) for v in vals}
            opts = [v.items[1] for v in vals if isinstance(v, ListV) and len(v.items) > 1]
        if any(_opt(o, "forceInput") for o in opts):
            continue
        if "unknown" in found and found - {"unknown"} == {"widget"}:
            found = {"widget"}  # one reading lists choices, another cannot be read: a combo
        if len(found) != 1 or "unknown" in found:
            order.append("?" + name)
            kinds.append("?")
            continue
        if found == {"link"}:
            continue
        order.append(name)
        kinds.append(_value_kind(vals))
        seed = name in ("seed", "noise_seed") and found == {"int"}
        if seed or any(_opt(o, "control_after_generate") for o in opts):
            order.append("")
            kinds.append("k")
    return order, "".join(kinds)


_VALUE_KINDS = {"INT": "i", "FLOAT": "f", "BOOLEAN": "b", "STRING": "s"}
_V3_KINDS = {"Int": "i", "Float": "f", "Boolean": "b", "String": "s", "Combo": "c"}


def _value_kind(vals) -> str:
    """The kind of value a widget input holds (see ``widget_order``): one letter."""
    if isinstance(vals, V3Input):
        return _V3_KINDS.get(vals.kind, "?")
    found = set()
    for v in vals:
        first = v.items[0] if isinstance(v, ListV) and v.items else v
        if isinstance(first, Const) and isinstance(first.value, str):
            found.add(_VALUE_KINDS.get(first.value, "c"))
        else:
            found.add("c")
    return found.pop() if len(found) == 1 else "?"


def input_layout(specs: list, optional: set) -> list | None:
    """[[name, kind], ...] of one INPUT_TYPES (``[name, kind, "optional"]`` for its optional
    section): kind ``link``, ``int`` or ``widget``; None when an input's kind cannot be read."""
    out = []
    for name, vals in specs:
        if vals is None:
            return None
        if isinstance(vals, V3Input):
            kind = "int" if vals.kind == "Int" else "widget" if vals.kind in _V3_WIDGETS else "link"
        else:
            kinds = {_kind(v) for v in vals}
            if len(kinds) != 1 or "unknown" in kinds:
                return None
            kind = kinds.pop()
        out.append([name, kind, "optional"] if name in optional else [name, kind])
    return out


def _kind(v) -> str:
    first = v.items[0] if isinstance(v, ListV) and v.items else v
    if (
        first == UNKNOWN
        and isinstance(v, ListV)
        and len(v.items) > 1
        and _opt_has(v.items[1], "default")
    ):
        return "widget"  # a computed list of choices with a default value: a combo widget
    if isinstance(first, ListV | Files | DirFiles | Dyn):
        return "widget"
    if isinstance(first, Const) and isinstance(first.value, str):
        if first.value == "INT":
            return "int"
        return "widget" if first.value in _WIDGET_TYPES else "link"
    return "unknown"


def _opt_has(opts, key: str) -> bool:
    return isinstance(opts, DictV) and any(k == Const(key) for k, _ in opts.items)


def _opt(opts, key: str) -> bool:
    if not isinstance(opts, DictV):
        return False
    return any(k == Const(key) and Const(True) in v for k, v in opts.items)
