"""What calls mean to the reader: ``folder_paths`` functions, ``os.path``/``pathlib``/``glob``,
the Hugging Face download functions (recorded as effects), V3 ``io.Schema``/``X.Input``, list
and dict methods, and calls into the pack's own functions and methods (``str`` methods on
constant strings are ``strmethods.py``'s).

Every function returns a tuple of alternatives (see ``values.py``).
"""

from __future__ import annotations

import ast
import posixpath

from .expressions import (
    _collapse,
    _fnp_entry,
    _fp,
    _last,
    attr,
    element_of,
    find_method,
    index,
    iter_items,
    merge,
)
from .nodecalls import call_node_class, construct
from .operators import add, dict_set
from .strmethods import str_format, str_method, to_slashes
from .values import (
    ANY_INPUT,
    FORWARDED,
    UNKNOWN,
    Bound,
    ClassRef,
    Const,
    DataFile,
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
    Schema,
    V3Input,
    from_json,
    from_yaml,
    join_path,
    parent,
)

__all__ = ["call", "call_node"]

_IDENTITY = {"list", "sorted", "set", "tuple", "reversed", "str", "frozenset"}
_COPIES = {"copy.copy", "copy.deepcopy", "deepcopy"}
_EXISTS = {"exists", "isfile", "isdir", "lexists"}
_PATH_IDENTITY = {"abspath", "realpath", "normpath", "expanduser", "resolve", "absolute"}
_FP_DIRS = {
    "get_output_directory": "output",
    "get_input_directory": "input",
    "get_temp_directory": "temp",
    "get_user_directory": "user",
}
_DOWNLOADERS = ("snapshot_download", "hf_hub_download")
# URL downloaders: name -> (position of the URL, position and keywords of the destination,
# whether the destination is a directory (the file keeps the URL's name) or the file's path)
_URL_FETCHERS = {
    "load_file_from_url": (0, 1, ("model_dir", "dst_dir", "dir"), True),
    "download_url_to_file": (0, 1, ("dst",), False),
    "urlretrieve": (0, 1, ("filename",), False),
    "download": (0, 1, ("out",), False),  # wget.download
}


def call_node(it, node: ast.Call, frame) -> tuple:
    funcs = it.ev(node.func, frame)
    args = []
    for a in node.args:
        vals = it.ev(a, frame)
        if isinstance(a, ast.Starred) and len(vals) == 1 and isinstance(vals[0], ListV):
            args.extend((item,) for item in vals[0].items)  # ``f(*args)`` of a known list
        else:
            args.append(vals)
    kwargs = {kw.arg: it.ev(kw.value, frame) for kw in node.keywords if kw.arg}
    for kw in node.keywords:
        if kw.arg is None and any(
            isinstance(v, Input) and v.name == ANY_INPUT for v in it.ev(kw.value, frame)
        ):
            kwargs[FORWARDED] = (Const(True),)
    out = []
    changed: list = []  # each alternative of a container changed in place
    for f in funcs:
        if isinstance(f, Bound) and f.name in ("append", "extend", "insert", "update"):
            new = _mutate(it, node, f, args, frame)
            changed.append((f.recv, new))
            out.append(Const(None))
        else:
            it.calling = node  # the site of a pack function's call (``Interp.chain``)
            out.extend(call(it, f, args, kwargs, node, frame))
    target = node.func.value if isinstance(node.func, ast.Attribute) else None
    if any(new is not None for _, new in changed) and isinstance(target, ast.Name | ast.Subscript):
        # every alternative's change, not the last one's (an unreadable one stays as it was,
        # and so do alternatives that are no container)
        after = [new if new is not None else old for old, new in changed]
        seen = {id(old) for old, _ in changed}
        after += [v for v in it.ev(target, frame) if id(v) not in seen]
        it.rebind(target, merge(tuple(after)), frame)
    return merge(tuple(out))


def _mutate(it, node, f: Bound, args, frame):
    """The container ``f`` (``list.append``, ``dict.update``, ...) changes into, or None when
    the change cannot be read (a folder registration is recorded as it happens)."""
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
        new = add(recv, _collapse(args[0]))
    elif f.name in ("append", "extend") and isinstance(recv, FolderDirs) and args:
        paths = args[-1] if f.name == "append" else element_of(args[0])
        it.effects.registrations.append(((Const(recv.key),), paths, it.where(frame, node)))
    return new


