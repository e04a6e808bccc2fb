"""What calls mean to the reader: ``folder_paths`` functions, ``os.path``/``pathlib``/``glob``,
the Hugging Face download functions (recorded as effects), V3 ``io.Schema``/``X.Input``, list
and dict methods, ``str.format``, and calls into the pack's own functions and methods.

Every function returns a tuple of alternatives (see ``values.py``).
"""

from __future__ import annotations

import ast
import posixpath

from .expressions import (
    _add,
    _collapse,
    _fnp_entry,
    _fp,
    _last,
    dict_set,
    element_of,
    find_method,
    index,
    iter_items,
    merge,
)
from .values import (
    UNKNOWN,
    Bound,
    ClassRef,
    Const,
    DictV,
    DirFiles,
    Dyn,
    Files,
    FolderDirs,
    FuncRef,
    Input,
    ListV,
    Mod,
    PathV,
    Schema,
    V3Input,
    join_path,
)

__all__ = ["call", "call_node", "core_input_types"]

_IDENTITY = {"list", "sorted", "set", "tuple", "reversed", "str", "frozenset"}
_COPIES = {"copy.copy", "copy.deepcopy", "deepcopy"}
_PATH_IDENTITY = {"abspath", "realpath", "normpath", "expanduser", "resolve", "absolute"}
_FP_DIRS = {
    "get_output_directory": "output",
    "get_input_directory": "input",
    "get_temp_directory": "temp",
    "get_user_directory": "user",
}
_DOWNLOADERS = ("snapshot_download", "hf_hub_download")


def call_node(it, node: ast.Call, frame) -> tuple:
    funcs = it.ev(node.func, frame)
    args = [it.ev(a, frame) for a in node.args]
    kwargs = {kw.arg: it.ev(kw.value, frame) for kw in node.keywords if kw.arg}
    out = []
    for f in funcs:
        if isinstance(f, Bound) and f.name in ("append", "extend", "insert", "update"):
            out.append(_mutate(it, node, f, args, frame))
        else:
            out.extend(call(it, f, args, kwargs, node, frame))
    return merge(tuple(out))


def _mutate(it, node, f: Bound, args, frame):
    target = node.func.value
    recv = f.recv
    new = None
    if f.name == "update" and isinstance(recv, DictV) and args:
        for other in args[0]:
            if isinstance(other, DictV):
                for k, v in other.items:
                    recv = dict_set(recv, k, v)
            else:
                recv = dict_set(recv, Dyn("update(?)"), (Dyn("update(?)"),))
        new = recv
    elif f.name in ("append", "insert") and isinstance(recv, ListV) and args:
        new = ListV(recv.items + (_collapse(args[-1]),))
    elif f.name == "extend" and args:
        new = _add(recv, _collapse(args[0]))
    elif f.name in ("append", "extend") and isinstance(recv, FolderDirs) and args:
        paths = args[-1] if f.name == "append" else element_of(args[0])
        it.effects.registrations.append(((Const(recv.key),), paths, it.where(frame, node)))
    if new is not None and isinstance(target, ast.Name | ast.Subscript):
        it.rebind(target, (new,), frame)
    return Const(None)


def _super(it, frame) -> tuple:
    from .interp import class_frame

    owner = frame.owner
    if owner is None:
        return (UNKNOWN,)
    bases = [b for base in owner.node.bases for b in it.ev(base, class_frame(owner))]
    return tuple(b for b in bases if isinstance(b, ClassRef | Mod)) or (UNKNOWN,)


_KIND_VALUE = {"link": "MODEL", "int": "INT", "widget": "STRING"}


def core_input_types(spec) -> DictV:
    """What a core class's ``INPUT_TYPES()`` gives, from ComfyUI's recorded facts: its inputs
    in order (``(name, kind, folder)``: a model input lists its folder's files), or, from an
    older table that knows only the model inputs (``{name: folder}``), those and an unknown
    rest (so no widget order is made up from it)."""
    if isinstance(spec, dict):
        required = tuple(
            (Const(name), (ListV((Files(frozenset({folder})),)),)) for name, folder in spec.items()
        )
        return DictV(((Const("required"), (DictV((*required, (UNKNOWN, (UNKNOWN,)))),)),))
    items = []
    for name, kind, folder in spec:
        value = Files(frozenset({folder})) if folder else Const(_KIND_VALUE.get(kind, "STRING"))
        items.append((Const(name), (ListV((value,)),)))
    return DictV(((Const("required"), (DictV(tuple(items)),)),))


