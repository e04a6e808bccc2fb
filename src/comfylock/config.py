"""``comfylock.toml``: the optional, user-edited project file beside the lock.

The one reader of that file: every command that needs its settings (``allow-http``, hand
pins, the workflow globs) comes here. Read with tomllib + msgspec (strict: a typo is an error, not a silent no-op); edited with
tomlkit by ``comfylock add`` so comments survive.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from .constants import CONFIG_FILENAME
from .errors import LockfileError
from .lock.model import Config

__all__ = ["config_path", "load_config"]


def config_path(project_dir: Path) -> Path:
    return project_dir / CONFIG_FILENAME


def load_config(project_dir: Path) -> Config:
    """The project's config, or an empty one when there is no comfylock.toml."""
    path = config_path(project_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise LockfileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    # NOTE: imported here, not at the top: most projects have no comfylock.toml
    from .lock.file import parse_toml

    data = parse_toml(text, source=str(path))
    try:
        return msgspec.convert(data, Config, strict=True)
    except RecursionError:
        raise LockfileError(f"{path}: nested too deeply") from None
    except msgspec.ValidationError as exc:
        raise LockfileError(
            f"{path}: {exc}", hint="see the README's comfylock.toml section"
        ) from None
