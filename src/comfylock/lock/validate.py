"""The rules of a valid lock that its types cannot say, checked on every read.

A lock is often written by hand and always comes from someone else's commit, so nonsense is
refused with one line naming the file and the entry (exit 2), never acted on: two entries for
one model or one node pack (the last one would silently win), a version below 1, a URL or repo
that cannot be parsed or carries a control character, a Hugging Face source whose repo or path
could reach another file than the one it names, a file source whose path leaves its root, a
Civitai id below 1. Sizes are bounded by the type (``MAX_MODEL_SIZE``).

Every path the lock makes sync write goes through one check, ``check_write_paths``: models
(input files too) and snapshot files (and any new kind of target: list it in
``write_paths``), each as a path relative to the ComfyUI root. Each must be a safe relative
name with room for the temporary name it is placed under (``pathsafe.length_problem``), and no
two entries may write one path (after normalisation: ``sub\\x`` is ``sub/x``, ``clip/`` is
``text_encoders/``) with other contents, nor one entry's file be another's directory: the
last one placed would win, and each sync would flip them. Where the path is, on disk, is
checked when it is observed and again when it is written (``pathsafe.check_parent_within``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

from ..errors import LockfileError
from ..pathsafe import length_problem, normalise_name, unsafe_reason
from ..workflows.refs import REPO_ID_PATTERN
from .structs import CivitaiSource, FileSource, HuggingFaceSource, Lock, UrlSource

__all__ = ["WritePath", "check_lock", "check_write_paths", "write_paths"]

_CONTROL = re.compile("[\x00-\x1f\x7f]")
_REPO_ID = re.compile(REPO_ID_PATTERN)


def _fail(source: str, entry: str, problem: str) -> LockfileError:
    return LockfileError(
        f"{source}: {entry}: {problem}",
        hint="fix that entry, or regenerate the lock with `comfylock resolve`",
    )


def _check_unique(lock: Lock, source: str) -> None:
    for what, keys in (
        ("[[model]]", [f"{m.folder}/{m.name}" for m in lock.model]),
        ("[[node]]", [n.id for n in lock.node]),
        ("[[workflow]]", [w.path for w in lock.workflow]),
    ):
        seen: dict[str, int] = {}
        for index, key in enumerate(keys):
            if key in seen:
                raise _fail(
                    source,
                    f"{what} {key!r}",
                    f"two entries (numbers {seen[key] + 1} and {index + 1}); the last would win",
                )
            seen[key] = index


def _url_problem(url: str) -> str | None:
    if _CONTROL.search(url):
        return "a control character in the URL"
    try:
        _ = urlsplit(url).port  # NOTE: urlsplit checks brackets, .port the port number
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    return None


def _source_problem(src: object) -> str | None:
    """What is wrong with one source, or None: every part of it ends up in a request URL."""
    url = src.url if isinstance(src, (UrlSource, CivitaiSource)) else None
    if url and (problem := _url_problem(url)):
        return problem
    if isinstance(src, CivitaiSource):
        for what in ("model_id", "version_id", "file_id"):
            value = getattr(src, what)
            if value is not None and value < 1:
                return f"Civitai {what.replace('_', '-')} {value} is not an id"
    if isinstance(src, HuggingFaceSource):
        if not _REPO_ID.match(src.repo):
            return f"Hugging Face repo {src.repo!r} is not an owner/name id"
        reason = "backslash in path" if "\\" in src.path else unsafe_reason(src.path)
        if reason or _CONTROL.search(src.path):
            return f"Hugging Face path {src.path!r}: {reason or 'a control character'}"
    if isinstance(src, FileSource):  # joined to the project or ComfyUI root: never a way out
        reason = "backslash in path" if "\\" in src.path else unsafe_reason(src.path)
        if reason or _CONTROL.search(src.path):
            return f"file source {src.path!r}: {reason or 'a control character'}"
    return None


class WritePath(NamedTuple):
    """One path a lock makes sync write, relative to the ComfyUI root (``models/…`` as in
    ComfyUI's default layout), and what is written there (two entries with the same
    ``contents`` at one path agree)."""

    entry: str  # how the lock names it, for the message: "[[model]] 'vae/x'"
    path: str
    contents: str  # what is placed there: a sha256


def write_paths(lock: Lock) -> list[WritePath]:
    """Every path ``lock`` makes sync write: models (input files under ``input/``, beside
    ``models/``; the files a node downloads into a directory of its own, relative to the
    ComfyUI root: ``custom_nodes/<pack>/ckpts``) and snapshot files."""
    from ..workflows.tables import INPUT_FOLDER, canonical_folder, under_root

    def place(folder: str) -> str:
        if folder == INPUT_FOLDER or under_root(folder):
            return folder
        return f"models/{canonical_folder(folder)}"

    out = [
        WritePath(f"[[model]] {m.key!r}", f"{place(m.folder)}/{m.name}", m.sha256)
        for m in lock.model
    ]
    for snap in lock.snapshot:
        out += [
            WritePath(
                f"[[snapshot]] {snap.dir!r} file {f.path!r}", f"{snap.dir}/{f.path}", f.sha256
            )
            for f in snap.file
        ]
    return out


def check_write_paths(paths: Iterable[WritePath], source: str) -> None:
    """The one check of the paths a lock writes (see the module docstring); raises
    LockfileError naming the file and the entries."""
    files: dict[str, WritePath] = {}
    dirs: dict[str, WritePath] = {}
    for wp in paths:
        path = normalise_name(wp.path)
        problem = unsafe_reason(path) or length_problem(path)
        if problem:
            raise _fail(source, wp.entry, problem)
        first = files.setdefault(path, wp)
        if first.contents != wp.contents:
            raise _fail(
                source,
                f"{first.entry} and {wp.entry}",
                f"both write the same path {path!r} with other contents",
            )
        parts = path.split("/")
        for i in range(1, len(parts)):
            dirs.setdefault("/".join(parts[:i]), wp)
    for path, wp in files.items():
        if path in dirs:
            raise _fail(
                source,
                f"{wp.entry} and {dirs[path].entry}",
                f"{path!r} is a file of one and a directory of the other (the same path)",
            )


def _check_names_and_urls(lock: Lock, source: str) -> None:
    for m in lock.model:
        entry = f"[[model]] {m.key!r}"
        for src in m.source:
            problem = _source_problem(src)
            if problem:
                raise _fail(source, entry, problem)
    for n in lock.node:
        problem = _url_problem(n.repo)
        if problem:
            raise _fail(source, f"[[node]] {n.id!r} repo", problem)


def check_lock(lock: Lock, source: str) -> Lock:
    """Return ``lock`` if it is sound, else raise LockfileError naming the file and entry."""
    if lock.version < 1:
        raise LockfileError(
            f"{source}: lock version {lock.version} does not exist (it starts at 1)"
        )
    _check_unique(lock, source)
    _check_names_and_urls(lock, source)
    check_write_paths(write_paths(lock), source)
    return lock
