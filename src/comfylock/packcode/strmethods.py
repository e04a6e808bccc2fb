"""``str`` methods on constant strings (``"a-b".split("-")``, ``"{} ({})".format(x, y)``)
and the separator fix on a listed name, read to values. Kept apart from ``calls.py``, which
dispatches a bound method's call here: these need nothing but the values."""

from __future__ import annotations

from .values import UNKNOWN, Const, ListV, Mod

__all__ = ["str_format", "str_method", "to_slashes"]


def str_method(recv: str, name: str, args, kwargs):
    """A ``str`` method on a constant string with constant arguments."""
    consts = [a[0].value for a in args if len(a) == 1 and isinstance(a[0], Const)]
    if len(consts) != len(args) or kwargs:
        return UNKNOWN
    if name in ("split", "rsplit", "splitlines") and all(isinstance(c, str | int) for c in consts):
        try:
            return ListV(tuple(Const(p) for p in getattr(recv, name)(*consts)))
        except (TypeError, ValueError):
            return UNKNOWN
    if name in _STR_METHODS:
        try:
            got = getattr(recv, name)(*consts)
        except (TypeError, ValueError, AttributeError):
            return UNKNOWN
        return Const(got) if isinstance(got, str | bool | int) else UNKNOWN
    return UNKNOWN


_STR_METHODS = {
    "lower",
    "upper",
    "strip",
    "lstrip",
    "rstrip",
    "replace",
    "removeprefix",
    "removesuffix",
    "startswith",
    "endswith",
    "title",
    "casefold",
}


def str_format(template: str, args, kwargs):
    """``"{} ({})".format(a, b)`` with constant arguments (rgthree's node names)."""
    pos = [a[0].value for a in args if len(a) == 1 and isinstance(a[0], Const)]
    named = {k: v[0].value for k, v in kwargs.items() if len(v) == 1 and isinstance(v[0], Const)}
    if len(pos) != len(args) or len(named) != len(kwargs):
        return UNKNOWN
    try:
        return Const(template.format(*pos, **named))
    except (IndexError, KeyError, ValueError, AttributeError):
        return UNKNOWN


def to_slashes(args) -> bool:
    """``.replace("\\", "/")`` or ``.replace(os.sep, "/")``: path separators made ``/``."""
    if len(args) != 2 or args[1] != (Const("/"),) or len(args[0]) != 1:
        return False
    sep = args[0][0]
    return sep == Const("\\") or (isinstance(sep, Mod) and sep.name in ("os.sep", "os.path.sep"))
