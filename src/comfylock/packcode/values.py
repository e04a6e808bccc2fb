"""Abstract values for reading custom-node source code without running it.

The reader (``interp.py``) evaluates Python expressions to *sets of alternatives* of these
values. Only what matters for the node table is modelled: strings, paths relative to the
ComfyUI root, the file lists ``folder_paths`` hands out, a node's own inputs (for download
directories), containers, and references to classes and functions of the pack. Anything else
is ``UNKNOWN``; something that came from ``folder_paths`` or a directory listing but could not
be read statically is ``Dyn`` — the honest "dynamic" answer, never a guess.
"""

from __future__ import annotations

import posixpath
import re
from typing import NamedTuple

__all__ = [
    "ANY_INPUT",
    "FORWARDED",
    "is_word",
    "UNKNOWN",
    "Bound",
    "ClassRef",
    "Const",
    "DataFile",
    "DictV",
    "DirFiles",
    "Dyn",
    "EnvV",
    "FileName",
    "Files",
    "FolderDirs",
    "FuncRef",
    "Input",
    "ListV",
    "Mod",
    "PathV",
    "parent",
    "Schema",
    "V3Input",
    "file_name_list",
    "from_json",
    "from_yaml",
    "join_path",
    "path_of",
]


class Const(NamedTuple):
    """A Python constant (str, int, float, bool, None)."""

    value: object


class PathV(NamedTuple):
    """A path relative to the ComfyUI root ('' = the root). May hold placeholders:
    ``{folder:KEY}`` (first directory of a folder key), ``{repo_id}``, ``{repo_name}``."""

    rel: str


def parent(rel: str) -> str:
    """The directory holding ``rel``. A bare ``{folder:KEY}`` (a folder's first directory,
    ``models/checkpoints``) keeps its placeholder, ``{folder:KEY}/..``: its parent is not the
    ComfyUI root ('')."""
    bare = rel.startswith("{folder:") and rel.endswith("}") and "/" not in rel
    if bare or posixpath.basename(rel) == "..":  # the text's dirname of "a/.." is "a": down
        return rel + "/.."
    return posixpath.dirname(rel)


class Files(NamedTuple):
    """File names listed by ``folder_paths.get_filename_list`` for these keys; ``prefixes``:
    (key, prefix) pairs when the names of a key are listed as ``prefix + name``; ``words``:
    the node's own choices offered beside them (``["None", "Auto"] + names``)."""

    keys: frozenset
    prefixes: frozenset = frozenset()
    words: tuple = ()


class DirFiles(NamedTuple):
    """File names listed from one directory (``os.listdir``, ``glob``); ``words``: the
    node's own choices offered beside them."""

    rel: str
    words: tuple = ()


class FolderDirs(NamedTuple):
    """``folder_paths.get_folder_paths(key)``: the list of a folder's directories."""

    key: str


class Input(NamedTuple):
    """The value of a node input; ``xform`` '' = as given, 'repo_name' = its last '/' part."""

    name: str
    xform: str = ""


class ListV(NamedTuple):
    items: tuple


class DictV(NamedTuple):
    items: tuple  # ((key value, value), ...)


class Mod(NamedTuple):
    """A module or attribute path outside the pack (``folder_paths``, ``os.path.join``, …)."""

    name: str


class FuncRef(NamedTuple):
    module: str
    node: object  # ast.FunctionDef
    owner: object = None  # ClassRef for methods
    closure: tuple = ()  # (name, alternatives) bound where a nested function was defined


class ClassRef(NamedTuple):
    """A class of the pack. ``closure``: the names bound in the function that defined it (a
    wrapper factory's ``class Wrapped(cls)`` sees the ``cls`` it was called with)."""

    module: str
    node: object  # ast.ClassDef
    closure: tuple = ()


class Schema(NamedTuple):
    """A V3 ``io.Schema(node_id=..., inputs=[...])``."""

    node_id: object
    inputs: tuple


class V3Input(NamedTuple):
    name: object
    kind: str
    options: tuple  # alternatives of the options value


class Bound(NamedTuple):
    """A method looked up on a value (``x.split``, ``cls.get_models``)."""

    recv: object
    name: str