def call(it, f, args, kwargs, node, frame) -> tuple:  # noqa: C901
    if isinstance(f, Mod) and f.name == "super" and not args:
        return _super(it, frame)
    if isinstance(f, FuncRef):
        return it.call_def(f, args, kwargs, frame)
    if isinstance(f, Bound):
        return call_bound(it, f, args, kwargs, frame)
    if isinstance(f, ClassRef):
        return (f,)
    if not isinstance(f, Mod):
        return (UNKNOWN,)
    name = f.name
    fp = _fp(name)
    if fp is not None:
        return call_folder_paths(it, fp, args, kwargs, node, frame)
    last = _last(name)
    if last in _DOWNLOADERS:
        repo = kwargs.get("repo_id") or (args[0] if args else (UNKNOWN,))
        local = kwargs.get("local_dir", ())
        cache = kwargs.get("cache_dir", ())
        it.effects.downloads.append((repo, local, cache, it.where(frame, node)))
        return (PathV("{download}"),)
    if name.endswith("Schema") and "node_id" in kwargs:
        inputs = kwargs.get("inputs", (ListV(()),))
        items = iter_items(inputs) or []
        return (Schema(_collapse(kwargs["node_id"]), tuple(items)),)
    if last == "Input" and "." in name and args:
        kind = name.rsplit(".", 2)[-2]
        options = kwargs.get("options", args[1] if len(args) > 1 else ())
        return (V3Input(_collapse(args[0]), kind, options),)
    if last == "INPUT_TYPES" and name.count(".") >= 1:
        spec = it.core_inputs.get(name.rsplit(".", 2)[-2])
        if spec is not None:
            return (core_input_types(spec),)
    return call_stdlib(it, name, args, kwargs)


def call_stdlib(it, name: str, args, kwargs) -> tuple:  # noqa: C901
    last = _last(name)
    first = args[0] if args else (UNKNOWN,)
    if name in ("os.path.join", "posixpath.join") or (last == "join" and name.startswith("os")):
        _note_file_read(it, args)
        return _join_all(args)
    if name in ("Path", "pathlib.Path", "PurePath", "pathlib.PurePath"):
        _note_file_read(it, args)
        return _join_all(args) if args else (UNKNOWN,)
    if name.startswith("os.path.") and last == "dirname":
        return tuple(
            PathV(posixpath.dirname(v.rel)) if isinstance(v, PathV) else UNKNOWN for v in first
        )
    if name.startswith("os.path.") and last in _PATH_IDENTITY:
        return first
    if name.startswith("os.path.") and last == "basename":
        return tuple(Input(v.name, "repo_name") if isinstance(v, Input) else UNKNOWN for v in first)
    if name in ("os.listdir", "os.scandir", "glob.glob", "glob", "glob.iglob"):
        return tuple(_listing(v) for v in first)
    if name in _IDENTITY or name in _COPIES:
        return first
    if name == "filter" and len(args) == 2:
        return args[1]
    if name == "next":
        return merge(element_of(first), *args[1:])
    if name == "dict":
        return first if args else (DictV(tuple((Const(k), v) for k, v in kwargs.items())),)
    return (UNKNOWN,)


def _note_file_read(it, args) -> None:
    """``join(dir, …, <input>)``: the input's value is a file name inside ``dir``."""
    if len(args) < 2:
        return
    for v in args[-1]:
        if isinstance(v, Input) and v.xform == "":
            it.effects.file_reads.append((v.name, _join_all(args[:-1])))


def _listing(v):
    if isinstance(v, PathV):
        rel = v.rel
        if "*" in posixpath.basename(rel):
            rel = posixpath.dirname(rel)
        return DirFiles(rel) if "*" not in rel and "{" not in rel else Dyn("listing of " + rel)
    return Dyn("listing of an unreadable directory")


def _join_all(args) -> tuple:
    if not args:
        return (UNKNOWN,)
    outs = []
    for base in args[0]:
        cur = base if isinstance(base, PathV) else None
        for part in args[1:]:
            if cur is None or len(part) != 1:
                cur = None
                break
            cur = join_path(cur.rel, part[0])
        outs.append(cur or UNKNOWN)
    return merge(tuple(outs))


