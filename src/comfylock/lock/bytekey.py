"""The key of a lock's bytes: comfylock's version and their blake3.

The lock's fast copy (``fastcopy``) and the link planner (``sync/linkplan.py``) know a lock
by it: a ``git pull`` or a ``touch`` that leaves the bytes as they were keeps the key, any
other bytes change it. Standard library and blake3 only: the link planner runs before
anything heavy is imported.
"""

from __future__ import annotations

__all__ = ["lock_key"]


def lock_key(data: bytes) -> str:
    import blake3  # NOTE: not hashlib: OpenSSL's start-up costs a no-op sync ~4 ms

    from .. import __version__

    return f"{__version__}:{blake3.blake3(data).hexdigest()}"
