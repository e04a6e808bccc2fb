"""lock/usage.py: which workflow nodes use a model, a node class or a pack (``why``)."""

from __future__ import annotations

from comfylock.lock.structs import Lock, LockedNode
from comfylock.lock.usage import find_uses
from comfylock.workflows.refs import ModelRef, NodeUse, WorkflowInfo, WorkflowInput

WORKFLOWS = [
    WorkflowInput(
        "flows/a.json",
        WorkflowInfo(
            format="ui",
            models=(
                ModelRef(
                    folder="loras",
                    name="style/detail.safetensors",
                    node_id="4",
                    node_type="LoraLoader",
                    input="lora_name",
                ),
            ),
            nodes=(
                NodeUse(class_type="LoraLoader", node_id="4", core=True),
                NodeUse(class_type="IPAdapterApply", node_id="9", core=False, active=False),
            ),
        ),
    ),
    WorkflowInput(
        "flows/b.json",
        WorkflowInfo(
            format="api",
            nodes=(NodeUse(class_type="Other", node_id="2", core=False, cnr_id="other-pack"),),
        ),
    ),
]


def test_a_model_is_found_by_key_by_name_and_by_file_name():
    for query in (
        "loras/style/detail.safetensors",
        "style/detail.safetensors",
        "detail.safetensors",
        "\\loras\\style\\detail.safetensors",
    ):
        (use,) = find_uses(query, WORKFLOWS, None)
        assert use == {
            "workflow": "flows/a.json",
            "node_id": "4",
            "node_type": "LoraLoader",
            "input": "lora_name",
            "what": "loras/style/detail.safetensors",
            "active": True,
        }
    assert find_uses("other.safetensors", WORKFLOWS, None) == []


def test_a_node_class_or_its_packs_id_finds_its_nodes():
    (use,) = find_uses("IPAdapterApply", WORKFLOWS, None)
    assert (use["workflow"], use["node_id"], use["active"]) == ("flows/a.json", "9", False)
    assert use["what"] == "node class IPAdapterApply"
    (by_hint,) = find_uses("other-pack", WORKFLOWS, None)
    assert by_hint["node_type"] == "Other"


def test_a_locked_pack_finds_the_nodes_of_its_classes_by_id_repo_or_repo_name():
    pack = LockedNode(
        id="comfyui_ipadapter_plus",
        repo="https://github.com/cubiq/ComfyUI_IPAdapter_plus",
        commit="a" * 40,
        classes=("IPAdapterApply",),
    )
    lock = Lock(version=1, node=(pack,))
    for query in (pack.id, pack.repo, "ComfyUI_IPAdapter_plus"):
        assert [u["node_id"] for u in find_uses(query, WORKFLOWS, lock)] == ["9"]
    assert find_uses("comfyui_ipadapter_plus", WORKFLOWS, None) == []  # no lock: no packs
