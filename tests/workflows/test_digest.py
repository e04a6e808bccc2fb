"""workflows/digest.py: what a workflow contributes to a lock, and a digest that changes only
when what it needs changes."""

from __future__ import annotations

from comfylock.workflows.digest import (
    custom_classes,
    inputs_digest,
    lockable_refs,
    workflow_digest,
)
from comfylock.workflows.refs import ModelRef, NodeUse, RepoRef, WorkflowInfo


def _ref(folder: str, name: str, node_id: str = "1", **kw) -> ModelRef:
    return ModelRef(folder=folder, name=name, node_id=node_id, node_type="Loader", input="x", **kw)


def _node(class_type: str, node_id: str, core: bool = False, **kw) -> NodeUse:
    return NodeUse(class_type=class_type, node_id=node_id, core=core, **kw)


def test_custom_classes_skip_core_sort_and_keep_the_first_hinted_use():
    info = WorkflowInfo(
        format="ui",
        nodes=(
            _node("KSampler", "1", core=True),
            _node("Zeta", "2"),
            _node("Alpha", "3"),
            _node("Alpha", "4", cnr_id="alpha-pack"),
            _node("Alpha", "5", aux_id="someone/alpha"),
        ),
    )
    classes = custom_classes(info)
    assert [(n.class_type, n.node_id) for n in classes] == [("Alpha", "4"), ("Zeta", "2")]


def test_lockable_refs_drop_invalid_names_but_keep_muted_nodes():
    good = _ref("loras", "a.safetensors")
    muted = _ref("loras", "b.safetensors", active=False)
    bad = _ref("loras", "../etc/passwd", invalid="'..' in the name")
    info = WorkflowInfo(format="api", models=(good, bad, muted))
    assert lockable_refs(info) == [good, muted]


def test_the_digest_ignores_order_duplicates_nodes_ids_and_invalid_names():
    a, b = _ref("loras", "a.safetensors"), _ref("vae", "v.safetensors", node_id="7")
    first = inputs_digest([a, b], ["Zeta", "Alpha"])
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    again = inputs_digest([b, a, _ref("loras", "a.safetensors", node_id="9")], ["Alpha", "Zeta"])
    assert again == first
    assert inputs_digest([a, b, _ref("x", "..", invalid="bad")], ["Alpha", "Zeta"]) == first


def test_the_digest_changes_when_what_the_workflow_needs_changes():
    a = _ref("loras", "a.safetensors")
    base = inputs_digest([a], ["Alpha"])
    assert inputs_digest([a], ["Alpha", "Beta"]) != base
    assert inputs_digest([_ref("vae", "a.safetensors")], ["Alpha"]) != base
    repo = RepoRef(repo="o/r", dir="models/LLM/r", node_id="3", node_type="Dl", input="repo")
    assert inputs_digest([a], ["Alpha"], (repo,)) != base
    assert inputs_digest([a], ["Alpha"], ()) == base  # no repos: older digests stay valid


def test_workflow_digest_is_the_digest_of_its_lockable_refs_and_custom_classes():
    refs = (_ref("loras", "a.safetensors"), _ref("x", "/abs", invalid="absolute"))
    nodes = (_node("KSampler", "1", core=True), _node("Alpha", "2"))
    info = WorkflowInfo(format="ui", models=refs, nodes=nodes)
    assert workflow_digest(info) == inputs_digest([refs[0]], ["Alpha"])
