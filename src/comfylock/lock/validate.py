"""The rules of a valid lock that its types cannot say, checked on every read.

A lock is often written by hand and always comes from someone else's commit, so nonsense is
refused with one line naming the file and the entry (exit 2), never acted on: two entries for
one model or one node pack (the last one would silently win), a version below 1, a name with
a path component no filesystem can hold, a URL or repo that cannot be parsed or carries a
control character, a Hugging Face source whose repo or path could reach
another file than the one it names, a file source whose path leaves its root, a Civitai id
below 1. Sizes are bounded by the type (``MAX_MODEL_SIZE``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..errors import LockfileError
from ..pathsafe import unsafe_reason
from ..workflows.refs import REPO_ID_PATTERN
from .structs import CivitaiSource, FileSource, HuggingFaceSource, Lock, UrlSource

__all__ = ["MAX_COMPONENT_BYTES", "check_lock"]

MAX_COMPONENT_BYTES = 255  # NAME_MAX of ext4, XFS, APFS, NTFS (in UTF-16 units there)
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


def _check_names_and_urls(lock: Lock, source: str) -> None:
    for m in lock.model:
        entry = f"[[model]] {m.key!r}"
        if any(len(part.encode()) > MAX_COMPONENT_BYTES for part in m.name.split("/")):
            raise _fail(source, entry, f"a path component longer than {MAX_COMPONENT_BYTES} bytes")
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
    return lock
