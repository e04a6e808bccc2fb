"""Run-time settings, resolved at call time from CLI options and the environment.

There are no import-time globals: tests and mirrors change the environment and get new
settings on the next call.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import msgspec

from .constants import CONFIG_FILENAME, ENV_COMFYUI_ROOT, ENV_STORE, LOCK_FILENAME

__all__ = [
    "COMFYUI_MARKERS",
    "Settings",
    "check_comfyui_root",
    "default_cache_dir",
    "default_store_dir",
    "find_comfyui_near",
    "find_lock",
    "make_settings",
    "root_hint",
]

# What makes a directory look like a ComfyUI install (SPEC §2): any one of these.
COMFYUI_MARKERS = ("models", "custom_nodes", "main.py")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    lock_path: Path
    comfyui_root: Path | None
    models_dir: Path | None
    store_dir: Path
    cache_dir: Path
    verbose: int = 0
    quiet: bool = False
    json: bool = False
    color: bool = True

    @property
    def project_dir(self) -> Path:
        """The lock's directory: every path in the lock is relative to it."""
        return self.lock_path.parent

    def models_root(self) -> Path | None:
        """The models tree: --models-dir, else <ComfyUI root>/models, else None."""
        if self.models_dir is not None:
            return self.models_dir
        if self.comfyui_root is not None:
            return self.comfyui_root / "models"
        return None


def _user_cache_dir() -> str:
    """The per-user cache dir. On Linux this is the XDG rule, computed here because
    importing platformdirs costs ~10 ms on every command (SPEC §7 no-op budget)."""
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
        return os.path.join(base, "comfylock")
    from platformdirs import user_cache_dir

    return user_cache_dir("comfylock", appauthor=False)


def default_cache_dir() -> Path:
    return Path(os.environ.get("COMFYLOCK_CACHE_DIR") or _user_cache_dir())


def default_store_dir() -> Path:
    return default_cache_dir() / "store"


def _absolute(path: str) -> Path:
    """Absolute and normalised (``../x`` resolved lexically, symlinks kept as given)."""
    return Path(os.path.abspath(os.path.expanduser(path)))


def find_lock(start: Path) -> Path:
    """``comfy.lock`` in ``start`` or the nearest parent that has one or a ``comfylock.toml``
    (as git and uv find their files), else ``start/comfy.lock``. A ``comfylock.toml`` marks a
    project whose lock is not written yet, so ``resolve`` in a subfolder writes it there."""
    for directory in (start, *start.parents):
        if (directory / LOCK_FILENAME).is_file() or (directory / CONFIG_FILENAME).is_file():
            return directory / LOCK_FILENAME
    return start / LOCK_FILENAME


def find_comfyui_near(start: Path) -> Path | None:
    """A ComfyUI root near ``start`` (itself, ``ComfyUI/`` in it or a parent, ``~/ComfyUI``),
    so a hint can name one that exists."""
    places = [start, start / "ComfyUI"]
    places += [p / "ComfyUI" for p in list(start.parents)[:3]]
    places.append(Path.home() / "ComfyUI")
    for place in places:
        if place.is_dir() and any((place / m).exists() for m in COMFYUI_MARKERS):
            return place
    return None


def root_hint(command: str, start: Path) -> str:
    """How to name the ComfyUI root to ``command``: with a root found nearby, the command
    that works as it is; else the form to fill in."""
    near = find_comfyui_near(start)
    if near is not None:
        rel = os.path.relpath(near)
        shown = near if rel.startswith("..") else rel
        return f"run `comfylock {command} --comfyui-root {shown}` (or set COMFYUI_ROOT)"
    return (
        f"pass the folder holding ComfyUI's main.py: `comfylock {command} --comfyui-root DIR` "
        "(or set COMFYUI_ROOT), or --models-dir DIR"
    )


def check_comfyui_root(root: Path, *, given_as: str = "--comfyui-root") -> None:
    """Raise UsageError unless ``root`` exists and looks like ComfyUI (SPEC §2): a typo must
    not make sync build a new tree somewhere. Suggests a near-miss sibling by name."""
    from .errors import UsageError

    if root.is_dir():
        if any(os.path.exists(root / marker) for marker in COMFYUI_MARKERS):
            return
        raise UsageError(
            f"{given_as} {root} does not look like ComfyUI (it has no models/, custom_nodes/ "
            "or main.py)",
            hint="pass the folder that holds ComfyUI's main.py, e.g. --comfyui-root ~/ComfyUI",
        )
    hint = "pass the folder that holds ComfyUI's main.py, e.g. --comfyui-root ~/ComfyUI"
    near = _near_sibling(root)
    if near is not None:
        hint = f"did you mean {near}?"
    what = "is not a directory" if root.exists() else "does not exist"
    raise UsageError(f"{given_as} {root} {what}", hint=hint)


def _near_sibling(path: Path) -> Path | None:
    import difflib

    try:
        names = [e.name for e in os.scandir(path.parent) if e.is_dir()]
    except OSError:
        return None
    match = difflib.get_close_matches(path.name, names, n=1, cutoff=0.75)
    return path.parent / match[0] if match else None


def make_settings(
    *,
    lock: str | None = None,
    comfyui_root: str | None = None,
    models_dir: str | None = None,
    store: str | None = None,
    verbose: int = 0,
    quiet: bool = False,
    json: bool = False,
    no_color: bool = False,
) -> Settings:
    env = os.environ
    root = comfyui_root or env.get(ENV_COMFYUI_ROOT) or None
    store_dir = store or env.get(ENV_STORE) or None
    color = not (no_color or "NO_COLOR" in env)
    return Settings(
        lock_path=_absolute(lock) if lock else find_lock(Path(os.path.abspath(os.curdir))),
        comfyui_root=_absolute(root) if root else None,
        models_dir=_absolute(models_dir) if models_dir else None,
        store_dir=_absolute(store_dir) if store_dir else default_store_dir(),
        cache_dir=default_cache_dir(),
        verbose=verbose,
        quiet=quiet,
        json=json,
        color=color,
    )
