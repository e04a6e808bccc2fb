"""Where a file a node lists from several folders at once belongs: in the one of them that
holds it on the resolving machine. Pure but for ``sources``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..workflows.digest import lockable_refs

if TYPE_CHECKING:
    from ..workflows.refs import WorkflowInput
    from .core import Sources

__all__ = ["placed_here"]


def placed_here(workflows: list[WorkflowInput], sources: Sources) -> dict:
    """``(folders, name) -> folder`` for each file a node lists from several folders that
    exactly one of them holds on this machine (``DiffusionModelSelector`` listing
    diffusion_models and text_encoders): that copy is the one the workflow runs with."""
    placed: dict = {}
    for wf in workflows:
        for ref in lockable_refs(wf.info):
            key = (ref.folders, ref.name)
            if ref.folder is None and ref.folders and key not in placed:
                held = sources.local_folders(ref.folders, ref.name)
                placed[key] = held[0] if len(held) == 1 else None
    return {k: v for k, v in placed.items() if v is not None}