class FileName(NamedTuple):
    """One name of a listed directory, inside the loop or comprehension that lists it: of a
    folder's files (``key``), or of a plain directory's (``dir:<rel>``); ``prefix``: a string
    put before it (``"bbox/" + name``)."""

    key: str
    prefix: str = ""


class DataFile(NamedTuple):
    """A file of the pack opened for reading (``open(path)``): ``json.load`` of it reads the
    pack's own data file (a JSON list of labels and the repos they download)."""

    rel: str


class EnvV(NamedTuple):
    """A value the user may set in the environment (``os.environ["X"]``): an override of the
    default the code gives beside it, which is what a machine has unless told otherwise."""

    name: str


class Dyn(NamedTuple):
    """Came from folder_paths or a directory listing, but not statically readable."""

    reason: str


class _Unknown(NamedTuple):
    pass


UNKNOWN = _Unknown()
ANY_INPUT = "*"  # the name of any input a node takes through **kwargs
FORWARDED = "**inputs"  # a call's keyword: it passes on the node's own inputs (``**kwargs``)


def from_json(data, depth: int = 0):
    """A JSON document of the pack as values (containers, constants); deep or odd parts are
    unknown."""
    if depth > 8:
        return UNKNOWN
    if isinstance(data, dict):
        return DictV(
            tuple((Const(k), (from_json(v, depth + 1),)) for k, v in list(data.items())[:2000])
        )
    if isinstance(data, list):
        return ListV(tuple(from_json(v, depth + 1) for v in data[:2000]))
    if data is None or isinstance(data, str | int | float | bool):
        return Const(data)
    return UNKNOWN


def from_yaml(text: str):
    """A pack's YAML settings file as values: its top-level ``key: scalar`` lines (a download
    directory, a URL); nested blocks, lists and anything else YAML can say are unknown."""
    items = []
    for line in text.splitlines():
        if not line or line[0] in " \t#-" or ":" not in line:
            continue
        key, _, raw = line.partition(":")
        raw = raw.split(" #", 1)[0].strip()
        if not raw or raw[0] in "[{&*|>!":
            items.append((Const(key.strip()), (UNKNOWN,)))
            continue
        items.append((Const(key.strip()), (Const(_yaml_scalar(raw)),)))
    return DictV(tuple(items)) if items else UNKNOWN


def _yaml_scalar(raw: str):
    if len(raw) > 1 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def path_of(value) -> str | None:
    """The root-relative path a value names, or None."""
    if isinstance(value, PathV):
        return value.rel
    return None


def _clean(rel: str) -> str:
    norm = posixpath.normpath(rel.replace("\\", "/")) if rel else ""
    return "" if norm == "." else norm


def join_path(base: str, part) -> PathV | FileName | None:
    """``os.path.join(base, part)`` for a path and a string/input/path part (a listed file's
    name joined to its directory stays that name)."""
    if isinstance(part, FileName):
        return part
    if isinstance(part, Const) and isinstance(part.value, str):
        piece = part.value
    elif isinstance(part, Input):
        piece = "{repo_name}" if part.xform == "repo_name" else "{repo_id}"
    elif isinstance(part, PathV):
        return part  # joining an absolute path discards the base; a root-relative one wins too
    else:
        return None
    if piece.startswith("/"):
        return None  # an absolute path outside the ComfyUI root
    return PathV(_clean(posixpath.join(base, piece) if base else piece))


_FILE_EXTS = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx")


def file_name_list(v) -> bool:
    """A literal list of strings, some of them model file names (a fixed file choice)."""
    if not isinstance(v, ListV) or not v.items:
        return False
    if not all(isinstance(i, Const) and isinstance(i.value, str) for i in v.items):
        return False
    return any(i.value.lower().endswith(_FILE_EXTS) for i in v.items)


# a stem, then an extension with a letter in it: "x.pth", not ".none" or "SD1.5"
_EXTENSION = re.compile(r"[^./\\]\.(?=[A-Za-z0-9_-]{0,15}[A-Za-z])[A-Za-z0-9_-]{1,16}$")


def is_word(text: str) -> bool:
    """Whether a choice a node offers beside a folder's files is its own word (``"None"``,
    ``"Auto"``, ``".none"``, ``"SD1.5"``), not a file name (``"ultrapixel_t2i.safetensors"``:
    a default file of that folder is a model). Anything with an extension counts as a file."""
    return bool(text.strip()) and not _EXTENSION.search(text.strip())
