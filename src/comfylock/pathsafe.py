"""Untrusted names from workflows and locks: normalise, reject escapes, assert containment.

A name is checked under both POSIX and Windows rules before it is ever joined to a path,
and every join is checked again afterwards (STYLE rule 11). A string check is not enough on
a real disk: a directory symlink inside the tree (``models/vae/root -> /``) would carry a
clean name anywhere. So every write also checks where its parent directory really is
(``check_parent_within``): after resolving symlinks, inside one of the tree's roots.
Names are also shown to people: ``printable`` escapes the control characters a name may carry
(an ESC sequence, ``\\r``) before any human-readable output prints it.

Every file comfylock places is first made under a temporary name beside it (``temp_sibling``)
and then renamed; ``length_problem`` refuses a name with no room for that temporary name, so a
lock that could never be placed is an input error when it is read, not a disk error later.
"""

from __future__ import annotations

import os

from .errors import UnsafePathError

TYPE_CHECKING = False  # NOTE: not typing's: importing typing (and re) costs a start-up ~9 ms
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable
    from pathlib import Path

__all__ = [
    "NAME_MAX_BYTES",
    "TEMP_EXTRA_BYTES",
    "check_name",
    "check_parent_within",
    "join_checked",
    "normalise_name",
    "printable",
    "length_problem",
    "real_roots",
    "safe_join",
    "temp_sibling",
    "unsafe_reason",
]

# C0, DEL, C1, and the bidirectional overrides that reorder what a terminal shows.
_CONTROL_CHARS = "[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CONTROL: list = []  # the compiled pattern, made on first use: ``re`` costs a start-up ~6 ms


def _control():
    if not _CONTROL:
        import re

        _CONTROL.append(re.compile(_CONTROL_CHARS))
    return _CONTROL[0]


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` safe for a terminal: control characters become visible escapes (``\\x1b``).

    Every human-readable output passes names, paths and messages through this; JSON output
    does not (it must stay exact). ``multiline`` keeps ``\\n`` for text made of lines
    (a rendered report), so build such text from values already escaped one by one.
    """
    control = _control()
    if multiline:
        return "\n".join(control.sub(_escape, line) for line in text.split("\n"))
    return control.sub(_escape, text)


def normalise_name(name: str) -> str:
    """Backslashes become ``/`` (Windows saves), repeated and leading ``./`` are dropped."""
    name = name.strip().replace("\\", "/")
    while "//" in name:
        name = name.replace("//", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def unsafe_reason(name: str) -> str | None:
    """Why a (normalised) name may not be joined to a folder, or None if it is safe."""
    if not name:
        return "empty name"
    if "\x00" in name:
        return "NUL byte in name"
    if name.startswith("/") or name.startswith("\\"):
        return "absolute path"
    if name[1:2] == ":" and name[0].isascii() and name[0].isalpha():
        return "absolute Windows path (drive letter)"
    parts = name.replace("\\", "/").split("/")
    if any(part == ".." for part in parts):
        return "'..' in path"
    if any(part in ("", ".") for part in parts):
        return "empty or '.' path segment"
    return None


NAME_MAX_BYTES = 255  # NAME_MAX of ext4, XFS, APFS, NTFS (in UTF-16 units there)
_TEMP_TAG = ".comfylock-"
_TEMP_SUFFIX = ".tmp"
_TEMP_RANDOM = 4  # bytes of randomness: 8 hex digits
TEMP_EXTRA_BYTES = len(".") + len(_TEMP_TAG) + 2 * _TEMP_RANDOM + len(_TEMP_SUFFIX)


def temp_sibling(path: str | os.PathLike[str]) -> Path:
    """A fresh temporary name beside ``path`` (``.<name>.comfylock-<8 hex>.tmp``): where a
    link, a copy or a clone is made before it is renamed into place. At most
    ``TEMP_EXTRA_BYTES`` longer than the name, which ``length_problem`` leaves room for."""
    import secrets  # NOTE: here, not at the top: ~2 ms of every start-up
    from pathlib import Path

    path = Path(path)
    return path.with_name(f".{path.name}{_TEMP_TAG}{secrets.token_hex(_TEMP_RANDOM)}{_TEMP_SUFFIX}")


def length_problem(name: str) -> str | None:
    """Why a (normalised, relative) name cannot be placed on any common filesystem, or None:
    each directory may use all of ``NAME_MAX_BYTES``, the file itself must leave room for its
    temporary name (``temp_sibling``)."""
    parts = name.replace("\\", "/").split("/")
    leaf_max = NAME_MAX_BYTES - TEMP_EXTRA_BYTES
    for part in parts[:-1]:
        if len(part.encode("utf-8", "surrogateescape")) > NAME_MAX_BYTES:
            return f"a directory name longer than {NAME_MAX_BYTES} bytes"
    if len(parts[-1].encode("utf-8", "surrogateescape")) > leaf_max:
        return (
            f"a file name longer than {leaf_max} bytes (the filesystem's {NAME_MAX_BYTES}, less "
            f"{TEMP_EXTRA_BYTES} for the temporary name it is placed under)"
        )
    return None


def check_name(name: str, *, what: str = "name") -> str:
    """Return the normalised name or raise UnsafePathError naming the problem."""
    norm = normalise_name(name)
    reason = unsafe_reason(norm)
    if reason:
        raise UnsafePathError(
            f"unsafe {what} {name!r}: {reason}",
            hint="model names must be relative paths inside their folder",
        )
    return norm


def join_checked(base: str, name: str) -> str:
    """``base`` (absolute, normalised) joined with the checked ``name``, as a string; raises
    UnsafePathError if the result is not inside ``base``. Runs once per model on every
    status, so strings only."""
    joined = os.path.normpath(os.path.join(base, check_name(name)))
    if not joined.startswith(base + os.sep):
        raise UnsafePathError(f"unsafe name {name!r}: escapes {base}")
    return joined


def safe_join(root: Path, *names: str) -> Path:
    """Join checked names under ``root`` and assert the result stays inside it."""
    path = root
    for name in names:
        path = path / check_name(name)
    root_abs = os.path.abspath(root)
    if os.path.commonpath([root_abs, os.path.abspath(path)]) != root_abs:
        raise UnsafePathError(f"unsafe name {'/'.join(names)!r}: escapes {root}")
    return path


def real_roots(roots: Iterable[str | os.PathLike[str]]) -> tuple[str, ...]:
    """The roots writes may land under, symlinks resolved (a root may itself be a symlink)."""
    return tuple(sorted({os.path.realpath(os.path.abspath(r)) for r in roots}))


def _inside(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def check_parent_within(
    path: str | os.PathLike[str],
    roots: tuple[str, ...],
    *,
    what: str = "the models tree",
    seen: dict[str, str] | None = None,
) -> None:
    """Raise UnsafePathError unless ``path``'s parent, symlinks resolved, is inside a root.

    ``roots`` come from ``real_roots``. Only the parents count: the entry itself may be a
    link (ours into the store, or a user's own), which a write replaces rather than follows.
    ``seen`` caches one realpath per parent directory (observe checks every model).
    """
    parent = os.path.dirname(os.path.abspath(path))
    real = seen.get(parent) if seen is not None else None
    if real is None:
        real = os.path.realpath(parent)
        if seen is not None:
            seen[parent] = real
    if not _inside(real, roots):
        raise UnsafePathError(
            f"{path}: a parent directory leads outside {what} (to {real}); nothing there "
            "was touched",
            hint="remove that directory symlink, or name the directory in "
            "extra_model_paths.yaml to make it a root of its own",
        )
