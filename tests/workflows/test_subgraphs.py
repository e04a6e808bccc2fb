"""workflows/subgraphs.py: the values a subgraph instance supplies to the nodes inside it."""

from __future__ import annotations

from comfylock.workflows.subgraphs import as_list, instance_values, subgraph_inputs

# A definition whose input "ckpt" feeds inner node 7's ckpt_name widget and whose input
# "model" feeds node 8's model socket (a link, not a widget).
DEFINITION = {
    "inputs": [
        {"name": "ckpt", "linkIds": [1]},
        {"name": "model", "linkIds": [2]},
    ],
    "links": [
        {"id": 1, "target_id": 7, "target_slot": 0},
        [2, -10, 1, 8, 0, "MODEL"],  # the list form: [id, origin, slot, target, slot, type]
    ],
    "nodes": [
        {"id": 7, "inputs": [{"name": "ckpt_name", "widget": {"name": "ckpt_name"}}]},
        {"id": 8, "inputs": [{"name": "model", "type": "MODEL"}]},
    ],
}


def test_subgraph_inputs_name_their_inner_targets_and_whether_they_feed_a_widget():
    assert subgraph_inputs(DEFINITION) == [
        ("ckpt", [("7", "ckpt_name")], True),
        ("model", [("8", "model")], False),
    ]
    assert subgraph_inputs({"inputs": "garbage", "links": None}) == []


def test_instance_values_follow_the_widget_feeding_inputs_in_order():
    node = {"widgets_values": ["sdxl.safetensors"]}
    assert instance_values(node, DEFINITION, {}) == {("7", "ckpt_name"): "sdxl.safetensors"}


def test_values_that_do_not_line_up_are_not_used():
    node = {"widgets_values": ["sdxl.safetensors", "extra"]}
    assert instance_values(node, DEFINITION, {}) == {}


def test_proxy_widgets_name_inner_widgets_directly_or_through_an_input():
    node = {
        "widgets_values": ["a.safetensors", "b.safetensors"],
        "properties": {"proxyWidgets": '[["-1", "ckpt"], ["9", "lora_name"]]'},
    }
    assert instance_values(node, DEFINITION, {}) == {
        ("7", "ckpt_name"): "a.safetensors",
        ("9", "lora_name"): "b.safetensors",
    }


def test_an_enclosing_instance_overrides_by_input_name():
    node = {"widgets_values": ["inner.safetensors"]}
    got = instance_values(node, DEFINITION, {"ckpt": "outer.safetensors"})
    assert got == {("7", "ckpt_name"): "outer.safetensors"}


def test_as_list_accepts_only_lists():
    assert as_list([1]) == [1]
    assert as_list({"a": 1}) == [] and as_list(None) == [] and as_list("ab") == []
