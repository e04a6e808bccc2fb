"""render/references.py: how ``inspect`` names a node's pack."""

from __future__ import annotations

from comfylock.render.references import inspect_text
from comfylock.workflows.refs import NodeUse, WorkflowInfo


def _node(class_type: str, node_id: str, *packs: str, cnr_id: str | None = None) -> NodeUse:
    return NodeUse(class_type=class_type, node_id=node_id, core=False, packs=packs, cnr_id=cnr_id)


def _custom_lines(info: WorkflowInfo) -> dict[str, str]:
    text = inspect_text([("w.json", info)], [], [])
    rows = text.split("  custom nodes:\n", 1)[1].splitlines()
    return {row.split()[0]: row.split(None, 1)[1] for row in rows if row.startswith("    ")}


def test_an_ambiguous_class_names_the_claimant_the_workflow_needs_anyway():
    info = WorkflowInfo(
        format="api",
        nodes=(
            _node("ImageResizeKJ", "1", "kjnodes", "fork"),
            _node("OnlyKJ", "2", "kjnodes"),
            _node("Shared", "3", "fork", "other"),
            _node("Named", "4", cnr_id="named-pack"),
        ),
    )
    lines = _custom_lines(info)
    assert lines["ImageResizeKJ"] == "ambiguous: kjnodes | fork; kjnodes is needed here anyway"
    assert lines["Shared"] == "ambiguous: fork | other"  # no claimant needed: the user chooses
    assert lines["OnlyKJ"] == "pack: kjnodes" and lines["Named"] == "pack: named-pack"
