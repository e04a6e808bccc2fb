"""A counting stand-in for ``comfylock.store.hashing._open``: proves which files were read."""

from __future__ import annotations

import io
import os
from pathlib import Path

__all__ = ["ReadCounter"]


class ReadCounter:
    """Install with ``monkeypatch.setattr(hashing, "_open", counter)``; counts opens and bytes."""

    def __init__(self) -> None:
        self.opened: list[Path] = []
        self.bytes_read = 0

    def __call__(self, path: str | os.PathLike[str], mode: str = "rb", buffering: int = -1):
        assert "r" in mode and "b" in mode, mode
        self.opened.append(Path(path))
        counter = self

        class _CountingFile(io.FileIO):
            def readinto(self, buffer) -> int | None:
                n = super().readinto(buffer)
                counter.bytes_read += n or 0
                return n

            def read(self, size: int = -1) -> bytes:
                data = super().read(size)
                counter.bytes_read += len(data)
                return data

        return _CountingFile(path, "rb")
