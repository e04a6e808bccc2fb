"""Where each model folder lives on this machine: ComfyUI's defaults plus extra_model_paths.yaml.

Mirrors ComfyUI's ``folder_paths`` + ``utils/extra_config.py``: every folder has an ordered
list of directories, the first being where new files go. ``extra_model_paths.yaml`` sections
may set ``base_path`` (``~`` and ``$VARS`` expanded, relative to the YAML's directory),
``is_default: true`` (its dirs go to the front), and ``<folder>: <path>`` where the value may
be a multi-line block of several paths; legacy names (``clip``, ``unet``) are mapped.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from ..errors import InputError
from ..workflows.tables import canonical_folder, default_dirs, folder_names

__all__ = ["ModelPaths", "load_model_paths", "parse_extra_model_paths"]

EXTRA_CONFIG_NAME = "extra_model_paths.yaml"


class ModelPaths(msgspec.Struct, frozen=True):
    """folder -> ordered directories; ``dirs[folder][0]`` is the folder's default target."""

    models_dir: Path | None
    dirs: dict[str, tuple[Path, ...]]

    def target_dir(self, folder: str) -> Path | None:
        """Directory new files of ``folder`` are placed in."""
        found = self.search_dirs(folder)
        return found[0] if found else None

    def search_dirs(self, folder: str) -> tuple[Path, ...]:
        """Dirs of a folder; a folder ComfyUI core does not know (one a custom node registers,
        e.g. ``ultralytics``) lives at ``models/<folder>`` as those nodes register it."""
        found = self.dirs.get(canonical_folder(folder))
        if found:
            return found
        if self.models_dir is not None and "/" not in folder and folder not in ("", ".", ".."):
            return (self.models_dir / folder,)
        return ()


def _model_folders() -> list[str]:
    from ..workflows.tables import _table

    return sorted(
        n
        for n, spec in _table()["folders"].items()
        if spec.get("relative_to", "models") == "models"
    )


def parse_extra_model_paths(
    text: str, yaml_dir: Path, *, source: str = EXTRA_CONFIG_NAME
) -> list[tuple[str, Path, bool]]:
    """(folder, directory, is_default) rows from one extra_model_paths.yaml, in file order."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise InputError(f"{source}: not valid YAML: {first}") from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected sections of 'folder: path' entries")
    rows: list[tuple[str, Path, bool]] = []
    for section, conf in data.items():
        if conf is None:
            continue
        if not isinstance(conf, dict):
            raise InputError(f"{source}: section {section!r} must be a mapping")
        base = conf.get("base_path")
        base_path: Path | None = None
        if base:
            base_path = Path(os.path.expandvars(os.path.expanduser(str(base))))
            if not base_path.is_absolute():
                base_path = yaml_dir / base_path
        is_default = bool(conf.get("is_default", False))
        for key, value in conf.items():
            if key in ("base_path", "is_default") or value is None:
                continue
            for line in str(value).splitlines():
                line = line.strip()
                if not line:
                    continue
                path = Path(os.path.expandvars(os.path.expanduser(line)))
                if not path.is_absolute():
                    path = (base_path or yaml_dir) / path
                rows.append((canonical_folder(str(key)), Path(os.path.normpath(path)), is_default))
    return rows


def load_model_paths(
    comfyui_root: Path | None,
    models_dir: Path | None = None,
    extra_configs: list[Path] | tuple[Path, ...] = (),
) -> ModelPaths:
    """Folder directories for a ComfyUI root (and/or explicit models dir) as ComfyUI sees them."""
    base_models = models_dir or (comfyui_root / "models" if comfyui_root else None)
    dirs: dict[str, list[Path]] = {}
    if base_models is not None:
        for folder in _model_folders():
            dirs[folder] = [base_models / d for d in default_dirs(folder)]
    configs = list(extra_configs)
    if comfyui_root is not None and (comfyui_root / EXTRA_CONFIG_NAME).is_file():
        configs.insert(0, comfyui_root / EXTRA_CONFIG_NAME)
    for config in configs:
        try:
            text = config.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{config}: cannot read: {exc.strerror or exc}") from None
        for folder, path, is_default in parse_extra_model_paths(
            text, config.parent, source=str(config)
        ):
            current = dirs.setdefault(folder, [])
            if path in current:
                current.remove(path)
            if is_default:
                current.insert(0, path)
            else:
                current.append(path)
    return ModelPaths(models_dir=base_models, dirs={k: tuple(v) for k, v in sorted(dirs.items())})


def known_folder(folder: str) -> bool:
    return canonical_folder(folder) in folder_names()
