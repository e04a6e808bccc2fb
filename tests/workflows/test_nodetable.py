"""Custom nodes' folders come from the knowledge table first (issue 10, SPEC §4).

The table here is the small fixture table (``fixtures/nodetable/custom_nodes.json``, facts
read from the packs' code): ELLA's loader reads ``ella``, XLabs' ControlNet loader reads
``xlabs_controlnets``. Before the table was read, the reader guessed ``text_encoders`` for
ELLA (a ``t5`` in the file name) and ``vae`` for a checkpoint named ``…BakedVAE…``.
"""

from __future__ import annotations

import json

import pytest

from comfylock.workflows.reader import parse

ELLA_FILE = "ella-sd1.5-tsc-t5xl.safetensors"


@pytest.fixture(autouse=True)
def _table(node_table):
    """Every test here reads with the fixture table."""


def _ui(*nodes) -> bytes:
    return json.dumps({"nodes": list(nodes), "links": [], "version": 0.4}).encode()


def _node(nid, ntype, widgets, **extra) -> dict:
    return {"id": nid, "type": ntype, "mode": 0, "widgets_values": widgets, **extra}


def _api(**nodes) -> bytes:
    return json.dumps(
        {nid: {"class_type": c, "inputs": inputs} for nid, (c, inputs) in nodes.items()}
    ).encode()


def _only(info):
    assert len(info.models) == 1, info.models
    return info.models[0]


def test_table_folder_is_the_same_in_ui_and_api_formats():
    ui = parse(_ui(_node(1, "ELLALoader", [ELLA_FILE])))
    api = parse(_api(**{"1": ("ELLALoader", {"name": ELLA_FILE})}))
    named_ui = parse(
        _ui(
            _node(
                1, "ELLALoader", [ELLA_FILE], inputs=[{"name": "name", "widget": {"name": "name"}}]
            )
        )
    )
    for info in (ui, api, named_ui):
        ref = _only(info)
        assert (ref.folder, ref.name, ref.inferred) == ("ella", ELLA_FILE, False)


def test_widget_order_from_the_table_maps_ui_positions():
    values = ["flux-dev", "flux-dev-canny-controlnet-v3.safetensors"]
    ui = parse(_ui(_node(7, "LoadFluxControlNet", values)))
    api = parse(
        _api(
            **{
                "7": (
                    "LoadFluxControlNet",
                    {"model_name": "flux-dev", "controlnet_path": values[1]},
                )
            }
        )
    )
    for info in (ui, api):
        ref = _only(info)
        assert (ref.folder, ref.input) == ("xlabs_controlnets", "controlnet_path")


def test_declared_directory_beats_the_table():
    entry = {"name": ELLA_FILE, "directory": "ella_custom"}
    info = parse(_ui(_node(1, "ELLALoader", [ELLA_FILE], properties={"models": [entry]})))
    ref = _only(info)
    assert ref.folder == "ella_custom" and not ref.inferred and ref.reason is None


def test_unknown_custom_node_says_cannot_tell_instead_of_guessing():
    baked = "SDXL/juggernautXL_v9BakedVAE.safetensors"
    tile = "control_v11f1e_sd15_tile.pth"
    info = parse(_ui(_node(3, "MysteryLoader", [baked, tile, "4x"])))
    assert sorted(r.name for r in info.models) == [baked, tile]
    for ref in info.models:
        assert ref.folder is None
        assert ref.reason == "cannot tell: unknown custom node MysteryLoader"
    assert any("belongs in (unknown custom node MysteryLoader)" in p for p in info.problems)
    api = parse(_api(**{"3": ("MysteryLoader", {"model": baked})}))
    assert _only(api).folder is None


def test_known_class_input_the_table_does_not_list_is_not_guessed():
    info = parse(_api(**{"1": ("ELLALoader", {"name": ELLA_FILE, "extra_file": "other.pth"})}))
    by_input = {r.input: r for r in info.models}
    assert by_input["name"].folder == "ella"
    assert by_input["extra_file"].folder is None
    assert (
        by_input["extra_file"].reason == "cannot tell: ELLALoader.extra_file reads no model folder"
    )


