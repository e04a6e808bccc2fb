"""One module per subcommand; imported lazily by comfylock.cli."""

from __future__ import annotations


def shown_path(path: str) -> str:
    """A path as a command prints it: relative to the working directory when below it."""
    import os

    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel
