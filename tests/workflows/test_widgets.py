"""workflows/widgets.py: naming a node's widget values, from UI lists and API inputs."""

from __future__ import annotations

import json

from comfylock.workflows.widgets import (
    MAX_DEPTH,
    api_leaves,
    is_api,
    labelled_leaves,
    last_key,
    layout_names,
    leaves,
    prompt_inputs,
)


def test_is_api_needs_every_node_to_name_a_class_type():
    assert is_api({"1": {"class_type": "VAELoader", "inputs": {}}})
    assert not is_api({})
    assert not is_api({"1": {"class_type": "VAELoader"}, "version": 0.4})
    assert not is_api({"nodes": [], "links": []})
    assert not is_api([{"class_type": "VAELoader"}])


def test_leaves_name_nested_values_by_dotted_path():
    value = {"lora_1": {"on": True, "lora": "a.safetensors"}, "list": ["x", {"k": 2}]}
    assert list(leaves(value)) == [
        ("lora_1.on", True),
        ("lora_1.lora", "a.safetensors"),
        ("list[0]", "x"),
        ("list[1].k", 2),
    ]
    assert list(leaves("a.safetensors", "ckpt_name")) == [("ckpt_name", "a.safetensors")]


def test_leaves_stop_at_the_depth_limit():
    deep: object = "a.safetensors"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    assert list(leaves(deep)) == []


def test_last_key_is_the_widget_name_a_path_ends_in():
    assert last_key("ckpt_name") == "ckpt_name"
    assert last_key("lora_1.lora") == "lora"
    assert last_key("loras[2].name") == "name"
    assert last_key("widgets_values[3]") == "widgets_values"


def test_api_leaves_skip_links_and_flatten_nested_inputs():
    inputs = {
        "model": ["4", 0],  # a link to node 4's output, not a value
        "ckpt_name": "sdxl.safetensors",
        "loras": {"lora_1": {"lora": "a.safetensors"}},
        "list": ["x", "y"],
    }
    assert list(api_leaves(inputs)) == [
        ("ckpt_name", "sdxl.safetensors"),
        ("loras.lora_1.lora", "a.safetensors"),
        ("list.0", "x"),
        ("list.1", "y"),
    ]


def test_ui_values_are_labelled_by_the_nodes_inputs_then_the_table_order_then_position():
    node = {"inputs": [{"name": "x", "widget": {"name": "vae_name"}}]}
    assert list(labelled_leaves(node, ["v.safetensors"])) == [("vae_name", "v.safetensors")]
    assert list(labelled_leaves({}, ["a", 1.0], order=("lora_name", "strength"))) == [
        ("lora_name", "a"),
        ("strength", 1.0),
    ]
    # more values than the order (another version of the node): named in order, as the
    # frontend hands them to the widgets; the rest by position
    assert list(labelled_leaves({}, ["a", 1.0], order=("only_one",))) == [
        ("only_one", "a"),
        ("widgets_values[1]", 1.0),
    ]


def test_a_value_found_once_in_the_images_prompt_takes_that_inputs_name():
    known = {"ckpt_name": "sdxl.safetensors", "seed": 5, "a": "same", "b": "same"}
    got = list(labelled_leaves({}, ["sdxl.safetensors", 5, "same"], known=known))
    assert got == [
        ("ckpt_name", "sdxl.safetensors"),
        ("widgets_values[1]", 5),
        ("widgets_values[2]", "same"),
    ]


def test_prompt_inputs_of_an_images_api_prompt():
    prompt = {"3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a"}}}
    assert prompt_inputs(json.dumps(prompt)) == {
        "3": ("CheckpointLoaderSimple", {"ckpt_name": "a"})
    }
    assert prompt_inputs(None) == {} and prompt_inputs("") == {}
    assert prompt_inputs("{not json") == {}
    assert prompt_inputs(json.dumps({"nodes": []})) == {}


def test_widgets_of_unknown_kind_are_widgets_or_links_as_the_count_says():
    order = ("seed", "", "?sampler_name", "ckpt_name", "steps")
    got = layout_names(order, [1, "fixed", "euler", "m.safetensors", 20])
    assert got == ["seed", "", "sampler_name", "ckpt_name", "steps"]
    # one value fewer: the input static reading could not type was a link
    assert layout_names(order, [1, "fixed", "m.safetensors", 20]) == [
        "seed",
        "",
        "ckpt_name",
        "steps",
    ]
    # any other count: only the values before the first uncertain input are named
    assert layout_names(order, [1, "fixed", 3, 4, 5, 6, 7]) == ["seed", ""]


def test_a_gap_of_unnamed_widgets_names_only_the_values_before_it():
    order = ("refiner_model", "refiner_vae", "strength", "*")
    got = layout_names(order, ["a.safetensors", "v.safetensors", 1.0] + [True] * 37)
    assert got == ["refiner_model", "refiner_vae", "strength"]
    assert layout_names(order, ["a", "b"]) == ["refiner_model", "refiner_vae"]  # fewer


def test_a_node_of_another_version_is_named_in_order_up_to_the_first_value_that_does_not_fit():
    # the frontend gives saved values to the widgets in order, whatever their count
    assert layout_names(("a", "b"), [1, 2]) == ["a", "b"]
    assert layout_names(("a", "b"), [1, 2, 3]) == ["a", "b"]
    assert layout_names(("a", "b", "c"), ["m.pt"]) == ["a"]
    # where a value stops fitting its position's kind, this node's layout departs from the
    # code's: nothing from there on is named (a toggle is never a choice; a seed's control
    # value is a word)
    assert layout_names(("ckpt", "on", "lora"), ["m.pt", 0.5, "l.pt"], "cbc") == ["ckpt"]
    assert layout_names(("a", "b"), [True, "m.pt"], "cc") == []
    order, kinds = ("ckpt", "seed", "", "steps"), "cikl"
    assert layout_names(order, ["m.pt", 5, 30, 20], kinds) == ["ckpt", "seed"]


def test_values_that_do_not_fit_the_kinds_of_the_layout_are_another_version():
    # the code's layout: a boolean, a float, then the model file; a node saved by an older
    # version holds a float where the boolean is: the same count, another layout
    order, kinds = ("enabled", "strength", "model"), "bfc"
    assert layout_names(order, [True, 0.5, "m.pt"], kinds) == ["enabled", "strength", "model"]
    assert layout_names(order, [0.5, "m.pt", "x"], kinds) == []
    assert layout_names(order, [None, 1, "m.pt"], kinds) == ["enabled", "strength", "model"]
    labelled = list(labelled_leaves({}, ["m.safetensors", 2, 3], order=("ckpt", "?x", "*")))
    assert labelled == [
        ("ckpt", "m.safetensors"),
        ("widgets_values[1]", 2),
        ("widgets_values[2]", 3),
    ]
