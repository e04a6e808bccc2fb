"""The commands comfylock's output tells a user to run: every `comfylock …` in backticks,
joined back when the terminal width broke one over lines (`` \\`` at a line's end, as a
shell reads it). Shared by the hint tests and the demo, which runs what it is told."""

from __future__ import annotations

import re
import shlex

__all__ = ["PLACEHOLDER", "hints", "hint_args"]

# What only the user can know, written in capitals: SOURCE, DIR, OWNER/REPO, HEX.
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_/]*(\[[^\]]*\])?$")


def hints(text: str) -> list[str]:
    """Each `comfylock …` command in ``text`` (continuations joined), in order, once."""
    joined = re.sub(r" \\\n\s*", " ", text)  # between arguments
    joined = joined.replace("\\\n", "")  # inside one (a shell removes backslash-newline)
    found = re.findall(r"`(comfylock [^`]+)`", joined, flags=re.S)
    return list(dict.fromkeys(" ".join(c.split()) for c in found))


def hint_args(command: str, fill: dict[str, str] | None = None) -> list[str]:
    """The arguments after ``comfylock``, placeholders filled from ``fill``.

    Raises:
        AssertionError: a placeholder nobody filled (the hint would not work as printed).
    """
    args = shlex.split(command)[1:]
    out = []
    for arg in args:
        if PLACEHOLDER.match(arg) and not arg.startswith("-"):
            assert fill and arg in fill, f"{command!r}: nothing fills {arg}"
            arg = fill[arg]
        out.append(arg)
    return out
