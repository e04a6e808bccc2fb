"""``comfylock.toml``: the optional, user-edited project file beside the lock, and its shape.

The one reader of that file: every command that needs its settings (``allow-http``, hand
pins, the workflow globs) comes here. Read with tomllib + msgspec (strict: a typo is an error, not a silent no-op); edited with
tomlkit by ``comfylock add`` so comments survive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from .basics.fileio import Base
from .constants import CONFIG_FILENAME
from .errors import LockfileError

__all__ = [
    "ComfyUIConfig",
    "Config",
    "PythonConfig",
    "PythonTargetConfig",
    "RemoteConfig",
    "config_path",
    "load_config",
]


class RemoteConfig(Base):
    """One ``[[remote]]``: a team store (SPEC §8). Credentials come from the environment."""

    name: Annotated[str, Meta(pattern="^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    url: str  # s3://BUCKET/PREFIX or https://HOST/PREFIX (a read-only mirror)
    push: bool = False


class ComfyUIConfig(Base):
    """``[comfyui]``: a hand pin of the ComfyUI core (a commit or a release version) and
    where to clone it from."""

    repo: str | None = None
    commit: Annotated[str, Meta(pattern="^[0-9a-f]{40}$")] | None = None
    version: str | None = None


class PythonTargetConfig(Base):
    """One platform the team runs: ``{name, platform, torch-backend}``."""

    name: Annotated[str, Meta(pattern="^[A-Za-z0-9][A-Za-z0-9_-]*$")]
    platform: str
    torch_backend: str | None = None


class PythonConfig(Base):
    """``[python]``: how the node packs' Python requirements are locked (SPEC §9)."""

    version: Annotated[str, Meta(pattern=r"^3\.[0-9]+$")] | None = None
    targets: tuple[PythonTargetConfig, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    overrides: dict[str, str] = {}
    exclude: tuple[str, ...] = ()


class Config(Base):
    """The user-edited ``comfylock.toml``. Never holds a secret."""

    workflows: tuple[str, ...] = ()
    sources: dict[str, str] = {}
    nodes: dict[str, str] = {}
    allow_http: tuple[str, ...] = ()
    remote: tuple[RemoteConfig, ...] = ()
    comfyui: ComfyUIConfig | None = None
    python: PythonConfig | None = None


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
    except UnicodeDecodeError:
        raise LockfileError(f"{path}: cannot read: not UTF-8 text") from None
    # NOTE: imported here, not at the top: most projects have no comfylock.toml
    from .basics.fileio import parse_toml

    data = parse_toml(text, source=str(path))
    try:
        config = msgspec.convert(data, Config, strict=True)
    except RecursionError:
        raise LockfileError(f"{path}: nested too deeply") from None
    except msgspec.ValidationError as exc:
        raise LockfileError(
            f"{path}: {exc}", hint="see the README's comfylock.toml section"
        ) from None
    for pattern in config.workflows:
        # Path.glob takes only relative patterns: an absolute one would be an internal error
        if pattern.startswith(("/", "\\")) or (len(pattern) > 1 and pattern[1] == ":"):
            raise LockfileError(
                f"{path}: workflows pattern {pattern!r} is absolute",
                hint="write it relative to the directory of comfylock.toml",
            )
    return config
