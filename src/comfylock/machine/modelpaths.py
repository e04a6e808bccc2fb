"""Where each model folder lives on this machine: ComfyUI's defaults plus extra_model_paths.yaml.

Mirrors ComfyUI's ``folder_paths`` + ``utils/extra_config.py``: every folder has an ordered
list of directories ComfyUI searches. New files of a core folder go to its own
``models/<folder>`` (``diffusion_models``, not the legacy first dir ``unet``; SPEC §5) unless
an ``is_default`` entry comes first; other folders' files go to their first directory. ``extra_model_paths.yaml`` sections
may set ``base_path`` (``~`` and ``$VARS`` expanded, relative to the YAML's directory),
``is_default: true`` (its dirs go to the front), and ``<folder>: <path>`` where the value may
be a multi-line block of several paths; legacy names (``clip``, ``unet``) are mapped.

Folders custom-node packs register (``ella``, ``xlabs_controlnets``, …) live where the pack
registers them (the knowledge table's ``folder_dirs``, relative to the ComfyUI root: e.g.
``models/xlabs/controlnets`` or the pack's own ``custom_nodes/<pack>/models``), after any
``is_default`` entry ``extra_model_paths.yaml`` gives the name and before its other entries;
a folder nobody registers lives at ``models/<folder>``. The table is read only when such a
folder is asked for: core folders never load it. Input files (folder ``input``) are placed in
the ComfyUI root's ``input/`` (SPEC §10).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import msgspec

from ..errors import InputError
from ..workflows.tables import (
    INPUT_FOLDER,
    canonical_folder,
    default_dirs,
    folder_names,
    under_root,
)

__all__ = ["ModelPaths", "load_model_paths", "parse_extra_model_paths"]

EXTRA_CONFIG_NAME = "extra_model_paths.yaml"
# Bounds on what one extra_model_paths.yaml may make us hold: real ones are a few hundred
# bytes and a few dozen entries; a few hundred bytes of aliases can expand to billions.
YAML_MAX_BYTES = 1024 * 1024
YAML_MAX_NODES = 100_000  # entries after aliases and merge keys are expanded


class ModelPaths(msgspec.Struct, frozen=True):
    """folder -> ordered search directories; ``target_dir`` says where new files go."""

    models_dir: Path | None
    dirs: dict[str, tuple[Path, ...]]
    comfyui_root: Path | None = None
    yaml_defaults: dict[str, int] = {}  # how many of dirs[folder] are is_default yaml entries
    read_from: tuple[Path, ...] = ()  # the config files these paths were read from

    def target_dir(self, folder: str) -> Path | None:
        """Directory new files of ``folder`` are placed in: an ``is_default`` directory of
        extra_model_paths.yaml, else a core folder's own ``models/<folder>`` when ComfyUI
        searches it (``models/diffusion_models/``, not the legacy first dir ``unet``, as
        today's ComfyUI, its templates and docs place them; SPEC §5), else the first dir
        (where a pack registers its folder). ``search_dirs`` keeps ComfyUI's search order:
        a right file in any of them counts as present."""
        found = self.search_dirs(folder)
        if not found:
            return None
        folder = canonical_folder(folder)
        if self.yaml_defaults.get(folder, 0) or folder not in _core_folders():
            return found[0]
        own = self.models_dir / folder if self.models_dir is not None else None
        return own if own in found else found[0]

    def search_dirs(self, folder: str) -> tuple[Path, ...]:
        """Dirs of a folder, the first being its target (see the module docstring). Input
        files (folder ``input``) live in the ComfyUI root's ``input/``, beside ``models/``:
        without a ComfyUI root there is no place for them. A "folder" that is a directory
        relative to the ComfyUI root (``custom_nodes/<pack>/ckpts``, ``models/LLM/Qwen-VL``:
        where a node downloads what it loads) is that one directory."""
        if under_root(folder):
            return self._under_root(folder)
        folder = canonical_folder(folder)
        if folder == INPUT_FOLDER:
            return (self.comfyui_root / INPUT_FOLDER,) if self.comfyui_root is not None else ()
        found = self.dirs.get(folder, ())
        if folder in _core_folders():
            return found
        registered = self._registered(folder)
        plain = "/" not in folder and folder not in ("", ".", "..")
        if not registered and not found and self.models_dir is not None and plain:
            registered = (self.models_dir / folder,)
        if not registered:
            return found
        head = found[: self.yaml_defaults.get(folder, 0)]
        rest = tuple(d for d in found[len(head) :] if d not in registered)
        return (*head, *(d for d in registered if d not in head), *rest)

    def pack_folders(self) -> dict[str, tuple[Path, ...]]:
        """The folders packs register (ComfyUI's own excluded), each with its directories in
        search order: ``scan`` walks them as folders of their own."""
        from ..workflows.nodetable import registered_folders

        core = _core_folders()
        found = {f: self.search_dirs(f) for f in registered_folders() if f not in core}
        return {f: dirs for f, dirs in sorted(found.items()) if dirs}

    def _registered(self, folder: str) -> tuple[Path, ...]:
        """Where packs register ``folder``; ``models/…`` follows ``--models-dir``."""
        from ..workflows.nodetable import folder_dirs

        out: list[Path] = []
        # NOTE: a pack that registers the models tree (or the ComfyUI root) itself as a
        # folder would make every other folder's files its own: that directory is no folder
        roots = {r for r in (self.models_dir, self.comfyui_root) if r is not None}
        for rel in folder_dirs(folder):
            for path in self._under_root(rel):
                if path not in out and path not in roots:
                    out.append(path)
        return tuple(out)

    def _under_root(self, rel: str) -> tuple[Path, ...]:
        """A directory relative to the ComfyUI root (``models/…`` follows ``--models-dir``);
        () when this machine has no place for it or it is not a plain relative path."""
        parts = rel.replace("\\", "/").strip("/").split("/")
        if not parts or any(p in ("", ".", "..") for p in parts) or rel.startswith("/"):
            return ()  # a table row or a lock entry is data, never a way out of the tree
        if parts[0] == "models" and self.models_dir is not None:
            return (self.models_dir.joinpath(*parts[1:]),)
        if self.comfyui_root is not None:
            return (self.comfyui_root.joinpath(*parts),)
        return ()


@lru_cache(maxsize=1)
def _core_folders() -> frozenset[str]:
    return frozenset(_model_folders())


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
    _check_expansion(data, source)
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
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise InputError(
                    f"{source}: {section}.{key} must be a path or a block of paths, one a line"
                )
            for line in str(value).splitlines():
                line = line.strip()
                if not line:
                    continue
                path = Path(os.path.expandvars(os.path.expanduser(line)))
                if not path.is_absolute():
                    path = (base_path or yaml_dir) / path
                rows.append((canonical_folder(str(key)), Path(os.path.normpath(path)), is_default))
    return rows


def _check_expansion(data: object, source: str) -> None:
    """Refuse YAML whose aliases expand to more than ``YAML_MAX_NODES`` entries (or refer to
    themselves): the loader shares aliased nodes, but anything that walks them pays for
    every copy. Counted without expanding anything."""
    budget = [YAML_MAX_NODES]
    stack = [data]
    while stack:
        node = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise InputError(
                f"{source}: expands to more than {YAML_MAX_NODES:,} entries (YAML aliases); "
                "refused",
                hint="write each path out; anchors and merge keys are fine, nested aliases "
                "that multiply are not",
            )
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def load_model_paths(
    comfyui_root: Path | None,
    models_dir: Path | None = None,
    extra_configs: list[Path] | tuple[Path, ...] = (),
) -> ModelPaths:
    """Folder directories for a ComfyUI root (and/or explicit models dir) as ComfyUI sees them."""
    base_models = models_dir or (comfyui_root / "models" if comfyui_root else None)
    dirs: dict[str, list[Path]] = {}
    defaults: dict[str, Path] = {}
    if base_models is not None:
        for folder in _model_folders():
            dirs[folder] = [base_models / d for d in default_dirs(folder)]
    defaults: dict[str, int] = {}
    configs = list(extra_configs)
    if comfyui_root is not None and (comfyui_root / EXTRA_CONFIG_NAME).is_file():
        configs.insert(0, comfyui_root / EXTRA_CONFIG_NAME)
    for config in configs:
        try:
            with open(config, "rb") as fh:
                raw = fh.read(YAML_MAX_BYTES + 1)
            text = raw.decode("utf-8")
        except OSError as exc:
            raise InputError(f"{config}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise InputError(f"{config}: not UTF-8 text") from None
        if len(raw) > YAML_MAX_BYTES:
            raise InputError(
                f"{config}: larger than {YAML_MAX_BYTES // 1024} KiB; refused",
                hint="an extra_model_paths.yaml lists a few folders; is this the right file?",
            )
        for folder, path, is_default in parse_extra_model_paths(
            text, config.parent, source=str(config)
        ):
            current = dirs.setdefault(folder, [])
            if path in current:
                current.remove(path)
            if is_default:
                current.insert(0, path)
                defaults[folder] = defaults.get(folder, 0) + 1
            else:
                current.append(path)
    return ModelPaths(
        models_dir=base_models,
        dirs={k: tuple(v) for k, v in sorted(dirs.items())},
        comfyui_root=comfyui_root,
        yaml_defaults=defaults,
        read_from=tuple(configs),
    )


def known_folder(folder: str) -> bool:
    return canonical_folder(folder) in folder_names()
