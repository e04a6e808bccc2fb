"""How comfylock writes quantities for people: binary sizes (KiB, MiB, GiB) and counts
with the right plural. Used by every renderer and message, so one size reads the same
everywhere."""

from __future__ import annotations

__all__ = [
    "count",
    "human_size",
]


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def count(n: int, word: str, plural: str | None = None) -> str:
    """'1 model', '2 models', '1 custom node class', '3 custom node classes'."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"
