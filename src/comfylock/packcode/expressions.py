"""What expressions mean to the reader: names, attributes (``folder_paths.models_dir``, a
class's attributes and methods), subscripts, literals and comprehensions. Calls are in
``calls.py``, what operators do with known values in ``operators.py``.

Every function returns a tuple of alternatives (see ``values.py``).
"""

from __future__ import annotations

import ast
import posixpath

from .operators import NOT_PLAIN, add, arith, dict_set, formatted, plain
from .values import (
    UNKNOWN,
    Bound,
    ClassRef,
    Const,
    DictV,
    DirFiles,
    Dyn,
    EnvV,
    FileName,
    Files,
    FolderDirs,
    FuncRef,
    Input,
    ListV,
    Mod,
    PathV,
    join_path,
    parent,
)

__all__ = ["BUILTINS", "binop", "element_of", "evaluate", "index", "iter_items"]

BUILTINS = {
    "list",
    "sorted",
    "set",
    "tuple",
    "reversed",
    "filter",
    "next",
    "dict",
    "str",
    "super",
    "enumerate",
    "zip",
}
BUILTINS |= {"open", "callable", "getattr", "range"}
_FP_ATTRS = {"models_dir": "models", "base_path": "", "output_directory": "output"}
_FP_ATTRS |= {"input_directory": "input", "temp_directory": "temp", "user_directory": "user"}


def merge(*alts):
    from .interp import merge as _merge

    return _merge(*alts)


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _fp(name: str) -> str | None:
    """'get_filename_list' when ``name`` is a folder_paths function, else None."""
    if name.startswith("folder_paths."):
        return name[len("folder_paths.") :]
    return None


# ---- expressions -------------------------------------------------------------------------
def evaluate(it, node, frame) -> tuple:  # noqa: C901 - one dispatch over expression kinds
    if isinstance(node, ast.Constant):
        return (Const(node.value),)
    if isinstance(node, ast.Name):
        return it.lookup(node.id, frame)
    if isinstance(node, ast.Attribute):
        return merge(*(attr(it, b, node.attr) for b in it.ev(node.value, frame)))
    if isinstance(node, ast.Call):
        return calls.call_node(it, node, frame)
    if isinstance(node, ast.BinOp):
        return binop(node.op, it.ev(node.left, frame), it.ev(node.right, frame))
    if isinstance(node, ast.JoinedStr):
        return fstring(it, node, frame)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return list_literal(it, node.elts, frame)
    if isinstance(node, ast.Dict):
        return dict_literal(it, node, frame)
    if isinstance(node, ast.Subscript):
        vals, keys = it.ev(node.value, frame), it.ev(node.slice, frame)
        return merge(*(index(v, k) for v in vals for k in keys))
    if isinstance(node, ast.IfExp):
        taken = it.decided(node.test, frame)
        if taken is not None:
            return it.ev(node.body if taken else node.orelse, frame)
        return merge(it.ev(node.body, frame), it.ev(node.orelse, frame))
    if isinstance(node, ast.BoolOp):
        return bool_op(it, node, frame)
    if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        return comprehension(it, node, frame)
    if isinstance(node, ast.Starred):
        return it.ev(node.value, frame)
    if isinstance(node, ast.Compare):
        return compare(it, node, frame)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        vals = it.ev(node.operand, frame)
        return tuple(Const(not v.value) if isinstance(v, Const) else UNKNOWN for v in vals)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        vals = it.ev(node.operand, frame)
        return tuple(
            Const(-v.value) if isinstance(v, Const) and type(v.value) in (int, float) else UNKNOWN
            for v in vals
        )
    if isinstance(node, ast.NamedExpr):
        vals = it.ev(node.value, frame)
        frame.env[node.target.id] = vals
        return vals
    return (UNKNOWN,)


_COMPARE = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}


def bool_op(it, node: ast.BoolOp, frame) -> tuple:
    """``a and b`` / ``a or b`` as Python takes it: an operand that is one constant decides
    (``x or y`` with a non-empty ``x`` is ``x``, and ``y`` is not evaluated) or passes on; an
    operand of unknown truth may be the answer, and the next ones are read too."""
    is_and = isinstance(node.op, ast.And)
    maybe: list = []
    for i, operand in enumerate(node.values):
        vals = it.ev(operand, frame)
        if i == len(node.values) - 1:
            return merge(*maybe, vals)
        if len(vals) == 1 and isinstance(vals[0], Const):
            if bool(vals[0].value) != is_and:
                return merge(*maybe, vals)
            continue  # falsy for ``or``, truthy for ``and``: the next operand answers
        maybe.append(vals)
    return merge(*maybe)


def compare(it, node: ast.Compare, frame) -> tuple:
    """``a == b``, ``x in s`` and the like, on constants (strings, numbers, a list of
    constants on the right of ``in``); anything else is unknown."""
    if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
        return (UNKNOWN,)
    left, right = it.ev(node.left, frame), it.ev(node.comparators[0], frame)
    if len(left) * len(right) > 16:
        return (UNKNOWN,)
    op = _COMPARE[type(node.ops[0])]
    out = []
    for a in left:
        for b in right:
            av, bv = plain(a), plain(b)
            if av is NOT_PLAIN or bv is NOT_PLAIN:
                out.append(UNKNOWN)
                continue
            try:
                out.append(Const(bool(op(av, bv))))
            except TypeError:
                out.append(UNKNOWN)
    return merge(tuple(out))


def fstring(it, node: ast.JoinedStr, frame) -> tuple:
    parts = []
    for piece in node.values:
        if isinstance(piece, ast.Constant):
            parts.append(Const(piece.value))
            continue
        alts = it.ev(piece.value, frame)
        if len(alts) != 1:
            return (UNKNOWN,)
        parts.append(formatted(alts[0], piece))
    out = parts[0] if parts else Const("")
    for p in parts[1:]:
        out = add(out, p)
    return (out,)


def _collapse(alts: tuple):
    if len(alts) == 1:
        return alts[0]
    if all(isinstance(a, Files) for a in alts):
        return Files(frozenset().union(*(a.keys for a in alts)))
    if any(isinstance(a, Files | DirFiles | Dyn) for a in alts):
        return Dyn("one of several lists")
    return UNKNOWN


def list_literal(it, elts, frame) -> tuple:
    """A list/tuple literal; an element with several alternatives gives several lists."""
    combos: list[list] = [[]]
    spread = None
    for e in elts:
        alts = it.ev(e, frame)
        if isinstance(e, ast.Starred):
            val = _collapse(alts)
            if isinstance(val, Files | DirFiles | Dyn):
                spread = val if spread is None else add(spread, val)
            elif isinstance(val, ListV):
                combos = [c + list(val.items) for c in combos]
            else:
                return (UNKNOWN,)
            continue
        if len(alts) > 1 and len(combos) * len(alts) <= 8:
            combos = [c + [a] for c in combos for a in alts]
        else:
            combos = [c + [_collapse(alts)] for c in combos]
    if spread is not None:
        return (spread,)
    return tuple(ListV(tuple(c)) for c in combos)


def dict_literal(it, node: ast.Dict, frame) -> tuple:
    out = DictV(())
    for k, v in zip(node.keys, node.values, strict=False):
        if k is None:  # {**other}
            others = it.ev(v, frame)
            merged = [o for o in others if isinstance(o, DictV)]
            dyn = [o for o in others if isinstance(o, Dyn)]
            if dyn:  # spread of something folder-derived we cannot read
                out = dict_set(out, UNKNOWN, (dyn[0],))
            for o in merged:
                for kk, vv in o.items:
                    out = dict_set(out, kk, vv)
            continue
        keys = it.ev(k, frame)
        out = dict_set(out, keys[0] if len(keys) == 1 else UNKNOWN, it.ev(v, frame))
    return (out,)


