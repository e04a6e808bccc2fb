"""`check --installed`: does this machine's tree match the lock? Reads only (the sync plan)."""

from __future__ import annotations

from ..settings import Settings

__all__ = ["installed_problems"]


def installed_problems(settings: Settings) -> list[str]:
    """One line per thing `sync` would still have to do (an empty list: installed)."""
    from .job import SyncOptions, prepare
    from .planview import plan_lines

    prepared = prepare(settings, SyncOptions(dry_run=True, nodes=settings.comfyui_root is not None))
    store, plan = prepared.store, prepared.plan
    store.close()
    if plan.is_empty:
        return []
    return [
        line.strip() for line in plan_lines(plan, base=str(settings.models_root())) if line.strip()
    ]