def _super(it, frame) -> tuple:
    from .interp import class_frame

    owner = frame.owner
    if owner is None:
        return (UNKNOWN,)
    bases = [b for base in owner.node.bases for b in it.ev(base, class_frame(owner))]
    return tuple(b for b in bases if isinstance(b, ClassRef | Mod)) or (UNKNOWN,)


def call(it, f, args, kwargs, node, frame) -> tuple:  # noqa: C901
    if isinstance(f, Mod) and f.name == "super" and not args:
        return _super(it, frame)
    if isinstance(f, FuncRef):
        return it.call_def(f, args, kwargs, frame)
    if isinstance(f, Mod) and f.name == "getattr" and len(args) >= 2:
        names = [n.value for n in args[1] if isinstance(n, Const) and isinstance(n.value, str)]
        found = [v for obj in args[0] for n in names for v in attr(it, obj, n)]
        return tuple(found) if found and len(names) == len(args[1]) else (UNKNOWN,)
    if isinstance(f, Bound):
        return call_bound(it, f, args, kwargs, frame)
    if isinstance(f, ClassRef):
        construct(it, f, frame)
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
        _record_hf_fetch(it, last, args, kwargs, it.where(frame, node))
        return (PathV("{download}"),)
    if last == "from_pretrained" and "." in name:  # transformers / diffusers
        repo = kwargs.get("pretrained_model_name_or_path") or (args[0] if args else ())
        it.effects.pretrained.append((repo, kwargs.get("cache_dir", ())))
        return (UNKNOWN,)
    if last in _URL_FETCHERS and (last != "download" or name.startswith("wget")):
        _record_url_fetch(it, last, args, kwargs, it.where(frame, node))
        return (UNKNOWN,)
    if name.endswith("Schema") and "node_id" in kwargs:
        inputs = kwargs.get("inputs", (ListV(()),))
        items = iter_items(inputs) or []
        return (Schema(_collapse(kwargs["node_id"]), tuple(items)),)
    if last == "Input" and "." in name and args:
        kind = name.rsplit(".", 2)[-2]
        options = kwargs.get("options", args[1] if len(args) > 1 else ())
        return (V3Input(_collapse(args[0]), kind, options),)
    if name == "importlib.import_module" and args:
        return _import_module(it, args, kwargs, frame)
    if last == "spec_from_file_location" and name.startswith(("importlib.", last)):
        return _module_at(it, args[1] if len(args) > 1 else kwargs.get("location", ()))
    if last == "module_from_spec" and name.startswith(("importlib.", last)) and args:
        return args[0]  # the spec stands for its module (see _module_at)
    if name == "inspect.getmembers" and args:
        return tuple(_members(it, m) for m in args[0])
    got = call_node_class(it, f, args, kwargs)
    return got if got is not None else call_stdlib(it, name, args, kwargs)


def _import_module(it, args, kwargs, frame) -> tuple:
    """``importlib.import_module(".nodes", package=__name__)``: a module of the pack."""
    out = []
    for v in args[0]:
        if not (isinstance(v, Const) and isinstance(v.value, str)):
            out.append(UNKNOWN)
            continue
        name = v.value
        level = len(name) - len(name.lstrip("."))
        local = it.pack.resolve_module(name.lstrip("."), frame.module, level=level)
        out.append(Mod("pack:" + local) if local is not None else Mod(name))
    return merge(tuple(out))


def _module_at(it, paths) -> tuple:
    """``importlib.util.spec_from_file_location(name, os.path.join(here, "nodes", "x.py"))``:
    the pack module at that path (its spec and the module made from it are read as one)."""
    by_path = {it.pack.root_rel(m): m for m in it.pack.modules}
    out = [
        Mod("pack:" + by_path[posixpath.normpath(v.rel)])
        for v in paths
        if isinstance(v, PathV) and posixpath.normpath(v.rel) in by_path
    ]
    return tuple(out) or (UNKNOWN,)


def _members(it, module):
    """``inspect.getmembers(module, inspect.isclass)`` of a pack module: (name, class) pairs
    of the classes it defines (a pack that registers every class of a module)."""
    if not (isinstance(module, Mod) and module.name.startswith("pack:")):
        return UNKNOWN
    local = module.name[5:]
    pairs = []
    for key, vals in sorted(it.module_env(local).items()):
        for v in vals:
            if isinstance(v, ClassRef) and v.module == local and v.node.name == key:
                pairs.append(ListV((Const(key), v)))
    return ListV(tuple(pairs))