def comprehension(it, node, frame) -> tuple:
    from .interp import Frame

    gen = node.generators[0]
    source = it.ev(gen.iter, frame)
    items = iter_items(source) if len(node.generators) == 1 else None
    if items is None or len(items) > 400:
        prefixed = _prefixed_names(it, node, gen, source, frame)
        if prefixed is not None:
            return (prefixed,)
        if any(isinstance(s, Files | DirFiles | Dyn) for s in source):
            return (_collapse(tuple(s for s in source if isinstance(s, Files | DirFiles | Dyn))),)
        return _opaque_comprehension(it, node, gen, frame)
    sub = Frame(frame.module, frame.env, frame.owner)
    out: list = []
    for item in items:
        it.assign(gen.target, (item,), sub)
        if isinstance(node, ast.DictComp):
            out.append((_collapse(it.ev(node.key, sub)), it.ev(node.value, sub)))
        else:
            out.append(_collapse(it.ev(node.elt, sub)))
    if isinstance(node, ast.DictComp):
        return (DictV(tuple(out)),)
    return (ListV(tuple(out)),)


def _prefixed_names(it, node, gen, source, frame):
    """``[prefix + x for x in get_filename_list(K)]``: K's names listed as ``prefix + name``."""
    from .interp import Frame

    if isinstance(node, ast.DictComp) or len(node.generators) != 1 or gen.ifs:
        return None
    if len(source) != 1 or not isinstance(source[0], Files) or len(source[0].keys) != 1:
        return None
    if source[0].prefixes:
        return None
    (key,) = source[0].keys
    sub = Frame(frame.module, frame.env, frame.owner)
    it.assign(gen.target, (FileName(key),), sub)
    got = it.ev(node.elt, sub)
    if len(got) == 1 and isinstance(got[0], FileName) and got[0].prefix:
        return Files(frozenset({key}), frozenset({(key, got[0].prefix)}))
    return None


def _opaque_comprehension(it, node, gen, frame) -> tuple:
    """A comprehension over something unreadable: its names are unknown, but a value built
    from folder_paths still says "a model input is here, dynamically"."""
    from .interp import Frame

    sub = Frame(frame.module, frame.env, frame.owner)
    it.assign(gen.target, (UNKNOWN,), sub)
    body = node.value if isinstance(node, ast.DictComp) else node.elt
    firsts = [v.items[0] if isinstance(v, ListV) and v.items else v for v in it.ev(body, sub)]
    hit = [v for v in firsts if isinstance(v, Files | DirFiles | Dyn)]
    if not hit:
        return (UNKNOWN,)
    if isinstance(node, ast.DictComp):
        return (DictV(((UNKNOWN, (Dyn("names built in a loop"),)),)),)
    return (Dyn("list built in a loop"),)


def iter_items(alts: tuple) -> list | None:
    """The concrete elements of an iterable, when it is one known list/dict (alternatives
    that are merely unknown, ``f() if callable(f) else f``, are set aside)."""
    known = [a for a in alts if a != UNKNOWN]
    if len(known) > 1 and all(isinstance(a, ListV | DictV) for a in known):
        out: list = []  # one of several lists (a helper's early ``return {}``): any element
        for a in known:
            for item in iter_items((a,)) or []:
                if item not in out:
                    out.append(item)
        return out
    if len(known) != 1:
        return None
    v = known[0]
    if isinstance(v, ListV):
        return list(v.items)
    if isinstance(v, DictV):
        return [k for k, _ in v.items]
    return None


def element_of(alts: tuple) -> tuple:
    """One element of an iterable: a list's items; a name of a folder's or a directory's file
    list; one directory of a folder's (``get_folder_paths``)."""
    out = []
    for v in alts:
        if isinstance(v, ListV):
            out.extend(v.items)
        elif isinstance(v, Files) and len(v.keys) == 1 and not v.prefixes:
            out.append(FileName(next(iter(v.keys))))
        elif isinstance(v, DirFiles):
            out.append(FileName("dir:" + v.rel))
        elif isinstance(v, FolderDirs):
            out.append(PathV("{folder:" + v.key + "}"))
        else:
            out.append(UNKNOWN)
    return merge(tuple(out))


