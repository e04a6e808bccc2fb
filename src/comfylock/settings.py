"""Run-time settings, resolved at call time from CLI options and the environment.

There are no import-time globals: tests and mirrors change the environment and get new
settings on the next call.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import msgspec

from .constants import ENV_COMFYUI_ROOT, ENV_STORE, LOCK_FILENAME

__all__ = ["Settings", "default_cache_dir", "default_store_dir", "make_settings"]


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
        lock_path=_absolute(lock or LOCK_FILENAME),
        comfyui_root=_absolute(root) if root else None,
        models_dir=_absolute(models_dir) if models_dir else None,
        store_dir=_absolute(store_dir) if store_dir else default_store_dir(),
        cache_dir=default_cache_dir(),
        verbose=verbose,
        quiet=quiet,
        json=json,
        color=color,
    )