def _record_hf_fetch(it, kind: str, args, kwargs, where: str) -> None:
    from .interp import Fetch

    repo = kwargs.get("repo_id") or (args[0] if args else (UNKNOWN,))
    if kind == "hf_hub_download":
        files = kwargs.get("filename") or (args[1] if len(args) > 1 else (UNKNOWN,))
    else:
        files = ()
    it.effects.fetches.append(
        Fetch(
            kind="repo",
            source=repo,
            name=files,
            subfolder=kwargs.get("subfolder", ()),
            dir=kwargs.get("local_dir", ()),
            allow=kwargs.get("allow_patterns", ()),
            where=where,
            repo_type=kwargs.get("repo_type", ()),
            site=it.site(),
        )
    )


def _record_url_fetch(it, kind: str, args, kwargs, where: str) -> None:
    from .interp import Fetch

    pos, dest_pos, keywords, is_dir = _URL_FETCHERS[kind]
    url = kwargs.get("url") or (args[pos] if len(args) > pos else (UNKNOWN,))
    dest = next((kwargs[k] for k in keywords if k in kwargs), None)
    if dest is None:
        dest = args[dest_pos] if len(args) > dest_pos else ()
    name = kwargs.get("file_name", ())
    if not is_dir:  # the destination is the file: its directory and name
        name = tuple(
            Const(posixpath.basename(d.rel)) if isinstance(d, PathV) else UNKNOWN for d in dest
        )
        dest = tuple(PathV(parent(d.rel)) if isinstance(d, PathV) else d for d in dest)
    it.effects.fetches.append(
        Fetch(
            kind="url",
            source=url,
            name=name,
            subfolder=(),
            dir=dest,
            allow=(),
            where=where,
            site=it.site(),
        )
    )


def _data_load(it, files, yaml: bool = False) -> tuple:
    """``json.load(open(<a file of the pack>))`` (``yaml.load``): the pack's own data file,
    as values."""
    import json

    out = []
    for f in files:
        text = it.pack.data(f.rel) if isinstance(f, DataFile) else None
        try:
            if text is None:
                out.append(UNKNOWN)
            else:
                out.append(from_yaml(text) if yaml else from_json(json.loads(text)))
        except ValueError:
            out.append(UNKNOWN)
    return merge(tuple(out))


def call_stdlib(it, name: str, args, kwargs) -> tuple:  # noqa: C901
    last = _last(name)
    first = args[0] if args else (UNKNOWN,)
    if it.fresh_machine and last in _EXISTS and name.startswith(("os.path.", "os.")):
        return (Const(False),)  # what a node downloads is what a new machine lacks
    if name in ("os.getenv", "os.environ.get"):  # the user's override, else the default
        key = first[0].value if len(first) == 1 and isinstance(first[0], Const) else "?"
        return merge((EnvV(str(key)),), *args[1:2])
    if name == "open" or name in ("io.open", "codecs.open"):
        return tuple(DataFile(v.rel) if isinstance(v, PathV) else UNKNOWN for v in first)
    if name in ("shutil.move", "os.rename", "os.replace") and len(args) > 1:
        _moved(it, first, args[1])
        return args[1]
    if name in ("json.load", "json.loads"):
        return _data_load(it, first)
    if name in ("yaml.load", "yaml.safe_load", "yaml.full_load"):
        return _data_load(it, first, yaml=True)
    if name in ("urllib.parse.urlparse", "urlparse", "urllib.parse.urlsplit", "urlsplit"):
        return first  # a constant URL stands for its parse: ``.path`` reads its path
    if name in ("os.path.join", "posixpath.join") or (last == "join" and name.startswith("os")):
        _note_file_read(it, args)
        return _join_all(args)
    if name in ("Path", "pathlib.Path", "PurePath", "pathlib.PurePath"):
        _note_file_read(it, args)
        return _join_all(args) if args else (UNKNOWN,)
    if name.startswith("os.path.") and last == "dirname":
        return tuple(PathV(parent(v.rel)) if isinstance(v, PathV) else UNKNOWN for v in first)
    if name.startswith("os.path.") and last in _PATH_IDENTITY:
        return first
    if name.startswith("os.path.") and last == "basename":
        return tuple(_basename(v) for v in first)
    if name in ("os.listdir", "os.scandir", "glob.glob", "glob", "glob.iglob"):
        return tuple(_listing(v) for v in first)
    if name == "os.walk":  # one (root, dirs, files) step: files are the tree's names
        return tuple(ListV((ListV((v, UNKNOWN, _listing(v))),)) for v in first)
    if name.startswith("os.path.") and last == "relpath":
        return tuple(v if isinstance(v, FileName) else UNKNOWN for v in first)
    if name in _IDENTITY or name in _COPIES or name == "dict.fromkeys":
        return first  # NOTE: ``dict.fromkeys(names)``: the names, once each, in order
    if _is_progress(name, last):  # a progress bar yields its iterable's items
        return kwargs.get("iterable", first)
    if name == "range" and args:
        return _range(args)
    if name == "filter" and len(args) == 2:
        return args[1]
    if name in ("enumerate", "zip") and args:
        return _pairs(name, args)
    if name == "next":
        return merge(element_of(first), *args[1:])
    if name == "dict":
        if not args:
            return (DictV(tuple((Const(k), v) for k, v in kwargs.items())),)
        return tuple(_dict_of_pairs(v) for v in first)
    return (UNKNOWN,)


