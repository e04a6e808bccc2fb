"""A msgpack copy of the parsed lock, so ``sync``/``status``/``check`` of an unchanged lock
skip TOML parsing and validation (SPEC §7: tomllib takes ~34 ms for 1,000 models; decoding
msgpack ~2 ms).

One copy per lock path, under ``<cache>/lock-cache/<crc32 of the path>.msgpack``, keyed by
comfylock's version and the blake3 of the lock's bytes: a ``git pull`` or a ``touch`` that
leaves the bytes as they were is still served from the copy, and any other bytes (even with
the size, mtime and inode kept) are parsed again. Hashing the bytes costs ~0.1 ms for 1,000
models. Everything here is a speed-up only: any failure reads the lock normally.
``lock.file`` (tomllib, validation) is imported on a miss only.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import msgspec

from .bytekey import lock_key as _key
from .structs import Lock

__all__ = ["key_of", "load_lock_cached"]

# lock path -> (key of the bytes parsed, the Lock made of them), for the last load here
_PARSED: dict[str, tuple[str, Lock]] = {}


class _Entry(msgspec.Struct, array_like=True):
    key: str
    lock: Lock


def load_lock_cached(lock_path: Path, cache_dir: Path) -> Lock:
    """``lock.file.load(lock_path)``, served from the msgpack copy when the bytes match."""
    lock_path = Path(lock_path)
    try:
        data = lock_path.read_bytes()  # NOTE: one read: the bytes hashed are the bytes parsed
    except OSError:
        from .file import load

        return load(lock_path)  # the usual "no lock file" / "cannot read" error
    key = _key(data)
    name = f"{zlib.crc32(str(lock_path).encode()):08x}.msgpack"
    cache = Path(cache_dir) / "lock-cache" / name
    try:
        entry = msgspec.msgpack.decode(cache.read_bytes(), type=_Entry)
        if entry.key == key:
            _PARSED[str(lock_path)] = (key, entry.lock)
            return entry.lock
    except (OSError, msgspec.DecodeError, RecursionError):
        pass
    from .file import from_bytes

    lock = from_bytes(data, lock_path)
    _PARSED[str(lock_path)] = (key, lock)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_bytes(msgspec.msgpack.encode(_Entry(key, lock)))
        os.replace(tmp, cache)
    except (OSError, TypeError, OverflowError, RecursionError):
        pass  # only a speed-up
    return lock


def key_of(lock_path: Path, lock: Lock) -> str | None:
    """The key (version and blake3 of the bytes) ``lock`` was parsed from at ``lock_path``
    by this process, or None when it was not loaded here."""
    found = _PARSED.get(str(lock_path))
    return found[0] if found is not None and found[1] is lock else None
