"""What a listing a node's ``INPUT_TYPES`` offers stands for: a folder's files, a directory's
(the pack's own model directory, ComfyUI's ``input/``, ``models/<dir>``), the pack's own data
(settings files it ships), or names static reading cannot place."""

from __future__ import annotations

from .source import DATA_SUFFIXES, SourcePack
from .values import Const, DirFiles, Dyn, FileName, Files, ListV, is_word

__all__ = ["INPUT_FOLDER", "dir_key", "input_dir", "listed", "model_dir"]


def listed(v):
    """A list built from a listing's names (``[f for f in files]``, ``sorted(d.keys())``) is
    that listing; words put beside them (``names.insert(0, "none")``) are the node's own."""
    if not (isinstance(v, ListV) and any(isinstance(i, FileName) for i in v.items)):
        return v
    consts = [i.value for i in v.items if isinstance(i, Const) and isinstance(i.value, str)]
    names = [i for i in v.items if isinstance(i, FileName)]
    if len(names) + len(consts) != len(v.items):
        return v
    words = tuple(w for w in consts if is_word(w))  # a default file name stays a file
    keys = {i.key for i in names}  # ``models/<key>`` as a fallback for a folder's dirs: it
    items = [i for i in names if not (i.key[:11] == "dir:models/" and i.key[11:] in keys)]
    v = ListV(tuple(items))
    if all(i.key.startswith("dir:") for i in v.items):
        rels = {i.key[4:] for i in v.items}
        if len(rels) == 1:
            return DirFiles(rels.pop(), words)
        return Dyn("names of several directories")
    if any(i.key.startswith("dir:") for i in v.items):
        return Dyn("names of a folder and a directory")
    prefixes = frozenset((i.key, i.prefix) for i in v.items if i.prefix)
    return Files(frozenset(i.key for i in v.items), prefixes, words)


# Words in a pack's own sub-directory that say it holds model weights (not fonts, styles, LUTs).
_MODEL_WORDS = ("model", "checkpoint", "ckpt", "weight", "lora", "pretrained", "unet", "vae")


def model_dir(rel: str, pack: SourcePack) -> bool:
    """A directory listing is a model input when it lists ``models/…`` or a model-named
    directory of the pack's own; input/output/temp listings and pack data are not. A pack's
    directory holding data files the pack ships itself (``configs/lora/*.json``: settings
    templates) is its data, whatever its name says."""
    if rel == "models" or rel.startswith("models/"):
        return True
    own = f"custom_nodes/{pack.dirname}/"
    if not rel.startswith(own):
        return False
    sub = rel[len(own) :]
    if any(p.rpartition("/")[0] == sub and p.endswith(DATA_SUFFIXES) for p in pack.files):
        return False
    return any(w in part.lower() for part in sub.split("/") for w in _MODEL_WORDS)


INPUT_FOLDER = "input"  # ComfyUI's input/ folder, beside models/ (not in it)


def input_dir(rel: str) -> bool:
    return rel == INPUT_FOLDER or rel.startswith(INPUT_FOLDER + "/")


def dir_key(rel: str, folders: dict) -> str:
    for key, dirs in folders.items():
        if rel in dirs:
            return key
    key = rel[len("models/") :] if rel.startswith("models/") else rel
    folders.setdefault(key, [])
    if rel not in folders[key]:
        folders[key].append(rel)
    return key
