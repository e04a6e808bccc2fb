"""What model files this machine has: every file of every ComfyUI folder, with its digests.

``scan`` shows it, and resolution looks local files up in it by (folder, name), base name
or sha256. The walk follows directory symlinks as ComfyUI does, but never loops: each root
remembers the (st_dev, st_ino) of every directory it entered. Digests come from the
``HashCache`` when a file is unchanged, so a rescan of an unchanged tree only stats.

Classification: every directory that ``ModelPaths`` lists for a folder is a root; a file
belongs to the deepest root that contains it (a root met inside another root is skipped
there and walked on its own). Files under the models directory but outside every known
folder's directories get the first path component as their folder (custom nodes' folders,
e.g. ``sams/``, ``ultralytics/``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..store.hashing import Digest
from ..workflows.tables import model_extensions
from .hashcache import HashCache, recall_or_hash
from .modelpaths import ModelPaths

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["Inventory", "LocalFile", "ScanProgress", "locate_models", "scan_models", "scan_tree"]

# progress(bytes_hashed_so_far, bytes_to_hash_in_total)
ScanProgress = Callable[[int, int], Any]
_DirKey = tuple[int, int]


class LocalFile(msgspec.Struct, frozen=True):
    """One model file on disk; digests are None in stat-only mode unless cached."""

    folder: str
    name: str
    path: str
    size: int
    sha256: str | None = None
    blake3: str | None = None


class Inventory(msgspec.Struct, frozen=True, dict=True):
    """The model files of a tree, sorted by (folder, name, search order of their dir).

    ``problems`` lists what could not be read (path: reason); a scan never stops for them.
    """

    files: tuple[LocalFile, ...]
    models_dir: str | None = None
    hashed: int = 0
    cached: int = 0
    problems: tuple[str, ...] = ()

    def find(self, folder: str, name: str) -> LocalFile | None:
        """The file ComfyUI would load for (folder, name): the first in search order."""
        from ..workflows.tables import canonical_folder

        return self._by_key.get((canonical_folder(folder), name.replace("\\", "/")))

    def by_name(self, basename: str) -> tuple[LocalFile, ...]:
        """Files with this base name in any folder (for references whose folder moved)."""
        return self._by_base.get(basename, ())

    def by_sha256(self, sha256: str) -> tuple[LocalFile, ...]:
        """Files with these bytes (hashed or cached files only)."""
        return self._by_sha.get(sha256.lower(), ())

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    # NOTE: cached_property writes to the instance __dict__ (dict=True), bypassing the frozen
    # __setattr__, so the indexes are built once, on first lookup.
    @cached_property
    def _by_key(self) -> dict[tuple[str, str], LocalFile]:
        index: dict[tuple[str, str], LocalFile] = {}
        for f in self.files:
            index.setdefault((f.folder, f.name), f)
        return index

    @cached_property
    def _by_base(self) -> dict[str, tuple[LocalFile, ...]]:
        return _group(self.files, lambda f: f.name.rsplit("/", 1)[-1])

    @cached_property
    def _by_sha(self) -> dict[str, tuple[LocalFile, ...]]:
        return _group((f for f in self.files if f.sha256), lambda f: f.sha256)


def _group(files: Any, key: Callable[[LocalFile], Any]) -> dict[Any, tuple[LocalFile, ...]]:
    groups: dict[Any, list[LocalFile]] = {}
    for f in files:
        groups.setdefault(key(f), []).append(f)
    return {k: tuple(v) for k, v in groups.items()}


class _Root(msgspec.Struct, frozen=True):
    path: Path
    folder: str | None  # None: the models dir itself; folder = first path component
    rank: int  # position of this dir in its folder's search order


class _Found(msgspec.Struct, frozen=True):
    folder: str
    name: str
    path: str
    rank: int
    st: os.stat_result


def scan_tree(
    model_paths: ModelPaths,
    cache: HashCache | None,
    *,
    hash: bool = True,
    progress: ScanProgress | None = None,
) -> Inventory:
    """Inventory every model file of ``model_paths``.

    Args:
        model_paths: the folders' directories (``modelpaths.load_model_paths``).
        cache: digests of unchanged files come from here; new digests go there.
        hash: False = stat only (presence and size); cached digests are still filled in.
        progress: ``progress(done, total)`` in bytes while hashing cache misses.
    """
    roots = _roots(model_paths)
    if cache is not None:
        for directory in sorted({str(r.path) for r in roots if r.path.is_dir()}, key=len):
            cache.preload(directory)
    problems: list[str] = []
    found = list(_walk_roots(roots, problems))
    found.sort(key=lambda f: (f.folder, f.name, f.rank, f.path))
    digests: dict[str, Digest | None] = {}
    misses: list[_Found] = []
    for f in found:
        hit = cache.get(f.path, f.st) if cache is not None else None
        digests[f.path] = hit
        if hit is None:
            misses.append(f)
    hashed = 0
    if hash and misses:
        hashed = _hash_misses(misses, cache, digests, problems, progress)
    if cache is not None:
        cache.flush()
    files = tuple(_local_file(f, digests[f.path]) for f in found if f.path in digests)
    return Inventory(
        files=files,
        models_dir=str(model_paths.models_dir) if model_paths.models_dir else None,
        hashed=hashed,
        cached=len(found) - len(misses),
        problems=tuple(problems),
    )


def _local_file(f: _Found, digest: Digest | None) -> LocalFile:
    if digest is None:
        return LocalFile(folder=f.folder, name=f.name, path=f.path, size=f.st.st_size)
    # The digest's size is what was hashed, even if the file changed since the walk.
    return LocalFile(f.folder, f.name, f.path, digest.size, digest.sha256, digest.blake3)


def _hash_misses(
    misses: list[_Found],
    cache: HashCache | None,
    digests: dict[str, Digest | None],
    problems: list[str],
    progress: ScanProgress | None,
) -> int:
    total = sum(f.st.st_size for f in misses)
    base = 0
    hashed = 0
    for f in misses:
        tick = None
        if progress is not None:
            start = base
            progress(start, total)
            tick = lambda done, start=start: progress(start + done, total)  # noqa: E731
        try:
            digest, _ = recall_or_hash(f.path, f.st, cache, progress=tick, lookup=False)
        except OSError as exc:
            # Vanished or unreadable since the walk: report it, keep scanning the rest.
            problems.append(f"{f.path}: {exc.strerror or exc}")
            digests.pop(f.path, None)
        else:
            digests[f.path] = digest
            hashed += 1
        base += f.st.st_size
    if progress is not None:
        progress(total, total)
    return hashed


def _roots(model_paths: ModelPaths) -> list[_Root]:
    folders = {**model_paths.dirs, **model_paths.pack_folders()}
    roots = [
        _Root(path=Path(d), folder=folder, rank=rank)
        for folder, dirs in sorted(folders.items())
        for rank, d in enumerate(dirs)
    ]
    if model_paths.models_dir is not None:
        roots.append(_Root(path=Path(model_paths.models_dir), folder=None, rank=1 << 30))
    return roots


def _dir_key(path: str | os.PathLike[str]) -> _DirKey | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _walk_roots(roots: list[_Root], problems: list[str]) -> Iterator[_Found]:
    # One walk per distinct directory: a dir ComfyUI's own folders list keeps their name (a
    # pack folder such as GGUF's clip_gguf lists models/clip too); otherwise it goes to the
    # folder where it ranks highest, then to the first folder by name (roots are sorted so).
    from ..workflows.tables import folder_names

    core = folder_names()
    keys: dict[_DirKey, _Root] = {}
    order = lambda r: (r.folder not in core, r.rank, r.folder is None, r.folder or "")  # noqa: E731
    for root in sorted(roots, key=order):
        key = _dir_key(root.path)
        if key is not None:
            keys.setdefault(key, root)
    exts = frozenset(model_extensions())
    for key, root in keys.items():
        yield from _walk(root, key, keys, exts, problems)


def _walk(
    root: _Root,
    root_key: _DirKey,
    roots: dict[_DirKey, _Root],
    exts: frozenset[str],
    problems: list[str],
) -> Iterator[_Found]:
    visited = {root_key}
    stack: list[tuple[str, str]] = [(str(root.path), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            problems.append(f"{directory}: {exc.strerror or exc}")
            continue
        for entry in entries:
            # Hidden entries: .git, editors' temp files, macOS "._x.safetensors" metadata.
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    st = entry.stat()
                    key = (st.st_dev, st.st_ino)
                    # Another root is walked on its own (deepest root wins); a seen dir
                    # means a symlink loop or a second path to the same place.
                    if key in roots or key in visited:
                        continue
                    visited.add(key)
                    stack.append((entry.path, f"{prefix}{entry.name}/"))
                elif _suffix(entry.name) in exts and entry.is_file():
                    found = _classify(root, prefix, entry)
                    if found is not None:
                        yield found
            except OSError as exc:
                problems.append(f"{entry.path}: {exc.strerror or exc}")


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _classify(root: _Root, prefix: str, entry: os.DirEntry[str]) -> _Found | None:
    name = prefix + entry.name
    folder = root.folder
    if folder is None:
        # Under models/ but outside every known folder: "sams/x.pth" -> (sams, x.pth).
        if not prefix:
            return None
        folder, name = name.split("/", 1)
    return _Found(folder=folder, name=name, path=entry.path, rank=root.rank, st=entry.stat())


def locate_models(directory: Path | None, settings: Settings) -> ModelPaths:
    """The folders to scan for ``comfylock scan [DIR]``.

    DIR may be a ComfyUI root (it has ``models/``; its extra_model_paths.yaml counts) or a
    models dir. Without DIR: ``--models-dir``, else ``--comfyui-root``/``$COMFYUI_ROOT``.
    """
    from ..errors import InputError, UsageError
    from .modelpaths import load_model_paths

    if directory is not None:
        directory = directory.expanduser().absolute()
        if not directory.is_dir():
            problem = "not a directory" if directory.exists() else "no such directory"
            raise InputError(
                f"{directory}: {problem}", hint="pass a ComfyUI root or its models/ dir"
            )
        if (directory / "models").is_dir():
            return load_model_paths(directory)
        return load_model_paths(None, directory)
    root = settings.models_root()
    if root is None:
        raise UsageError(
            "no models directory to scan",
            hint="pass DIR, --models-dir DIR, --comfyui-root DIR, or set COMFYUI_ROOT",
        )
    if not root.is_dir():
        raise InputError(
            f"{root}: no such directory", hint="check --models-dir / --comfyui-root / COMFYUI_ROOT"
        )
    return load_model_paths(settings.comfyui_root, settings.models_dir)


def scan_models(
    directory: Path | None,
    settings: Settings,
    *,
    hash: bool = True,
    progress: ScanProgress | None = None,
) -> Inventory:
    """``comfylock scan``: locate the tree, scan it with the machine's hash cache."""
    model_paths = locate_models(directory, settings)
    with HashCache.in_dir(settings.cache_dir) as cache:
        return scan_tree(model_paths, cache, hash=hash, progress=progress)
