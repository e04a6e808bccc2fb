"""What the reader's operators do with known values: ``+`` on file lists, strings, paths
and numbers, ``-``/``*`` and ``%`` formatting on numbers and strings, a number inside an
f-string, and setting a dict's key. Pure; every value is one of ``values.py``'s."""

from __future__ import annotations

import ast
import posixpath

from .values import (
    UNKNOWN,
    Const,
    DictV,
    DirFiles,
    Dyn,
    FileName,
    Files,
    Input,
    ListV,
    PathV,
    is_word,
)

__all__ = ["NOT_PLAIN", "add", "arith", "dict_set", "formatted", "plain"]


NOT_PLAIN = object()


def plain(v):
    if isinstance(v, Const):
        return v.value
    if isinstance(v, ListV) and all(isinstance(i, Const) for i in v.items):
        return tuple(i.value for i in v.items)
    if isinstance(v, DictV) and all(isinstance(k, Const) for k, _ in v.items):
        return {k.value for k, _ in v.items}  # ``in`` a dict asks its keys
    return NOT_PLAIN


def formatted(v, piece: ast.FormattedValue):
    """A number in an f-string is its text (``f"lora_{i}_name"``), with a constant format
    spec applied (``{i:02d}``); anything else stays the value it is."""
    if not (isinstance(v, Const) and number(v.value)) or piece.conversion not in (-1, 115):
        return v
    spec = piece.format_spec
    if spec is None:
        return Const(str(v.value))
    if all(isinstance(p, ast.Constant) for p in spec.values):
        try:
            return Const(format(v.value, "".join(str(p.value) for p in spec.values)))
        except (TypeError, ValueError):
            return UNKNOWN
    return UNKNOWN


def dict_set(d: DictV, key, vals: tuple) -> DictV:
    items = [(k, v) for k, v in d.items if k != key or key == UNKNOWN]
    items.append((key, vals))
    return DictV(tuple(items))


def add(a, b):  # noqa: C901 - the pairs that matter
    if isinstance(a, Dyn) or isinstance(b, Dyn):
        return a if isinstance(a, Dyn) else b
    if isinstance(a, Files) and isinstance(b, Files):
        return Files(a.keys | b.keys, a.prefixes | b.prefixes, a.words + b.words)
    if isinstance(a, Const) and isinstance(a.value, str) and isinstance(b, FileName):
        return FileName(b.key, a.value + b.prefix)
    for x, y in ((a, b), (b, a)):
        if isinstance(x, Files) and isinstance(y, ListV):
            words = tuple(
                i.value for i in y.items if isinstance(i, Const) and isinstance(i.value, str)
            )
            if len(words) != len(y.items):
                return x
            words = tuple(w for w in words if is_word(w))  # a default file stays a file
            both = (*words, *x.words) if y is a else (*x.words, *words)
            return Files(x.keys, x.prefixes, tuple(dict.fromkeys(both)))
        if isinstance(x, Files | DirFiles) and isinstance(y, ListV | Files | DirFiles):
            return x if isinstance(y, ListV) else Dyn("several folders")
    if isinstance(a, ListV) and isinstance(b, ListV):
        return ListV(a.items + b.items)
    if isinstance(a, Const) and isinstance(b, Const):
        if isinstance(a.value, str) and isinstance(b.value, str):
            return Const(a.value + b.value)
        return arith(ast.Add(), a.value, b.value)
    if isinstance(a, PathV) and isinstance(b, Const) and isinstance(b.value, str):
        joined = posixpath.normpath((a.rel + b.value).replace("\\", "/"))
        return PathV("" if joined == "." else joined.lstrip("/") if a.rel == "" else joined)
    if isinstance(a, PathV) and isinstance(b, Input):
        return PathV(a.rel + ("{repo_name}" if b.xform == "repo_name" else "{repo_id}"))
    return UNKNOWN


def number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def arith(op, a, b):
    """Numbers (``max_loras + 1``, ``i * 2``) and ``"lora_%d" % i``: what Python gives, when
    both sides are known and the result stays small; else unknown."""
    try:
        if number(a) and number(b) and isinstance(op, ast.Add | ast.Sub | ast.Mult):
            got = a + b if isinstance(op, ast.Add) else a - b if isinstance(op, ast.Sub) else a * b
            return Const(got) if abs(got) < 1 << 32 else UNKNOWN
        if (
            isinstance(op, ast.Mod)
            and isinstance(a, str)
            and (number(b) or isinstance(b, str | tuple))
        ):
            return Const(a % b)
    except (TypeError, ValueError, ZeroDivisionError):
        pass
    return UNKNOWN