def _range(args) -> tuple:
    """``range(1, n + 1)`` of known numbers: its numbers, so a loop making one input per
    slot (``lora_{i}_name``) names each; unknown bounds or more than 400 numbers: unknown."""
    bounds = []
    for alts in args[:3]:
        ints = [v.value for v in alts if isinstance(v, Const) and type(v.value) is int]
        if len(ints) != 1 or len(alts) != 1:
            return (UNKNOWN,)
        bounds.append(ints[0])
    if bounds[2:] == [0]:
        return (UNKNOWN,)  # a step of 0 raises
    numbers = range(*bounds)
    if len(numbers) > 400:
        return (UNKNOWN,)
    return (ListV(tuple(Const(n) for n in numbers)),)


def _is_progress(name: str, last: str) -> bool:
    """``tqdm(items)`` (``tqdm.auto``, ``tqdm.notebook``, ...) and ``rich.progress.track``:
    progress bars a loop iterates instead of the items (a download loop's files)."""
    return (name.split(".", 1)[0] == "tqdm" and last == "tqdm") or name == "rich.progress.track"


def _moved(it, sources, targets) -> None:
    """``shutil.move(a, b)`` after a download into ``a`` (a temporary directory it fills
    first): what was downloaded lands in ``b``. A file moved out of the directory a download
    filled (``temp/x.safetensors`` to a name a value makes) leaves that download's place
    unread: "cannot tell", never the temporary directory."""
    effects = it.effects
    inside = {s.rel.rpartition("/")[0] for s in sources if isinstance(s, PathV)}
    effects.fetches[:] = [  # a file moved out of where it was fetched: its place is unread
        f._replace(dir=(UNKNOWN,))
        if any(isinstance(d, PathV) and d.rel in inside for d in f.dir)
        else f
        for f in effects.fetches
    ]
    moves = {
        s: t for s in sources for t in targets if isinstance(s, PathV) and isinstance(t, PathV)
    }
    if not moves or len(targets) != 1:
        return
    effects.fetches[:] = [
        f._replace(dir=tuple(moves.get(d, d) for d in f.dir)) for f in effects.fetches
    ]
    effects.downloads[:] = [
        (repo, tuple(moves.get(d, d) for d in local), cache, where)
        for repo, local, cache, where in effects.downloads
    ]


def _pairs(name: str, args) -> tuple:
    """``enumerate(list)``, ``zip(list, list)`` of lists the code spells out: the pairs (one
    list of them per alternative); anything else is unknown (a loop then takes one unknown
    element)."""
    if name == "enumerate":
        return tuple(
            ListV(tuple(ListV((Const(i), item)) for i, item in enumerate(v.items)))
            if isinstance(v, ListV)
            else UNKNOWN
            for v in args[0]
        )
    lists = [a[0] if len(a) == 1 and isinstance(a[0], ListV) else None for a in args]
    if any(v is None for v in lists) or len(lists) < 2:
        return (UNKNOWN,)
    return (ListV(tuple(ListV(items) for items in zip(*(v.items for v in lists)))),)