# ---- operators and subscripts ------------------------------------------------------------
def binop(op, left: tuple, right: tuple) -> tuple:
    out = []
    for a in left:
        for b in right:
            if isinstance(op, ast.Add):
                out.append(add(a, b))
            elif isinstance(op, ast.BitOr) and isinstance(a, DictV) and isinstance(b, DictV):
                merged = a
                for k, v in b.items:
                    merged = dict_set(merged, k, v)
                out.append(merged)
            elif isinstance(op, ast.Div) and isinstance(a, PathV):
                out.append(join_path(a.rel, b) or UNKNOWN)
            elif isinstance(a, Const) and isinstance(b, Const | ListV):
                out.append(arith(op, a.value, plain(b)))
            else:
                out.append(UNKNOWN)
    return merge(tuple(out))


def index(v, key) -> tuple:  # noqa: C901
    k = key.value if isinstance(key, Const) else None
    if isinstance(v, DictV):
        for kk, vv in v.items:
            if kk == key:
                return vv
        if isinstance(key, Input) and key.xform == "" and v.items:
            # ``self.models[model]``: the entry a node's value picks, any of them (the value
            # by value reading, ``fetches``, binds it to each choice)
            return merge(*(vv for _kk, vv in v.items))
        return (UNKNOWN,)
    if isinstance(v, ListV) and isinstance(k, int) and -len(v.items) <= k < len(v.items):
        return (v.items[k],)
    if isinstance(v, FolderDirs):
        return (PathV("{folder:" + v.key + "}"),) if k == 0 else (Dyn("a folder's nth path"),)
    if isinstance(v, Input) and v.xform == "split":
        return (Input(v.name, "repo_name"),) if k == -1 else (UNKNOWN,)
    if isinstance(v, Input) and v.xform == "" and isinstance(k, str):
        return (v,)  # a leaf of a dict an input carries (``value["lora"]``)
    if isinstance(v, Mod) and v.name == "folder_paths.folder_names_and_paths":
        return _fnp_entry(key)
    if isinstance(v, Mod) and v.name == "os.environ":
        return (EnvV(k if isinstance(k, str) else "?"),)
    if isinstance(v, Mod) and v.name == "nodes.NODE_CLASS_MAPPINGS" and isinstance(k, str):
        return (Mod(f"nodes.{k}"),)  # a core class by its registered name
    if isinstance(v, Files | DirFiles) and k is None and not isinstance(key, Const):
        return (UNKNOWN,)
    return (UNKNOWN,)


def _fnp_entry(key) -> tuple:
    if isinstance(key, Const) and isinstance(key.value, str):
        return (ListV((FolderDirs(key.value), UNKNOWN)),)
    return (ListV((Dyn("folder_names_and_paths[?]"), UNKNOWN)),)


