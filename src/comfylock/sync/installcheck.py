"""`check --installed`: does this machine's tree match the lock? Reads only (the sync plan)."""

from __future__ import annotations

from ..project.loading import Project
from .plan import SyncPlan

__all__ = ["installed_plan"]


def installed_plan(project: Project) -> SyncPlan:
    """What `sync` would still have to do here (an empty plan: installed as locked)."""
    from .job import SyncOptions, prepare

    nodes = project.settings.comfyui_root is not None
    prepared = prepare(project, SyncOptions(dry_run=True, nodes=nodes))
    prepared.store.close()
    return prepared.plan
