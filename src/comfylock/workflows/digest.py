"""What a workflow contributes to a lock: its lockable references, its custom node classes,
and their digest (``[[workflow]] digest``), which changes only when what it needs changes.
Shared by resolution, staleness and ``why``; pure.
"""

from __future__ import annotations

from .refs import ModelRef, NodeUse, RepoRef, WorkflowInfo

__all__ = [
    "custom_classes",
    "inputs_digest",
    "lockable_refs",
    "workflow_digest",
]


def custom_classes(info: WorkflowInfo) -> list[NodeUse]:
    """One NodeUse per custom (non-core) class, the first occurrence carrying the hints."""
    out: dict[str, NodeUse] = {}
    for node in info.nodes:
        if not node.core:
            previous = out.get(node.class_type)
            if previous is None or (
                not previous.cnr_id and not previous.aux_id and (node.cnr_id or node.aux_id)
            ):
                out[node.class_type] = node
    return [out[k] for k in sorted(out)]


def lockable_refs(info: WorkflowInfo) -> list[ModelRef]:
    """References that belong in a lock: valid names (muted nodes included)."""
    return [r for r in info.models if not r.invalid]


def workflow_digest(info: WorkflowInfo) -> str:
    return inputs_digest(
        lockable_refs(info), [n.class_type for n in custom_classes(info)], info.repos
    )


def inputs_digest(
    refs: list[ModelRef] | tuple[ModelRef, ...],
    nodes: list[str] | tuple[str, ...] = (),
    repos: tuple[RepoRef, ...] = (),
) -> str:
    """Digest of a workflow's extracted references: changes only when what it needs changes.
    (Repo keys are added only when there are repos, so older digests stay valid.)"""
    import hashlib  # NOTE: here: OpenSSL's start-up is ~3 ms of every sync's, with no workflow

    keys = sorted({f"model\t{r.folder}\t{r.name}" for r in refs if not r.invalid})
    keys += sorted({f"node\t{n}" for n in nodes})
    keys += sorted(
        {f"repo\t{r.dir}\t{r.repo}" + (f"\t{','.join(r.allow)}" if r.allow else "") for r in repos}
    )
    return "sha256:" + hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()
