"""Read one pack: its node classes, the folder each model input lists, the folders it
registers, and where its download-and-load nodes put the Hugging Face repos they fetch."""

from __future__ import annotations

import ast
import json
import posixpath

from . import CoreFacts
from .expressions import class_attr, find_method, index
from .fetches import as_given, chosen_beyond_reading, fixed_fetches, value_fetches
from .frontend import frontend_classes
from .interp import ANY_INPUT, Interp, _Stop, class_frame
from .listings import INPUT_FOLDER, dir_key, input_dir, listed, model_dir
from .nodecalls import construct, core_input_types
from .source import SourcePack
from .values import (
    ClassRef,
    Const,
    DictV,
    DirFiles,
    Dyn,
    Files,
    Input,
    ListV,
    Mod,
    PathV,
    Schema,
    V3Input,
    file_name_list,
)
from .widgetorder import input_layout, widget_order

__all__ = ["pack_facts"]

_MAPPING_NAMES = ("NODE_CLASS_MAPPINGS",)
_FOLDERISH = ("folder_paths", "listdir", "get_filename_list", "glob")


def pack_facts(
    pack: SourcePack, core: CoreFacts, *, layouts: bool = False, input_files: bool = False
) -> dict:
    """``{"classes": {class: facts}, "folders": {key: [dir, ...]}, "notes": [...]}`` of one
    pack, read with ComfyUI's own ``core`` facts. ``layouts``: also give each class's inputs
    in order with their kinds (``layout``: [[name, kind], ...]), as ComfyUI's own loaders are
    recorded for the packs that copy them.

    ``input_files``: also record inputs that list ComfyUI's ``input/`` folder (or a folder
    below it) as reading folder ``input`` (``LoadImage.image``). Such a value is resolved by
    ``folder_paths.get_annotated_filepath``, so it names a file relative to ``input/``
    whichever sub-folder the node lists (``Load3D``: ``3d/x.glb``). Off for the custom-node
    table until it is read again with it on (a different reading needs a new
    ``SCANNER_VERSION``); ``tools/gen_tables.py`` turns it on for ComfyUI's own nodes."""
    it = Interp(pack)
    it.core_inputs, it.core_classes = core.inputs, core.classes
    it.input_files = input_files
    scanner = _Scanner(it, pack, core.folders, core.aliases)
    scanner.layouts = layouts
    for module in pack.modules_mentioning(
        "NODE_CLASS_MAPPINGS", "define_schema", "add_model_folder_path", "folder_names_and_paths"
    ):
        _task(it, module, it.module_env, module)
    scanner.walk_decorated()
    classes = scanner.classes()
    folders = scanner.folders()
    out_classes = {}
    for name, refs in sorted(classes.items()):
        got = _task(it, name, scanner.read_class, refs, folders)
        out_classes[name] = got if got is not None else {"dynamic": ["*"]}
    for name in frontend_classes(pack.files):  # browser-only nodes: the pack's, no model
        out_classes.setdefault(name, {})
    notes = sorted(set(it.effects.notes)) + [f"{p}: not Python 3" for p in pack.unparsable]
    return {"classes": out_classes, "folders": folders, "notes": notes}


def _task(it: Interp, what: str, fn, *args):
    """Run one unit of reading with a fresh step budget; None when it ran out."""
    it.steps = 0
    try:
        return fn(*args)
    except (_Stop, RecursionError):
        it.effects.notes.append(f"{what}: too much to read")
        return None


