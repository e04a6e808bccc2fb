"""What a command line names before click parses it: the command, the global options, and
what an interrupted command leaves behind. Click-free, so the console script can answer a
Ctrl-C that arrives before the CLI is imported the way the CLI answers one."""

from __future__ import annotations

__all__ = [
    "GLOBAL_FLAGS",
    "GLOBAL_VALUE_OPTIONS",
    "command_index",
    "interrupted_message",
]

# Global options (SPEC §2) are accepted before or after the command name.
GLOBAL_VALUE_OPTIONS = ("--lock", "--comfyui-root", "--models-dir", "--store")
GLOBAL_FLAGS = ("--verbose", "--quiet", "-q", "--no-color", "--version")
# What an interrupted command leaves behind, for the Ctrl-C message.
_LEFT_BEHIND = {
    "sync": "partial downloads are kept and the next run resumes them",
    "resolve": "comfy.lock was not changed",
    "add": "comfy.lock and comfylock.toml were not changed",
}


def command_index(args: list[str]) -> int | None:
    """Index of the command name in ``args`` (global options and their values skipped)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return None
        if arg in GLOBAL_VALUE_OPTIONS:
            i += 2
            continue
        if not arg.startswith("-"):
            return i
        i += 1
    return None


def interrupted_message(args: list[str]) -> str:
    """The Ctrl-C line (without ``error:``): what the interrupted command left as it was."""
    at = command_index(args)
    left = _LEFT_BEHIND.get(args[at], "") if at is not None else ""
    return f"interrupted; {left}" if left else "interrupted"
