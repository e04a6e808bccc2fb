"""Input files as references (SPEC §10): the core nodes that read ComfyUI's input/ folder, as
the facts table names them, give references of folder ``input``; files ComfyUI wrote
(``[output]``, ``[temp]``) never do; custom nodes count when the knowledge table marks the
input so."""

from __future__ import annotations

import pytest

from comfylock.workflows import tables
from comfylock.workflows.reader import parse_obj


def _node(node_id, node_type, values, **extra):
    return {"id": node_id, "type": node_type, "mode": 0, "widgets_values": values, **extra}


def _keys(info):
    return sorted(r.key for r in info.models)


@pytest.mark.parametrize(
    "node_type, input_name",
    [
        ("LoadImage", "image"),
        ("LoadImageMask", "image"),
        ("LoadAudio", "audio"),
        ("LoadVideo", "file"),
        ("LoadLatent", "latent"),
        ("Load3D", "model_file"),
    ],
)
def test_the_facts_table_names_the_core_input_loaders(node_type, input_name):
    spec = tables.loader_inputs(node_type)[input_name]
    assert (spec.folder, spec.widget_index) == ("input", 0)


def test_output_and_save_nodes_read_no_input_file():
    for node_type in ("SaveImage", "PreviewImage", "SaveAnimatedWEBP", "KSampler"):
        assert all(s.folder != "input" for s in tables.loader_inputs(node_type).values())


def test_ui_load_nodes_give_input_references():
    info = parse_obj(
        {
            "nodes": [
                _node(1, "LoadImage", ["portrait.png", "image"]),
                _node(2, "LoadImageMask", ["masks/face.png", "alpha", "image"]),
                _node(3, "LoadAudio", ["voice.wav", None, None]),
                _node(4, "LoadVideo", ["clips/walk.mp4", "image"]),
                _node(5, "SaveImage", ["ComfyUI"]),
            ]
        }
    )
    assert _keys(info) == [
        "input/clips/walk.mp4",
        "input/masks/face.png",
        "input/portrait.png",
        "input/voice.wav",
    ]
    ref = next(r for r in info.models if r.name == "portrait.png")
    assert (ref.node_id, ref.node_type, ref.input) == ("1", "LoadImage", "image")


def test_api_load_image_gives_an_input_reference():
    info = parse_obj({"7": {"class_type": "LoadImage", "inputs": {"image": "cat.jpg"}}})
    assert _keys(info) == ["input/cat.jpg"]


def test_outputs_are_never_locked_and_the_input_annotation_is_dropped():
    info = parse_obj(
        {
            "nodes": [
                _node(1, "LoadImage", ["ComfyUI_00001_.png [output]", "image"]),
                _node(2, "LoadImage", ["preview_x.png [temp]", "image"]),
                _node(3, "LoadImage", ["clipspace/clipspace-mask-1.png [input]", "image"]),
            ]
        }
    )
    assert _keys(info) == ["input/clipspace/clipspace-mask-1.png"]


def test_a_linked_image_widget_is_not_a_reference():
    """A LoadImage whose file name comes through a link: the saved value is not what runs."""
    linked = {"name": "image", "type": "COMBO", "link": 9, "widget": {"name": "image"}}
    info = parse_obj({"nodes": [_node(1, "LoadImage", ["stale.png", "image"], inputs=[linked])]})
    assert _keys(info) == []


def test_unsafe_input_names_are_invalid_never_joined():
    info = parse_obj({"nodes": [_node(1, "LoadImage", ["../../etc/passwd", "image"])]})
    (ref,) = info.models
    assert ref.folder == "input" and ref.invalid


def test_custom_node_input_the_knowledge_table_marks(node_table):
    node_table(
        {
            "packs": {"demo-pack": {"repo": "https://example.invalid/demo", "commit": ""}},
            "classes": {
                "DemoLoadClip": {
                    "pack": "demo-pack",
                    "inputs": {"video": "input", "ckpt": "checkpoints"},
                    "widgets": ["video", "ckpt"],
                }
            },
        }
    )
    info = parse_obj({"nodes": [_node(1, "DemoLoadClip", ["walk.mp4", "model.safetensors"])]})
    assert _keys(info) == ["checkpoints/model.safetensors", "input/walk.mp4"]


def test_the_generator_reads_input_loaders_from_a_scan():
    """tools/gen_tables.py turns the scanner's input/ listings into the table's rows."""
    from tools.gen_tables import input_loaders

    classes = {
        "LoadThing": {"inputs": {"file": "input"}, "widgets": ["mode", "file"]},
        "LoadModel": {"inputs": {"ckpt": "checkpoints"}},
        "Odd": {"inputs": {"x": "input"}},
    }
    assert input_loaders(classes) == {
        "LoadThing": {"file": {"folder": "input", "widget_index": 1}},
        "Odd": {"x": {"folder": "input", "widget_index": None}},
    }