def test_core_loader_widget_names_on_unknown_nodes_are_inferred():
    info = parse(_api(**{"1": ("Efficient Loader", {"ckpt_name": "SDXL/x_BakedVAE.safetensors"})}))
    ref = _only(info)
    assert (ref.folder, ref.inferred) == ("checkpoints", True)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (
            "https://civitai.com/api/download/models/142421?type=Model&format=SafeTensor",
            "civitai-142421",
        ),
        (
            "https://huggingface.co/owner/repo/resolve/main/sub/My%20Lora.safetensors?download=true",
            "My Lora.safetensors",
        ),
    ],
)
def test_url_values_are_sources_not_paths(url, name):
    ui = parse(_ui(_node(4, "LoraLoaderFromURL", [url, 1.0, 1.0])))
    api = parse(_api(**{"4": ("LoraLoaderFromURL", {"url": url, "strength_model": 1.0})}))
    core = parse(_api(**{"5": ("LoraLoader", {"lora_name": url, "strength_model": 1.0})}))
    for info in (ui, api, core):
        ref = _only(info)
        assert ref.url == url and ref.name == name
        assert "https:" not in ref.name and "/" not in ref.name
    assert _only(core).folder == "loras"


def test_inspect_names_packs_offline(run_cli, tmp_path):
    wf = tmp_path / "wf.json"
    wf.write_bytes(
        _ui(
            _node(1, "ELLALoader", [ELLA_FILE]),
            _node(2, "Image Resize", [512]),
            _node(3, "VHS_VideoCombine", {"frame_rate": 8}, properties={"cnr_id": "vhs-own"}),
            _node(4, "NobodyKnowsMe", [1]),
        )
    )
    text = run_cli("inspect", str(wf))
    assert text.exit_code == 0, text
    lines = {line.split()[0]: line for line in text.stdout.splitlines() if line.startswith("    ")}
    assert lines["ELLALoader"].split(None, 1)[1] == "pack: comfyui-ella"
    assert "ambiguous: comfyui-nodes-a | comfyui-nodes-b" in text.stdout
    assert lines["VHS_VideoCombine"].endswith("pack: vhs-own")  # the node's own hint first
    assert lines["NobodyKnowsMe"].strip() == "NobodyKnowsMe"
    data = json.loads(run_cli("inspect", "--json", str(wf)).stdout)
    packs = {n["class_type"]: n.get("packs") for n in data["workflows"][0]["nodes"]}
    assert packs == {
        "ELLALoader": ["comfyui-ella"],
        "Image Resize": ["comfyui-nodes-a", "comfyui-nodes-b"],
        "VHS_VideoCombine": ["comfyui-videohelpersuite"],
        "NobodyKnowsMe": None,
    }


def test_hub_repo_and_file_widgets_are_a_url_source():
    inputs = {"repo_id": "owner/loras", "subfolder": "v2", "filename": "style.safetensors"}
    info = parse(_api(**{"9": ("HFHubLoraLoader", {**inputs, "strength_model": 1.0})}))
    ref = _only(info)
    assert ref.name == "style.safetensors"
    assert ref.url == "https://huggingface.co/owner/loras/resolve/main/v2/style.safetensors"


def _png(**texts: str) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    text = b"".join(chunk(b"tEXt", k.encode() + b"\0" + v.encode()) for k, v in texts.items())
    pixels = chunk(b"IDAT", zlib.compress(b"\0\0"))
    return b"\x89PNG\r\n\x1a\n" + header + text + pixels + chunk(b"IEND", b"")


