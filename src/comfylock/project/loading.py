"""The project a command works on, read once: settings → config → lock → workflows.

Every command builds one ``Project`` from its ``Settings`` and hands it to the stage it calls;
each piece is loaded on first use and kept, so one run parses ``comfylock.toml`` once, reads
the lock once, finds the model directories once and reads the workflows once, however many
stages ask. Loading is lazy because most commands need only some pieces (a no-op ``sync`` of a
hand-written lock never reads a workflow), and imports are deferred for the same reason.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Config
    from ..lock.structs import Lock
    from ..machine.modelpaths import ModelPaths
    from ..workflows.refs import WorkflowInput

__all__ = ["Project"]


class Project:
    """One project, as the settings locate it; each part loaded once, when first asked for."""

    def __init__(self, settings: Settings, *, config: Config | None = None) -> None:
        self.settings = settings
        if config is not None:  # NOTE: `add` resolves with a pin not yet written to the file
            self.__dict__["config"] = config
        self._workflows: dict[tuple, tuple[list[WorkflowInput], list]] = {}

    @property
    def dir(self) -> Path:
        """The lock's directory: every path in the lock is relative to it."""
        return self.settings.project_dir

    @property
    def lock_path(self) -> Path:
        return self.settings.lock_path

    @cached_property
    def config(self) -> Config:
        """``comfylock.toml`` (an empty config when there is none)."""
        from ..config import load_config

        return load_config(self.dir)

    @property
    def allow_http(self) -> tuple[str, ...]:
        return self.config.allow_http

    @cached_property
    def lock(self) -> Lock:
        """The lock, from its fast copy when unchanged; a missing lock is the usual error."""
        from ..lock.fastcopy import load_lock_cached

        return load_lock_cached(self.settings.lock_path, self.settings.cache_dir)

    def lock_if_present(self) -> Lock | None:
        return self.lock if self.settings.lock_path.exists() else None

    def workflows(self, paths=(), *, strict_names: bool = True) -> list[WorkflowInput]:
        """The workflows at ``paths``, by default the project's (``comfylock.toml`` globs, else
        every workflow beside the lock); each set read once. Unsafe names are exit 2 unless
        not ``strict_names``."""
        return self._read(tuple(paths), strict_names)[0]

    def skipped(self, paths=()) -> list:
        """Files looked at that hold no workflow."""
        return self._read(tuple(paths), True)[1]

    def _read(self, paths: tuple, strict_names: bool) -> tuple[list[WorkflowInput], list]:
        key = (paths, strict_names)
        if key not in self._workflows:
            from ..workflows import nodeknowledge
            from ..workflows.collect import collect_workflows

            with nodeknowledge.pinned(self.knowledge):
                self._workflows[key] = collect_workflows(
                    paths,
                    self.dir,
                    self.config,
                    strict_names=strict_names,
                    cache_dir=self.settings.cache_dir,
                )
        return self._workflows[key]

    @cached_property
    def knowledge(self):
        """Custom-node facts beyond the shipped table, for reading workflows: those the lock
        recorded (``[[class]]``), then what the packs installed in the ComfyUI root say (read
        from their code, cached), then, for a class several packs provide with code that
        disagrees, the facts of the pack a ``[nodes]`` pin names; None when the table alone
        answers."""
        from ..errors import LockfileError
        from ..lock.knowledge import recorded
        from ..workflows.nodeknowledge import combine
        from ..workflows.nodetable import chosen_variants

        lock = None
        if self.settings.lock_path.is_file():
            try:
                lock = self.lock
            except LockfileError:
                lock = None  # reported where the lock itself is needed
        installed = None
        root = self.settings.comfyui_root
        if root is not None and (root / "custom_nodes").is_dir():
            from ..machine.packfacts import installed_knowledge

            installed = installed_knowledge(root, self.settings.cache_dir)
        return combine(recorded(lock), installed, chosen_variants(self.config.nodes))

    @cached_property
    def model_paths(self) -> ModelPaths:
        """Where each model folder lives (ComfyUI's defaults, ``extra_model_paths.yaml``)."""
        from ..machine.modelpaths import load_model_paths

        return load_model_paths(self.settings.comfyui_root, self.settings.models_dir)

    def staleness(self) -> tuple[str, str]:
        """("fresh" | "stale" | "unknown", message) of the lock against its workflows."""
        from ..lock.staleness import lock_staleness

        return lock_staleness(self.lock, self.workflows)

    @cached_property
    def remote_specs(self) -> tuple:
        """The team remotes in use (``COMFYLOCK_REMOTE`` first, then ``[[remote]]``)."""
        import os

        from ..remotes import remote_specs

        return remote_specs(self.config.remote, os.environ, self.allow_http)