# ---- attributes and calls ----------------------------------------------------------------
def attr(it, base, name: str) -> tuple:  # noqa: C901
    if isinstance(base, Mod):
        if base.name == "folder_paths" and name in _FP_ATTRS:
            return (PathV(_FP_ATTRS[name]),)
        if base.name.startswith("pack:"):
            module = base.name[5:]
            sub = it.pack.resolve_module(name, module, level=1, package=True)
            if sub is not None:
                return (Mod("pack:" + sub),)
            return it.module_env(module).get(name, (UNKNOWN,))
        return (Mod(f"{base.name}.{name}"),)
    if isinstance(base, PathV):
        if name == "parent":
            return (PathV(parent(base.rel)),)
        if name == "parents":
            ups, rel = [], base.rel
            while rel and rel not in ("", "/"):
                rel = posixpath.dirname(rel)
                ups.append(PathV(rel))
            return (ListV(tuple(ups)),)
        if name == "name":
            return (Const(posixpath.basename(base.rel)),)
        if name == "stem":
            return (Const(posixpath.splitext(posixpath.basename(base.rel))[0]),)
        return (Bound(base, name),)
    if isinstance(base, Const) and isinstance(base.value, str) and name == "path":
        from urllib.parse import urlsplit

        return (Const(urlsplit(base.value).path),)  # urlparse(url).path (urlparse is identity)
    if isinstance(base, ClassRef):
        return class_attr(it, base, name)
    if isinstance(base, ListV | DictV | Files | DirFiles | Input | Const | FolderDirs):
        return (Bound(base, name),)
    if isinstance(base, FileName) and name == "replace":  # separators made "/" (calls.py)
        return (Bound(base, name),)
    return (UNKNOWN,)


def class_attr(it, cls: ClassRef, name: str, seen=None) -> tuple:

    if name == "__name__":
        return (Const(cls.node.name),)
    stored = it.class_attrs.get((id(cls.node), name))
    if stored is not None:  # set by a method (``self.files = list_files(...)``)
        return stored
    if not cls.closure and seen is None:  # a class body's value is the same every time
        key = (id(cls.node), name)
        if key not in it.attr_memo:
            it.attr_memo[key] = _class_attr(it, cls, name, None)
        return it.attr_memo[key]
    return _class_attr(it, cls, name, seen)


def _class_attr(it, cls: ClassRef, name: str, seen) -> tuple:
    from .interp import class_frame

    seen = seen or set()
    if id(cls.node) in seen:
        return (UNKNOWN,)
    seen.add(id(cls.node))
    for stmt in cls.node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name:
            return (Bound(cls, name),)
    frame = class_frame(cls)
    found = None
    for i, stmt in enumerate(cls.node.body):
        if name in _assigned(stmt):
            found, at = stmt.value, i
    if found is not None:
        frame.env.update(_class_scope(it, cls, at, _names_in(found), 0))
        return it.ev(found, frame)
    for base in cls.node.bases:
        for b in it.ev(base, class_frame(cls)):
            if isinstance(b, ClassRef):
                got = class_attr(it, b, name, seen)
                if got != (UNKNOWN,):
                    return got
    return (UNKNOWN,)


def _assigned(stmt) -> set[str]:
    """The plain names a class-body statement binds (``A = ...``, ``A: T = ...``)."""
    if isinstance(stmt, ast.Assign):
        return {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        return {stmt.target.id} if isinstance(stmt.target, ast.Name) else set()
    return set()


def _names_in(expr) -> set[str]:
    return {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}


def _class_scope(it, cls: ClassRef, before: int, names: set[str], depth: int) -> dict:
    """The class-body names an attribute's value uses (``B = filter(A, ...)`` after ``A =
    ...``): evaluated as the body binds them before it, a few levels deep."""
    from .interp import class_frame

    env: dict = {}
    if depth > 3 or not names:
        return env
    for i, stmt in enumerate(cls.node.body[:before]):
        for target in _assigned(stmt) & names:
            frame = class_frame(cls)
            frame.env.update(_class_scope(it, cls, i, _names_in(stmt.value), depth + 1))
            env[target] = it.ev(stmt.value, frame)
    return env


def find_method(it, cls: ClassRef, name: str, seen=None) -> FuncRef | None:
    from .interp import class_frame

    seen = seen or set()
    if id(cls.node) in seen:
        return None
    seen.add(id(cls.node))
    for stmt in cls.node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name:
            return FuncRef(cls.module, stmt, cls)
    for base in cls.node.bases:
        for b in it.ev(base, class_frame(cls)):
            if isinstance(b, ClassRef):
                got = find_method(it, b, name, seen)
                if got is not None:
                    return got
    return None


from . import calls  # noqa: E402  (calls.py uses this module; it is imported last)