def call_folder_paths(it, fp: str, args, kwargs, node, frame) -> tuple:
    key = args[0] if args else kwargs.get("folder_name", (UNKNOWN,))
    if fp in ("get_filename_list", "get_filename_list_"):
        return tuple(
            Files(frozenset({k.value})) if _is_str(k) else Dyn("get_filename_list(?)") for k in key
        )
    if fp == "get_folder_paths":
        return tuple(FolderDirs(k.value) if _is_str(k) else Dyn("get_folder_paths(?)") for k in key)
    if fp == "add_model_folder_path":
        path = args[1] if len(args) > 1 else kwargs.get("full_folder_path", (UNKNOWN,))
        it.effects.registrations.append((key, path, it.where(frame, node)))
        return (Const(None),)
    if fp in _FP_DIRS:
        return (PathV(_FP_DIRS[fp]),)
    if fp == "filter_files_content_types" and args and it.input_files:
        return args[0]  # a filter of a listing (``LoadImage``'s images) is still that listing
    if fp in ("get_full_path", "get_full_path_or_raise") and len(args) > 1:
        dirs = tuple(PathV("{folder:" + k.value + "}") if _is_str(k) else UNKNOWN for k in key)
        for v in args[1]:
            if isinstance(v, Input) and v.xform == "":
                it.effects.file_reads.append((v.name, dirs))
        return (UNKNOWN,)
    if fp == "folder_names_and_paths.get":
        got = fnp_get(args)
        return merge(got, args[1]) if len(args) > 1 else got
    return (UNKNOWN,)


def _is_str(v) -> bool:
    return isinstance(v, Const) and isinstance(v.value, str)


def call_bound(it, f: Bound, args, kwargs, frame) -> tuple:  # noqa: C901
    recv, name = f.recv, f.name
    if isinstance(recv, ClassRef):
        method = find_method(it, recv, name)
        if method is None:
            return (UNKNOWN,)
        static = any(
            isinstance(d, ast.Name) and d.id == "staticmethod" for d in method.node.decorator_list
        )
        return it.call_def(method, args if static else [(recv,), *args], kwargs, frame)
    if isinstance(recv, Const) and isinstance(recv.value, str) and name == "format":
        return (_format(recv.value, args, kwargs),)
    if isinstance(recv, Input) and name in ("split", "rsplit") and args:
        return (Input(recv.name, "split"),) if args[0] == (Const("/"),) else (UNKNOWN,)
    if isinstance(recv, PathV):
        if name == "joinpath":
            return _join_all([(recv,), *args])
        if name in _PATH_IDENTITY or name == "as_posix":
            return (recv,)
        if name in ("glob", "iterdir", "rglob"):
            return (_listing(recv),)
        return (UNKNOWN,)
    if isinstance(recv, DictV):
        if name == "get" and args:
            got = merge(*(index(recv, k) for k in args[0]))
            return merge(got, *args[1:]) if got == (UNKNOWN,) and len(args) > 1 else got
        if name == "keys":
            return (ListV(tuple(k for k, _ in recv.items)),)
        if name == "values":
            return (ListV(tuple(_collapse(v) for _, v in recv.items)),)
        if name == "items":
            return (ListV(tuple(ListV((k, _collapse(v))) for k, v in recv.items)),)
        return (recv,) if name == "copy" else (UNKNOWN,)
    if isinstance(recv, ListV | Files | DirFiles) and name in ("copy", "sort"):
        return (recv,)
    return (UNKNOWN,)


def _format(template: str, args, kwargs):
    """``"{} ({})".format(a, b)`` with constant arguments (rgthree's node names)."""
    pos = [a[0].value for a in args if len(a) == 1 and isinstance(a[0], Const)]
    named = {k: v[0].value for k, v in kwargs.items() if len(v) == 1 and isinstance(v[0], Const)}
    if len(pos) != len(args) or len(named) != len(kwargs):
        return UNKNOWN
    try:
        return Const(template.format(*pos, **named))
    except (IndexError, KeyError, ValueError, AttributeError):
        return UNKNOWN


def fnp_get(args) -> tuple:
    return merge(*(_fnp_entry(k) for k in args[0])) if args else (UNKNOWN,)