def _basename(v):
    if isinstance(v, FileName):
        return v
    if isinstance(v, Input):
        return Input(v.name, "repo_name")
    if isinstance(v, PathV):
        return Const(posixpath.basename(v.rel))
    if isinstance(v, Const) and isinstance(v.value, str):
        return Const(posixpath.basename(v.value.replace("\\", "/")))
    return UNKNOWN


def _dict_of_pairs(v):
    """``dict(x)``: a dict as it is, a list of ``(key, value)`` pairs as a dict."""
    if isinstance(v, DictV):
        return v
    if isinstance(v, ListV) and all(isinstance(p, ListV) and len(p.items) == 2 for p in v.items):
        return DictV(tuple((p.items[0], (p.items[1],)) for p in v.items))
    return UNKNOWN


def _note_file_read(it, args) -> None:
    """``join(dir, …, <input>)``: the input's value is a file name inside ``dir``."""
    if len(args) < 2:
        return
    for v in args[-1]:
        if isinstance(v, Input) and v.xform == "":
            it.effects.file_reads.append((v.name, _join_all(args[:-1])))


def _listing(v):
    if isinstance(v, PathV) and v.rel.startswith("{folder:") and v.rel.endswith("}"):
        key = v.rel[len("{folder:") : -1]
        if "{" not in key:
            return Files(frozenset({key}))  # one of a folder's directories, listed
    if isinstance(v, PathV):
        rel = v.rel
        if "*" in posixpath.basename(rel):
            rel = posixpath.dirname(rel)
        return DirFiles(rel) if "*" not in rel and "{" not in rel else Dyn("listing of " + rel)
    return Dyn("listing of an unreadable directory")


def _join_all(args) -> tuple:
    """``os.path.join`` of alternatives: every combination (a few), each a path, a listed
    file's name, or unknown."""
    if not args:
        return (UNKNOWN,)
    current: list = [b if isinstance(b, PathV | FileName | EnvV) else None for b in args[0]]
    for part in args[1:]:
        if len(current) * len(part) > 16:
            return (UNKNOWN,)
        current = [_join_one(c, p) for c in current for p in part]
    return merge(tuple(c or UNKNOWN for c in current))


def _join_one(cur, part):
    if isinstance(part, FileName):
        return part  # a listed file under its directory: still that listing's name
    if isinstance(cur, EnvV):
        return cur  # a path under a directory an environment variable overrides: the override
    if not isinstance(cur, PathV):
        return None
    return join_path(cur.rel, part)


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
    if fp == "filter_files_extensions" and args:
        return args[0]  # the listing's files of some extensions: still that folder's files
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
        return it.call_def(
            method, args if _unbound(method.node) else [(recv,), *args], kwargs, frame
        )
    if isinstance(recv, Const) and isinstance(recv.value, str) and name == "format":
        return (str_format(recv.value, args, kwargs),)
    if isinstance(recv, Const) and isinstance(recv.value, str):
        return (str_method(recv.value, name, args, kwargs),)
    if isinstance(recv, FileName) and name == "replace" and to_slashes(args):
        return (recv,)  # a listed name with Windows separators made "/": still that name
    if isinstance(recv, DataFile) and name == "read":
        return (UNKNOWN,)
    if isinstance(recv, Input) and name in ("split", "rsplit") and args:
        return (Input(recv.name, "split"),) if args[0] == (Const("/"),) else (UNKNOWN,)
    if isinstance(recv, Input) and recv.xform == "" and name == "items":
        return (ListV((ListV((UNKNOWN, recv)),)),)  # a dict input's (key, value) pairs
    if isinstance(recv, Input) and recv.xform == "" and name in ("get", "values"):
        return (recv,) if name == "get" else (ListV((recv,)),)
    if isinstance(recv, PathV):
        if it.fresh_machine and name in ("exists", "is_file", "is_dir"):
            return (Const(False),)
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


def _unbound(node) -> bool:
    """Whether a method is called with its arguments as given: a staticmethod, or a plain
    function in a class body whose first parameter is no ``self``/``cls`` (``INPUT.COMBO(v)``
    on an Enum of helpers)."""
    names = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
    if "staticmethod" in names:
        return True
    if "classmethod" in names:
        return False
    params = node.args.posonlyargs + node.args.args
    return not params or params[0].arg not in ("self", "cls", "s", "this", "klass")


def fnp_get(args) -> tuple:
    return merge(*(_fnp_entry(k) for k in args[0])) if args else (UNKNOWN,)