def test_a_ui_node_without_widget_names_is_read_by_the_images_prompt():
    """Two model inputs of different folders, no widget names in the UI graph, no widget
    order in the table: the API prompt the same image carries names each value."""
    values = ["gemma-3-12b/model-00001-of-00005.safetensors", "ltx-2-19b-distilled.safetensors"]
    ui = _ui(_node(5, "LTXVGemmaCLIPModelLoader", [*values, 1024])).decode()
    alone = parse(ui.encode())
    assert {r.folder for r in alone.models} == {None}  # cannot tell which is which
    prompt = json.dumps(
        {
            "5": {
                "class_type": "LTXVGemmaCLIPModelLoader",
                "inputs": {"gemma_path": values[0], "ltxv_path": values[1], "max_length": 1024},
            }
        }
    )
    info = parse(_png(workflow=ui, prompt=prompt))
    assert sorted((r.input, r.folder) for r in info.models) == [
        ("gemma_path", "text_encoders"),
        ("ltxv_path", "checkpoints"),
    ]


def test_the_generated_shape_is_read_as_it_comes(node_table):
    """The generator writes ambiguous classes as ``packs``, inputs listing several folders as
    lists, and every class a pack provides in its ``nodes``: none of it is a guess."""
    node_table(
        {
            "packs": {
                "wan": {"repo": "https://github.com/o/wan", "nodes": ["WanLoader", "WanSampler"]},
                "a": {"repo": "https://github.com/o/a", "nodes": ["Twin"]},
                "b": {"repo": "https://github.com/o/b", "nodes": ["Twin"]},
            },
            "classes": {
                "WanLoader": {
                    "pack": "wan",
                    "inputs": {"model": ["diffusion_models", "unet_gguf"]},
                },
                "Twin": {"packs": ["a", "b"]},
            },
        }
    )
    info = parse(
        _ui(_node(1, "WanLoader", ["w.gguf"]), _node(2, "WanSampler", [1]), _node(3, "Twin", []))
    )
    ref = _only(info)
    assert (
        ref.folder is None
        and ref.reason == "cannot tell: the file does not name WanLoader's widget 0"
    )
    api = _only(parse(_api(**{"1": ("WanLoader", {"model": "w.gguf"})})))
    assert api.folder is None
    assert api.reason == "cannot tell: WanLoader.model lists files of diffusion_models, unet_gguf"
    packs = {n.class_type: n.packs for n in info.nodes}
    assert packs == {"WanLoader": ("wan",), "WanSampler": ("wan",), "Twin": ("a", "b")}


def test_classes_the_table_did_not_read_are_named_by_the_shipped_class_map(
    run_cli, tmp_path, monkeypatch
):
    from comfylock.workflows import nodetable

    small = nodetable._NodeMap(
        packs=[("someone/comfyui-extras", "https://github.com/someone/comfyui-extras")],
        classes={"ExtraResize": 0},
        patterns=[("^Extra", 0)],
    )
    monkeypatch.setattr(nodetable, "_node_map", lambda: small)
    wf = tmp_path / "wf.json"
    wf.write_bytes(
        _ui(_node(1, "ExtraResize", [1]), _node(2, "ExtraBlur", [2]), _node(3, "ELLALoader", []))
    )
    text = run_cli("inspect", str(wf)).stdout
    assert "ExtraResize  pack: someone/comfyui-extras (class map)" in text
    assert "ExtraBlur    pack: someone/comfyui-extras (class map)" in text  # by name pattern
    data = json.loads(run_cli("inspect", "--json", str(wf)).stdout)
    via = {
        n["class_type"]: (n.get("packs"), n.get("packs_via")) for n in data["workflows"][0]["nodes"]
    }
    assert via["ExtraResize"] == (["someone/comfyui-extras"], "map")
    assert via["ELLALoader"] == (["comfyui-ella"], "table")


def test_a_class_whose_code_is_beyond_reading_says_so_not_unknown(node_table):
    node_table(
        {
            "generator": {"scanner-version": 5},
            "packs": {
                "big-pack": {"repo": "https://github.com/example/BigPack", "nodes": ["Huge"]}
            },
            "classes": {"Huge": {"pack": "big-pack", "dynamic": ["*"]}},
        }
    )
    info = parse(_ui(_node(3, "Huge", ["weights.safetensors"])))
    assert _only(info).reason == (
        "cannot tell: Huge's code (big-pack) is more than static reading follows"
    )