class _Scanner:
    def __init__(self, it: Interp, pack: SourcePack, core, aliases):
        self.it, self.pack, self.core, self.aliases = it, pack, core, aliases
        self.decorators: set[str] = set()

    # ---- which classes ---------------------------------------------------------------------
    def registering_decorators(self) -> set[str]:
        """Functions of modules that fill NODE_CLASS_MAPPINGS: decorators that register."""
        names = set()
        for module in self.pack.modules_mentioning("NODE_CLASS_MAPPINGS"):
            tree = self.pack.tree(module)
            for node in tree.body if tree else ():
                if isinstance(node, ast.FunctionDef):
                    names.add(node.name)
        return names

    def walk_decorated(self) -> None:
        """Walk the modules whose classes a registering decorator marks (``@comfy_node(...)``)."""
        self.decorators = self.registering_decorators()
        for name in sorted(self.decorators):
            for module in self.pack.modules_mentioning("@" + name):
                _task(self.it, module, self.it.module_env, module)

    def _take_decorated(self, cls: ClassRef, found: dict) -> None:
        for deco in cls.node.decorator_list:
            if not (isinstance(deco, ast.Call) and _callee_name(deco.func) in self.decorators):
                continue
            named = [kw.value for kw in deco.keywords if kw.arg in ("name", "node_id")]
            named += deco.args[:1] if not named else []
            for expr in named:
                for v in self.it.ev(expr, class_frame(cls)):
                    if isinstance(v, Const) and isinstance(v.value, str):
                        slot = found.setdefault(v.value, [])
                        if cls not in slot:
                            slot.append(cls)

    def classes(self) -> dict[str, list]:
        found: dict[str, list] = {}
        for module in sorted(self.pack.modules):
            env = self.it._module_env.get(module)
            if env is None:
                continue
            for mapping in _MAPPING_NAMES:
                for d in env.get(mapping, ()):
                    if isinstance(d, DictV):
                        self._take_mapping(d, module, found)
            for vals in list(env.values()):
                for v in vals:
                    if isinstance(v, ClassRef) and v.module == module:
                        _task(self.it, v.node.name, self._take_v3, v, found)
                        _task(self.it, v.node.name, self._take_decorated, v, found)
        return self._as_registered(found)

    def _as_registered(self, found: dict[str, list]) -> dict[str, list]:
        """A class several modules define (copies kept in a backup folder, old versions) is
        the one in the modules ComfyUI's import of the pack reaches, when any is: reading
        every copy is slower and reads as a class nobody can tell."""
        reached = self.pack.imported_from_root()
        if reached is None:
            return found
        for name, refs in found.items():
            mine = [r for r in refs if r is not None and r.module in reached]
            if len(refs) > 1 and mine and len(mine) < len(refs):
                found[name] = mine
        return found

    def _take_mapping(self, d: DictV, module: str, found: dict) -> None:
        for key, vals in d.items:
            if not (isinstance(key, Const) and isinstance(key.value, str)):
                self.it.effects.notes.append(
                    f"{self.pack.path_of(module)}: a mapping key is dynamic"
                )
                continue
            refs = [v for v in vals if isinstance(v, ClassRef)]
            slot = found.setdefault(key.value, [])
            slot.extend(r for r in refs if r not in slot)
            if not refs and None not in slot:
                slot.append(None)  # the class object itself is not statically readable

    def _take_v3(self, cls: ClassRef, found: dict) -> None:
        method = find_method(self.it, cls, "define_schema")
        if method is None or method.owner != cls:
            return
        frame = self._run(method, inputs=False)
        for ret in frame.returns if frame else ():
            for s in ret:
                if isinstance(s, Schema) and isinstance(s.node_id, Const):
                    slot = found.setdefault(str(s.node_id.value), [])
                    if cls not in slot:
                        slot.append(cls)

    def _run(self, method, inputs: bool):
        try:
            return self.it.run_method(method, inputs)
        except _Stop:
            return None

    # ---- folders the pack registers --------------------------------------------------------
    def folders(self) -> dict[str, list[str]]:
        regs: dict[str, list[str]] = {}
        for keys, paths, _where in self.it.effects.registrations:
            for k in keys:
                if not (isinstance(k, Const) and isinstance(k.value, str)):
                    self.it.effects.notes.append(f"{_where}: folder registration is dynamic")
                    continue
                key = self.aliases.get(k.value, k.value)
                for p in paths:
                    for rel in self._dirs(p, regs):
                        slot = regs.setdefault(key, [])
                        if rel not in slot:
                            slot.append(rel)
        return regs

    def _dirs(self, p, regs) -> list[str]:
        if isinstance(p, ListV):
            return [d for item in p.items for d in self._dirs(item, regs)]
        if hasattr(p, "key") and type(p).__name__ == "FolderDirs":
            return self._folder_dirs(p.key, regs)
        if isinstance(p, PathV):
            rel = p.rel
            if rel.startswith("{folder:"):
                key, _, rest = rel[len("{folder:") :].partition("}")
                base = self._folder_dirs(key, regs)[:1]
                rels = [posixpath.normpath(f"{b}{rest}") for b in base]
                return [r for r in rels if _a_dir_below_the_root(r)]
            if "{" in rel or not _a_dir_below_the_root(rel):
                return []
            return [rel]
        return []

    def _folder_dirs(self, key: str, regs) -> list[str]:
        key = self.aliases.get(key, key)
        if key in self.core:
            return [f"models/{d}" for d in self.core[key]]
        return list(regs.get(key, ()))

    # ---- one class ---------------------------------------------------------------------------
    def read_class(self, refs: list, folders: dict) -> dict:
        inputs: dict = {}  # input name -> folder keys, in INPUT_TYPES order
        downloads: dict = {}
        pretrained: dict = {}  # input -> the cache dirs ``from_pretrained`` loads it into
        fetches: dict = {}
        always: list = []  # what the node downloads whatever its values
        dynamic: set = set()
        widgets: tuple | None | bool = None  # (order, kinds)
        self.folders_now = folders
        self.words: dict[str, list[str]] = {}  # input -> the node's own choices beside files
        self.handed: dict[str, set] = {}  # input -> {(another pack's class, its input)}
        for cls in refs:
            if cls is None:
                dynamic.add("*")
                continue
            self.options = {}
            got = self._read_inputs(cls, folders, inputs, dynamic)
            widgets = got if widgets is None or widgets == got else False
            reads, methods, fetched = self._read_downloads(cls, folders, downloads, pretrained)
            self._fixed_files(inputs, reads, folders, dynamic)
            self._any_input(inputs, reads, folders)
            if fetched:
                for name, by_value in value_fetches(self, cls, methods, self.options).items():
                    fetches.setdefault(name, {}).update(by_value)
                told = (fetches, inputs, downloads, pretrained)  # what is already said
                unread = {k: v for k, v in self.options.items() if not any(k in d for d in told)}
                given = as_given(self, methods)
                for name, by_value in chosen_beyond_reading(self, methods, unread, given).items():
                    fetches.setdefault(name, {}).update(by_value)
                for target in fixed_fetches(self, methods, self.options, fetches, given):
                    if target not in always:
                        always.append(target)
        entry: dict = {}
        # an input one reading of the code cannot follow (a folder key an environment variable
        # may change) is "cannot tell", whatever another reading gives
        inputs = {
            k: self._same_place(v, folders)
            for k, v in inputs.items()
            if v and (k == ANY_INPUT or k not in dynamic)
        }
        for name, dirs in pretrained.items():  # a value no folder lists: a repo id to load
            if name not in inputs and name not in downloads and name not in fetches:
                downloads[name] = dirs
        if inputs:
            entry["inputs"] = {k: _one(v) for k, v in inputs.items()}  # INPUT_TYPES order
            words = {k: list(dict.fromkeys(v)) for k, v in self.words.items() if k in inputs}
            if words:
                entry["fileless"] = words
        if downloads:
            entry["downloads"] = {k: _one(v) for k, v in sorted(downloads.items())}
        if fetches:
            entry["fetches"] = {k: dict(sorted(v.items())) for k, v in sorted(fetches.items())}
        if always:
            entry["always"] = always
        handed = {  # one other node, for a choice or text this class's own code does not place
            k: list(next(iter(v)))
            for k, v in sorted(self.handed.items())
            if len(v) == 1
            and not any(k in d for d in (inputs, downloads, fetches))
            and k not in dynamic
            and _may_name_a_file(k, widgets)
        }
        if handed:
            entry["delegates"] = handed
        if dynamic:
            entry["dynamic"] = sorted(dynamic)
        if entry and widgets and widgets[0]:
            entry["widgets"] = widgets[0]
            if set(widgets[1]) & set("ifbs"):  # kinds a node of another version may not fit
                entry["widget-kinds"] = widgets[1]
        if self.layouts and getattr(self, "last_layout", None):
            entry["layout"] = self.last_layout
        return entry

    def _read_inputs(self, cls: ClassRef, folders, inputs: dict, dynamic: set):
        """Fill ``inputs``/``dynamic``; return the UI widget order (False: not readable)."""
        it = self.it
        method = find_method(it, cls, "INPUT_TYPES") or find_method(it, cls, "define_schema")
        if method is not None:
            frame = self._run(method, inputs=False)
            returns = frame.returns if frame else []
        else:  # a core loader subclassed as it is: its inputs are the core class's
            returns = [(core_input_types(spec),) for spec in self._core_bases(cls)]
            if not returns:
                return False
        layouts: list = []  # per alternative INPUT_TYPES returns: [(name, its type value)]
        optional: set = set()
        for ret in returns:
            for d in ret:
                specs: list = []
                if isinstance(d, DictV):
                    for section in ("required", "optional"):
                        for sec in index(d, Const(section)):
                            got = self._section(sec, dynamic)
                            specs.extend(got)
                            if section == "optional":
                                optional.update(n for n, _ in got)
                elif isinstance(d, Schema):
                    for inp in d.inputs:
                        if isinstance(inp, V3Input) and isinstance(inp.name, Const):
                            specs.append((str(inp.name.value), inp))
                else:
                    continue
                layouts.append(specs)
        if not layouts and method is not None and _mentions(method.node, _FOLDERISH):
            dynamic.add("*")
        for specs in layouts:
            for name, vals in specs:
                if vals is None:
                    continue
                alts = vals.options if isinstance(vals, V3Input) else vals
                for first in _firsts(alts):
                    self._take_input(name, first, folders, inputs, dynamic)
        kinds = {json.dumps(input_layout(specs, optional)) for specs in layouts}
        self.last_layout = json.loads(kinds.pop()) if len(kinds) == 1 else None
        orders = {json.dumps(widget_order(specs)) for specs in layouts}
        return tuple(json.loads(orders.pop())) if len(orders) == 1 else False

    def _core_bases(self, cls: ClassRef) -> list:
        found = []
        for base in cls.node.bases:
            for b in self.it.ev(base, class_frame(cls)):
                name = b.name.rsplit(".", 1)[-1] if isinstance(b, Mod) else None
                if name in self.it.core_inputs:
                    found.append(self.it.core_inputs[name])
        return found

    def _section(self, sec, dynamic: set) -> list:
        if isinstance(sec, DictV):
            out = []
            for k, vals in sec.items:
                if isinstance(k, Const) and isinstance(k.value, str):
                    out.append((k.value, vals))
                elif any(isinstance(v, Files | DirFiles | Dyn) for v in _firsts(vals)):
                    dynamic.add("*")
                else:
                    out.append(("", None))  # inputs we cannot name: a gap in the order
            return out
        if isinstance(sec, Dyn):
            dynamic.add("*")
        return []

    def _same_place(self, keys: set, folders) -> set:
        """Several folder keys whose directories are the same (GGUF's ``clip_gguf``, registered
        at the text encoders' directories) are one place: the core folder's key."""
        if len(keys) < 2:
            return keys
        places = {tuple(sorted(self._folder_dirs(k, folders))) for k in keys}
        if len(places) != 1 or not next(iter(places)):
            return keys
        core = sorted(k for k in keys if k in self.core)
        return {core[0] if core else sorted(keys)[0]}

    def _take_input(self, name, first, folders, inputs: dict, dynamic: set) -> None:
        first = listed(first)
        if isinstance(first, ListV) and first.items:
            labels = [i.value for i in first.items if isinstance(i, Const)]
            if len(labels) == len(first.items) and all(isinstance(v, str) for v in labels):
                self.options[name] = labels  # a fixed list: what the node does per value
        if isinstance(first, Files) and first.prefixes:
            key = self._prefixed_key(first, folders)
            if key is None:
                dynamic.add(name)
            else:
                inputs.setdefault(name, set()).add(key)
        elif isinstance(first, Files):
            keys = {self.aliases.get(k, k) for k in first.keys}
            inputs.setdefault(name, set()).update(keys)
            if first.words:
                self.words.setdefault(name, []).extend(first.words)
        elif file_name_list(first):
            inputs.setdefault(name, set()).add(_FIXED)  # the loader says where: _fixed_files
        elif isinstance(first, DirFiles) and self.it.input_files and input_dir(first.rel):
            inputs.setdefault(name, set()).add(INPUT_FOLDER)
        elif isinstance(first, DirFiles) and model_dir(first.rel, self.pack):
            key = dir_key(first.rel, folders)
            inputs.setdefault(name, set()).add(key)
            if first.words:
                self.words.setdefault(name, []).extend(first.words)
        elif isinstance(first, Dyn):
            dynamic.add(name)

    def _prefixed_key(self, files: Files, folders) -> str | None:
        """``prefix + name`` for the names of folder K: a path relative to the folder whose
        directory holds K's directory at ``prefix``; None when no one folder does."""
        prefix = dict(files.prefixes)
        found = set()
        for k in files.keys:
            dirs = self._folder_dirs(k, folders)
            sub = prefix.get(k, "").strip("/")
            if len(dirs) != 1 or not sub or not dirs[0].endswith("/" + sub):
                return None
            found.add(self._key_of_dir(dirs[0][: -len(sub) - 1], folders))
        return found.pop() if len(found) == 1 and None not in found else None

    def _key_of_dir(self, rel: str, folders) -> str | None:
        """The folder key of a directory relative to the ComfyUI root: a core folder's, a
        pack-registered one's, else a model directory of its own (recorded); None otherwise."""
        for key, dirs in self.core.items():
            if rel in (f"models/{d}" for d in dirs):
                return key
        for key, dirs in folders.items():
            if rel in dirs:
                return key
        return dir_key(rel, folders) if model_dir(rel, self.pack) else None

    def _fixed_files(self, inputs: dict, reads: list, folders, dynamic: set) -> None:
        """A fixed list of file names: the folder of the directory the loader joins the
        value to (or ``get_full_path``'s key); anything unreadable is cannot tell.

        A fixed list that is another alternative of a listing (``models = [default]``, the
        directory's names appended when it is there) is that listing's folder: the default
        is a file of the directory not listed yet, and no loader read is needed to place it."""
        for name, keys in inputs.items():
            if _FIXED not in keys:
                continue
            keys.discard(_FIXED)
            got = {self._readdir_key(d, folders) for n, dirs in reads if n == name for d in dirs}
            if got and None not in got:
                keys.update(got)
            elif got or (not keys and len(self.handed.get(name, ())) != 1):
                dynamic.add(name)  # (a value handed to another node is that node's to place)

    def _any_input(self, inputs: dict, reads: list, folders) -> None:
        """Inputs the node takes through ``**kwargs`` (a LoRA stack's ``lora_1.lora``) whose
        value its code reads as a file of one folder: ``"*"``, any input INPUT_TYPES does not
        declare, reads that folder."""
        keys = {self._readdir_key(d, folders) for n, dirs in reads if n == ANY_INPUT for d in dirs}
        if keys and None not in keys:
            inputs.setdefault(ANY_INPUT, set()).update(keys)

    def _readdir_key(self, d, folders) -> str | None:
        if not isinstance(d, PathV):
            return None
        if d.rel.startswith("{folder:") and d.rel.endswith("}") and d.rel.count("{") == 1:
            key = d.rel[len("{folder:") : -1]
            return self.aliases.get(key, key)
        return None if "{" in d.rel else self._key_of_dir(d.rel, folders)

    def resolve_dir(self, p: PathV) -> str | None:
        """The one directory (relative to the ComfyUI root) a path names, or None."""
        dirs = set(self._dirs(p, self.folders_now))
        return dirs.pop() if len(dirs) == 1 else None

    def _read_downloads(self, cls: ClassRef, folders, downloads: dict, pretrained: dict):
        """Fill ``downloads`` (and ``pretrained``: inputs whose value ``from_pretrained``
        loads as given); return the file reads of the node's function, its methods and
        whether it downloads anything (then ``fetches`` reads it value by value)."""
        it = self.it
        reads: list = []
        methods: list = []
        fetched = False
        fn = class_attr(it, cls, "FUNCTION")
        names = [v.value for v in fn if isinstance(v, Const) and isinstance(v.value, str)]
        if find_method(it, cls, "execute") is not None:
            names.append("execute")
        construct(it, cls, class_frame(cls))  # ComfyUI makes the node, then calls it
        for fname in names:
            method = find_method(it, cls, fname)
            if method is None:
                continue
            methods.append(method)
            start, first_read = len(it.effects.downloads), len(it.effects.file_reads)
            first_load, first_handed = len(it.effects.pretrained), len(it.effects.delegations)
            first_fetch = len(it.effects.fetches)
            self._run(method, inputs=True)
            fetched = fetched or len(it.effects.fetches) > first_fetch
            del it.effects.fetches[first_fetch:]
            reads.extend(it.effects.file_reads[first_read:])
            del it.effects.file_reads[first_read:]
            for repo, local, cache, _where in it.effects.downloads[start:]:
                for r in repo:
                    if not (isinstance(r, Input) and r.xform == ""):
                        continue
                    for d in self._download_dirs(local, cache, folders):
                        downloads.setdefault(r.name, set()).add(d)
            del it.effects.downloads[start:]
            for repo, cache in it.effects.pretrained[first_load:]:
                for r in repo:
                    if isinstance(r, Input) and r.xform == "":
                        dirs = self._download_dirs((), cache, folders)
                        pretrained.setdefault(r.name, set()).update(dirs)
            del it.effects.pretrained[first_load:]
            for name, target, their in it.effects.delegations[first_handed:]:
                self.handed.setdefault(name, set()).add((target, their))
            del it.effects.delegations[first_handed:]
        return reads, methods, fetched

    def _download_dirs(self, local, cache, folders) -> list[str]:
        if local:
            out = []
            for p in local:
                dirs = self._dirs(p, folders) if isinstance(p, PathV) else []
                if isinstance(p, PathV) and "{repo_" in p.rel and not p.rel.startswith("{folder"):
                    dirs = [p.rel]
                elif isinstance(p, PathV) and p.rel.startswith("{folder:") and "{repo_" in p.rel:
                    key, _, rest = p.rel[len("{folder:") :].partition("}")
                    dirs = [
                        posixpath.normpath(b + rest) for b in self._folder_dirs(key, folders)[:1]
                    ]
                out.extend(dirs or ["{dynamic}"])
            return out
        if cache:
            return [
                f"hf-cache:{d}" for p in cache for d in (self._dirs(p, folders) or ["{dynamic}"])
            ]
        return ["hf-cache"]


def _may_name_a_file(name: str, widgets) -> bool:
    """Whether a widget input may hold a file name or repo id: a choice or text, or a
    widget whose kind is not known; never a number, a switch or a linked input."""
    if not (widgets and widgets[0]) or name not in widgets[0]:
        return False
    kinds = widgets[1] if len(widgets) > 1 else ""
    position = widgets[0].index(name)
    return position >= len(kinds) or kinds[position] in "cs?"


def _callee_name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _firsts(vals):
    for v in vals:
        yield v.items[0] if isinstance(v, ListV) and v.items else v


_FIXED = "{fixed}"  # placeholder: a fixed file list whose folder the loader's code says


def _mentions(node, needles) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name | ast.Attribute):
            name = sub.id if isinstance(sub, ast.Name) else sub.attr
            if name in needles:
                return True
    return False


def _one(values: set):
    """One answer as a string, several as a sorted list (the reader must not pick one)."""
    ordered = sorted(values)
    return ordered[0] if len(ordered) == 1 else ordered


def _a_dir_below_the_root(rel: str) -> bool:
    """A registered directory a model can live in: under the ComfyUI root, not the root
    itself ('' or '.'), nowhere above or beside it."""
    return rel not in ("", ".") and not rel.startswith(("..", "/"))
