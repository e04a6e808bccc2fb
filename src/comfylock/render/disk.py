"""``comfylock du``: the disk use of the store, the models tree and the locks, in words. Pure."""

from __future__ import annotations

from ..basics.units import count, human_size
from .text import lines_text, table

__all__ = ["disk_text"]


def _store(use) -> list[str]:
    s = use.store
    rows = [["blobs", count(s.blobs, "blob"), human_size(s.bytes)]]
    if s.partial:
        rows.append(["partial downloads", "", human_size(s.partial)])
    if s.displaced:
        rows.append(
            ["displaced by --force", count(s.displaced_files, "file"), human_size(s.displaced)]
        )
    return [f"store  {s.path}", *table(rows)]


def _models(use) -> list[str]:
    if use.models_dir is None:
        return ["models: no --comfyui-root or --models-dir given"]
    if not use.folders:
        return [f"models  {use.models_dir}", "  no model files"]
    rows = [["folder", "files", "size", "own files"]]
    rows += [[f.folder, str(f.files), human_size(f.bytes), human_size(f.own)] for f in use.folders]
    total = [sum(f.bytes for f in use.folders), sum(f.own for f in use.folders)]
    rows.append(["total", str(sum(f.files for f in use.folders)), *map(human_size, total)])
    note = "(own files: bytes not linked into the store, which is counted above)"
    return [f"models  {use.models_dir}", *table(rows), note]


def _locks(use) -> list[str]:
    if not use.locks:
        return ["locks: none has synced into this store"]
    rows = []
    for u in use.locks:
        if u.problem:
            rows.append([u.path, "", f"cannot be read: {u.problem}"])
        else:
            alone = f"{human_size(u.only)} only it uses"
            rows.append([u.path, count(u.blobs, "blob"), f"{human_size(u.bytes)} ({alone})"])
    return ["locks using this store", *table(rows)]


def _unused_summary(use) -> list[str]:
    lines = []
    if use.unused is None:
        lines.append("unused blobs: unknown (a registered lock cannot be read; gc would stop too)")
    else:
        n = len(use.unused.delete)
        lines.append(
            f"unused: {count(n, 'blob')} no lock uses ({human_size(use.unused.freed)}; "
            "`comfylock gc` frees them)"
        )
    if use.models_dir is not None:
        size = sum(u.size for u in use.unnamed)
        lines.append(
            f"unnamed: {count(len(use.unnamed), 'model file')} no workflow or lock names "
            f"({human_size(size)})"
        )
    return lines


def _listed(use) -> list[str]:
    lines = []
    if use.unused is not None:
        lines.append(
            f"blobs no lock uses (what `gc` deletes): {count(len(use.unused.delete), 'blob')}, "
            f"{human_size(use.unused.freed)}"
        )
        lines += table([[i.sha256, human_size(i.size)] for i in use.unused.delete])
        for path in use.unused.linked:
            lines.append(f"  kept by a link the locks no longer name: {path}")
    if use.models_dir is not None:
        size = sum(u.size for u in use.unnamed)
        lines.append(
            f"model files no workflow or lock names: {count(len(use.unnamed), 'file')}, "
            f"{human_size(size)} (gc never deletes these)"
        )
        lines += table([[u.path, human_size(u.size)] for u in use.unnamed])
    return lines


def disk_text(use, *, listed: bool = False) -> str:
    lines = [*_store(use), "", *_models(use), "", *_locks(use), ""]
    if listed:
        lines += _listed(use)
    else:
        lines += _unused_summary(use)
        if use.unnamed or (use.unused is not None and use.unused.delete):
            lines.append("(`comfylock du --unused` lists them)")
    return lines_text(lines) + "\n"
