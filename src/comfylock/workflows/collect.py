"""Which workflows belong to a project, read into ``WorkflowInput`` values.

Default set (SPEC §2): the paths given, else the globs of ``comfylock.toml``
``workflows``, else every workflow under the lock's directory (not in installed node packs,
other tools' folders, or a ComfyUI root's models, outputs and inputs: ``discover``). Paths in the lock are
relative to the lock's directory with ``/`` separators, so a lock is the same on any machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import Config
from ..errors import NoWorkflowsError, UnsafePathError
from .discover import WorkflowCache, iter_workflow_files, read_files, read_workflows
from .refs import WorkflowInput

__all__ = ["collect_workflows", "lock_relative", "project_workflow_files"]


def lock_relative(path: Path, project_dir: Path) -> str:
    return Path(os.path.relpath(path.absolute(), project_dir)).as_posix()


def project_workflow_files(project_dir: Path, config: Config) -> list[Path]:
    if config.workflows:
        files: set[Path] = set()
        for pattern in config.workflows:
            files.update(p for p in project_dir.glob(pattern) if p.is_file())
        return sorted(files)
    return iter_workflow_files(project_dir, project=True)


def collect_workflows(
    paths: tuple[str, ...] | list[str],
    project_dir: Path,
    config: Config,
    *,
    strict_names: bool = True,
    cache_dir: Path | None = None,
) -> tuple[list[WorkflowInput], list]:
    """Read the project's workflows. Returns (inputs, skipped). Unsafe names are exit 2.
    With ``cache_dir``, unchanged files are not parsed again (see WorkflowCache)."""
    cache = WorkflowCache(cache_dir / "workflows.msgpack") if cache_dir else None
    if paths:
        result = read_workflows(list(paths), cache)
    else:
        files = project_workflow_files(project_dir, config)
        if not files and config.sources:
            return [], []  # a project of hand pins only (`comfylock add`)
        if not files:
            raise NoWorkflowsError(
                f"no workflows found under {project_dir}",
                hint="pass workflow paths (`comfylock resolve workflows/`), or list them in "
                "comfylock.toml `workflows = [...]`",
            )
        result = read_files(files, cache)
        if not result.workflows and not result.errors and not config.sources:
            raise NoWorkflowsError(
                f"no workflows found under {project_dir} ({len(files)} files looked at, "
                "none is a ComfyUI workflow; `comfylock inspect DIR` says why)",
                hint="pass workflow paths (`comfylock resolve workflows/`), or list them in "
                "comfylock.toml `workflows = [...]`",
            )
    if result.errors:
        raise result.errors[0]
    base = os.path.abspath(project_dir)
    inputs = [
        WorkflowInput(os.path.relpath(os.path.abspath(w.path), base).replace(os.sep, "/"), w.info)
        for w in result.workflows
    ]
    if strict_names:
        for wf in inputs:
            bad = next((r for r in wf.info.models if r.invalid), None)
            if bad is not None:
                raise UnsafePathError(
                    f"{wf.path}: node {bad.node_id} ({bad.node_type}) names {bad.name!r}: {bad.invalid}",
                    hint="fix the workflow; comfylock never joins such a name to a path",
                )
    return sorted(inputs, key=lambda w: w.path), list(result.skipped)
