"""How comfylock reads and writes its own files (the lock, ``comfylock.toml``, caches).

One place for the rules every such file follows: writes are atomic (temp file in the same
directory, fsync, ``os.replace``) and skipped when the bytes would not change; TOML is read
with tomllib and any way bad text fails is one ``LockfileError`` line; file-backed structs
share one strict base (frozen, unknown keys refused, kebab-case keys as SPEC §3 writes them).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import msgspec

from ..errors import LockfileError

# NOTE: tomllib and tempfile are imported where they are used: every command imports this
# module (through the lock's structs), and the two cost ~20 ms of a no-op sync's start-up.

__all__ = [
    "Base",
    "atomic_write_bytes",
    "atomic_write_text",
    "parse_toml",
]


class Base(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    rename="kebab",
    omit_defaults=True,
):
    """Base of every file-backed struct: frozen, strict, kebab-case keys."""


def parse_toml(text: str, *, source: str) -> dict:
    """tomllib, with every way bad text can fail turned into one LockfileError line."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockfileError(f"{source}: not valid TOML: {exc}") from None
    except (RecursionError, MemoryError):  # tomllib recurses once per nesting level
        raise LockfileError(f"{source}: not valid TOML: nested too deeply") from None


def atomic_write_text(path: Path, text: str, *, newline: str = "\n") -> bool:
    """Write ``text`` to ``path`` atomically; return False (and touch nothing) if unchanged."""
    return atomic_write_bytes(path, text.replace("\n", newline).encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename); False if unchanged."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
    return True
