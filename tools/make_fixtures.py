#!/usr/bin/env python3
"""Write fixtures/workflows/: small workflows, written by us, covering every format and trap
the reader must handle (SPEC §1, ../shared/comfyui/README.md §8). Deterministic: running it
again produces identical files. The expected references of each file are in
fixtures/workflows/EXPECTED.json, which the tests compare against.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "workflows"
HF = "https://huggingface.co"
SG_OUTER = "a1b2c3d4-0000-4000-8000-000000000001"
SG_INNER = "a1b2c3d4-0000-4000-8000-000000000002"

EXPECTED: dict[str, dict] = {}


def node(nid, ntype, widgets=None, *, mode=0, props=None, inputs=None):
    n = {
        "id": nid,
        "type": ntype,
        "pos": [0, 0],
        "size": [200, 100],
        "flags": {},
        "order": 0,
        "mode": mode,
        "properties": {"Node name for S&R": ntype, **(props or {})},
    }
    if widgets is not None:
        n["widgets_values"] = widgets
    if inputs is not None:
        n["inputs"] = inputs
    return n


def ui04(nodes, **extra):
    return {
        "last_node_id": 99,
        "last_link_id": 0,
        "nodes": nodes,
        "links": [],
        "groups": [],
        "config": {},
        "extra": extra.pop("extra", {"ds": {"scale": 1, "offset": [0, 0]}}),
        "version": 0.4,
        **extra,
    }


def expect(name, models, nodes=(), invalid=(), inactive=()):
    EXPECTED[name] = {
        "models": sorted(models),
        "custom_nodes": sorted(nodes),
        "invalid": sorted(invalid),
        "inactive": sorted(inactive),
    }


def sdxl_basic():
    return ui04(
        [
            node(4, "CheckpointLoaderSimple", ["sd_xl_base_1.0.safetensors"]),
            node(
                6,
                "CLIPTextEncode",
                ["a photo of a cat, embedding:EasyNegative, (embedding:bad_hands.pt:1.2)"],
            ),
            node(10, "LoraLoader", ["SDXL\\detail_tweaker.safetensors", 1.0, 1.0]),
            node(11, "VAELoader", ["pixel_space"]),
            node(12, "VAELoader", ["sdxl_vae.safetensors"], mode=4),
            node(13, "UpscaleModelLoader", ["4x-UltraSharp.pth"], mode=2),
            node(14, "Note", ["Download model.safetensors and put it in loras/ — not a reference"]),
            node(15, "MarkdownNote", ["embedding:NotReal in a note"]),
            node(16, "ControlNetLoader", ["None"]),
            node(17, "KSampler", [123, "randomize", 20, 7.0, "euler", "normal", 1.0]),
            node(18, "CheckpointLoader", ["v1-inference.yaml", "sd15/v1-5-pruned.ckpt"]),
        ]
    )


def traps_unsafe():
    return ui04(
        [
            node(1, "CheckpointLoaderSimple", ["../../etc/passwd"]),
            node(2, "LoraLoader", ["/abs/lora.safetensors", 1.0, 1.0]),
            node(3, "VAELoader", ["C:\\models\\vae.safetensors"]),
            node(4, "CheckpointLoaderSimple", ["ok.safetensors"]),
        ]
    )


def ui_v1_subgraphs():
    inner_def = {
        "id": SG_INNER,
        "version": 1,
        "name": "lora stack",
        "revision": 0,
        "state": {"lastGroupId": 0, "lastNodeId": 3, "lastLinkId": 2, "lastRerouteId": 0},
        "inputNode": {"id": -10, "bounding": [0, 0, 10, 10]},
        "outputNode": {"id": -20, "bounding": [0, 0, 10, 10]},
        "inputs": [{"id": "in-lora", "name": "lora_name", "type": "COMBO", "linkIds": [2]}],
        "outputs": [],
        "widgets": [],
        "nodes": [
            node(
                1,
                "LoraLoaderModelOnly",
                ["stale_inner_default.safetensors", 0.8],
                inputs=[
                    {"name": "model", "type": "MODEL", "link": None},
                    {
                        "name": "lora_name",
                        "type": "COMBO",
                        "link": 2,
                        "widget": {"name": "lora_name"},
                    },
                ],
            ),
            node(
                2,
                "CLIPVisionLoader",
                ["clip_vision_h.safetensors"],
                props={
                    "models": [
                        {
                            "name": "clip_vision_h.safetensors",
                            "directory": "clip_vision",
                            "url": f"{HF}/Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files/clip_vision/clip_vision_h.safetensors?download=true",
                        }
                    ]
                },
            ),
        ],
        "links": [
            {
                "id": 2,
                "origin_id": -10,
                "origin_slot": 0,
                "target_id": 1,
                "target_slot": 1,
                "type": "COMBO",
            }
        ],
    }
    outer_def = {
        "id": SG_OUTER,
        "version": 1,
        "name": "loader block",
        "revision": 0,
        "state": {"lastGroupId": 0, "lastNodeId": 9, "lastLinkId": 0, "lastRerouteId": 0},
        "inputNode": {"id": -10, "bounding": [0, 0, 10, 10]},
        "outputNode": {"id": -20, "bounding": [0, 0, 10, 10]},
        "inputs": [],
        "outputs": [],
        "widgets": [],
        "nodes": [
            node(
                5,
                "UNETLoader",
                ["wan2.1_t2v_1.3B_fp16.safetensors", "default"],
                props={
                    "cnr_id": "comfy-core",
                    "ver": "0.3.64",
                    "models": [
                        {
                            "name": "wan2.1_t2v_1.3B_fp16.safetensors",
                            "directory": "diffusion_models",
                            "url": f"{HF}/Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files/diffusion_models/wan2.1_t2v_1.3B_fp16.safetensors",
                        }
                    ],
                },
            ),
            node(
                6,
                SG_INNER,
                ["wan_style.safetensors"],
                inputs=[
                    {
                        "name": "lora_name",
                        "type": "COMBO",
                        "link": None,
                        "widget": {"name": "lora_name"},
                    }
                ],
            ),
            node(
                7,
                "CLIPLoader",
                ["umt5_xxl_fp8_e4m3fn_scaled.safetensors", "wan", "default"],
                props={
                    "models": [
                        {
                            "name": "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
                            "directory": "text_encoders",
                            "url": f"{HF}/Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files/text_encoders/umt5_xxl_fp8_e4m3fn_scaled.safetensors",
                            "hash": "C3355D30191F1F066B26D93FBA017AE9809DCE6C627DDA5F6A66EAA651204F68",
                            "hash_type": "sha256",
                        }
                    ]
                },
            ),
        ],
        "links": [],
        "definitions": {"subgraphs": [inner_def]},
    }
    return {
        "id": "0b6a4f1e-0000-4000-8000-0000000000aa",
        "revision": 0,
        "version": 1,
        "state": {"lastGroupId": 0, "lastNodeId": 40, "lastLinkId": 0, "lastRerouteId": 0},
        "nodes": [
            node(37, SG_OUTER, []),
            node(
                38,
                "VAELoader",
                ["wan_2.1_vae.safetensors"],
                props={
                    "models": [
                        {
                            "name": "wan_2.1_vae.safetensors",
                            "directory": "vae",
                            "url": f"{HF}/Comfy-Org/Wan_2.1_ComfyUI_repackaged/blob/main/split_files/vae/wan_2.1_vae.safetensors",
                        },
                        {
                            "name": "unselected_alt_vae.safetensors",
                            "directory": "vae",
                            "url": f"{HF}/org/repo/resolve/main/unselected_alt_vae.safetensors",
                        },
                    ]
                },
            ),
            node(
                39,
                "SomeCustomLoader",
                ["my_custom_model.gguf"],
                props={
                    "cnr_id": "comfyui-gguf",
                    "ver": "1.2.3",
                    "models": [
                        {
                            "name": "my_custom_model.gguf",
                            "directory": "unet",
                            "url": f"{HF}/city96/some-gguf/resolve/main/my_custom_model.gguf",
                        }
                    ],
                },
            ),
            node(
                40,
                SG_OUTER,
                ["proxy_override.safetensors"],
                props={"proxyWidgets": json.dumps([["6", "lora_name"]])},
            ),
        ],
        "links": [],
        "definitions": {"subgraphs": [outer_def]},
        "models": [
            {
                "name": "wan_2.1_vae.safetensors",
                "directory": "vae",
                "url": f"{HF}/Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files/vae/wan_2.1_vae.safetensors",
                "hash": "2FC39D31359A4B0A64F55876D8FF7FA8D780956AE2CB13463B0223E15148976B",
                "hash_type": "sha256",
            },
            {
                "name": "extra_upscaler.pth",
                "directory": "upscale_models",
                "url": "https://example.com/files/extra_upscaler.pth",
            },
        ],
        "extra": {},
    }


def subgraph_partial_inputs():
    """An instance whose own ``inputs`` list names only some promoted widgets (as the frontend
    saves them), while ``widgets_values`` follow the definition's widget-fed inputs: numbers
    and prompt text come before the model names and must not shift onto the loaders."""
    sg_id = "a1b2c3d4-0000-4000-8000-0000000000b1"

    def widget_input(name, link):
        return {"name": name, "type": "COMBO", "link": link, "widget": {"name": name}}

    definition = {
        "id": sg_id,
        "version": 1,
        "name": "two-stage video",
        "revision": 0,
        "state": {"lastGroupId": 0, "lastNodeId": 9, "lastLinkId": 9, "lastRerouteId": 0},
        "inputNode": {"id": -10, "bounding": [0, 0, 10, 10]},
        "outputNode": {"id": -20, "bounding": [0, 0, 10, 10]},
        "inputs": [
            {"id": "i0", "name": "start_image", "type": "IMAGE", "linkIds": [1]},
            {"id": "i1", "name": "text", "type": "STRING", "linkIds": [2]},
            {"id": "i2", "name": "width", "type": "INT", "linkIds": [3]},
            {"id": "i3", "name": "noise_seed", "type": "INT", "linkIds": [4]},
            {"id": "i4", "name": "unet_name", "type": "COMBO", "linkIds": [5]},
            {"id": "i5", "name": "lora_name", "type": "COMBO", "linkIds": [6]},
            {"id": "i6", "name": "vae_name", "type": "COMBO", "linkIds": [7]},
        ],
        "outputs": [],
        "widgets": [],
        "nodes": [
            node(
                1,
                "LoadImage",
                ["stale.png", "image"],
                inputs=[{"name": "image", "type": "IMAGE", "link": 1}],
            ),
            node(2, "CLIPTextEncode", ["stale prompt"], inputs=[widget_input("text", 2)]),
            node(3, "EmptyLatentImage", [512, 512, 1], inputs=[widget_input("width", 3)]),
            node(4, "RandomNoise", [1, "fixed"], inputs=[widget_input("noise_seed", 4)]),
            node(
                5,
                "UNETLoader",
                ["stale_unet.safetensors", "default"],
                inputs=[widget_input("unet_name", 5)],
            ),
            node(
                6,
                "LoraLoaderModelOnly",
                ["stale_lora.safetensors", 1.0],
                inputs=[
                    {"name": "model", "type": "MODEL", "link": None},
                    widget_input("lora_name", 6),
                ],
            ),
            node(7, "VAELoader", ["stale_vae.safetensors"], inputs=[widget_input("vae_name", 7)]),
        ],
        "links": [
            {
                "id": i,
                "origin_id": -10,
                "origin_slot": i - 1,
                "target_id": i,
                "target_slot": 0 if i != 6 else 1,
                "type": "*",
            }
            for i in range(1, 8)
        ],
    }
    instance = node(
        20,
        sg_id,
        [
            "a fox in the snow, wan_style.safetensors mentioned in text",
            832,
            42,
            "wan2.2_high_noise_14B.safetensors",
            "lightx2v_4steps.safetensors",
            "wan_2.1_vae.safetensors",
        ],
        inputs=[
            {"name": "start_image", "type": "IMAGE", "link": None},
            {"name": "text", "type": "STRING", "link": None, "widget": {"name": "text"}},
            {"name": "unet_name", "type": "COMBO", "link": None, "widget": {"name": "unet_name"}},
            {"name": "vae_name", "type": "COMBO", "link": None, "widget": {"name": "vae_name"}},
        ],
    )
    return {
        "id": "0b6a4f1e-0000-4000-8000-0000000000bb",
        "revision": 0,
        "version": 1,
        "state": {"lastGroupId": 0, "lastNodeId": 20, "lastLinkId": 0, "lastRerouteId": 0},
        "nodes": [instance],
        "links": [],
        "definitions": {"subgraphs": [definition]},
        "extra": {},
    }


def group_nodes():
    return ui04(
        [
            node(
                1,
                "workflow>Loaders",
                ["juggernaut_xl.safetensors", "film_grain.safetensors", 0.7, 0.7],
            ),
            node(
                2,
                "workflow/Loaders",
                ["dreamshaper_8.safetensors", "lcm_lora.safetensors", 1.0, 1.0],
            ),
            node(3, "KSampler", [1, "fixed", 20, 7.0, "euler", "normal", 1.0]),
        ],
        extra={
            "groupNodes": {
                "Loaders": {
                    "nodes": [
                        {
                            "type": "CheckpointLoaderSimple",
                            "widgets_values": ["default_ckpt.safetensors"],
                            "index": 0,
                        },
                        {"type": "Reroute", "index": 1},
                        {
                            "type": "LoraLoader",
                            "widgets_values": ["default_lora.safetensors", 1, 1],
                            "index": 2,
                        },
                    ],
                    "links": [],
                    "external": [],
                }
            }
        },
    )


def custom_dict_widgets():
    return ui04(
        [
            node(
                1,
                "Power Lora Loader (rgthree)",
                {
                    "PowerLoraLoaderHeaderWidget": {"type": "PowerLoraLoaderHeaderWidget"},
                    "lora_1": {"on": True, "lora": "styles\\ink_wash.safetensors", "strength": 0.8},
                    "lora_2": {"on": False, "lora": "None", "strength": 1},
                    "➕ Add Lora": "",
                },
                props={
                    "aux_id": "rgthree/rgthree-comfy",
                    "ver": "5d771b8b56a343c24a26e8cea1f0c87c3d58102f",
                },
            ),
            node(
                2,
                "VHS_VideoCombine",
                {
                    "frame_rate": 16,
                    "filename_prefix": "AnimateDiff",
                    "format": "video/h264-mp4",
                    "videopreview": {
                        "params": {"filename": "AnimateDiff_00001.mp4", "type": "output"}
                    },
                },
                props={"cnr_id": "comfyui-videohelpersuite", "ver": "1.6.1"},
            ),
            node(
                3,
                "WanVideoModelLoader",
                [
                    "WanVideo\\Wan2_1-T2V-14B_fp8_e4m3fn.safetensors",
                    "bf16",
                    "fp8_e4m3fn",
                    "offload_device",
                    "sdpa",
                ],
            ),
            node(
                4,
                "UltralyticsDetectorProvider",
                ["bbox/face_yolov8m.pt"],
                props={"cnr_id": "comfyui-impact-subpack"},
            ),
            node(5, "CR Prompt Text", ["portrait, embedding:negative_hand.pt"]),
            node(6, "SaveImage", ["ComfyUI"]),
        ]
    )


def api_prompt():
    return {
        "4": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "v1-5-pruned-emaonly.ckpt"},
            "_meta": {"title": "Load Checkpoint"},
        },
        "10": {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": "epiNoiseoffset_v2.safetensors",
                "strength_model": 1,
                "strength_clip": 1,
                "model": ["4", 0],
                "clip": ["4", 1],
            },
        },
        "37:0": {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "default"},
        },
        "37:1": {
            "class_type": "DualCLIPLoader",
            "inputs": {
                "clip_name1": "t5xxl_fp16.safetensors",
                "clip_name2": "clip_l.safetensors",
                "type": "flux",
            },
        },
        "40": {
            "class_type": "LoadLoraModel",
            "inputs": {
                "loras.0.lora_name": "dyn_a.safetensors",
                "loras.0.strength": 1.0,
                "loras": {"1": {"lora_name": "dyn_b.safetensors"}},
            },
        },
        "41": {"class_type": "VAELoader", "inputs": {"vae_name": "taesd"}},
        "42": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "embedding:EasyNegative, cat", "clip": ["37:1", 0]},
        },
        "43": {
            "class_type": "MysteryCustomNode",
            "inputs": {"upscale_model": "RealESRGAN_x4plus.pth", "mode": "fast"},
        },
    }


# --- containers ---------------------------------------------------------------------------


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def tiny_png(extra_chunks: list[bytes], *, after_idat: list[bytes] = ()) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + b"".join(extra_chunks)
        + png_chunk(b"IDAT", idat)
        + b"".join(after_idat)
        + png_chunk(b"IEND", b"")
    )


def text_chunk(key: str, text: str) -> bytes:
    return png_chunk(b"tEXt", key.encode("latin-1") + b"\0" + text.encode("latin-1"))


def itxt_chunk(key: str, text: str, compressed: bool) -> bytes:
    data = zlib.compress(text.encode()) if compressed else text.encode()
    return png_chunk(
        b"iTXt", key.encode() + b"\0" + bytes([1 if compressed else 0, 0]) + b"\0\0" + data
    )


def ztxt_chunk(key: str, text: str) -> bytes:
    return png_chunk(b"zTXt", key.encode() + b"\0\0" + zlib.compress(text.encode("latin-1")))


def exif_block(entries: list[tuple[int, str]], prefix: bool) -> bytes:
    header = b"II*\x00" + struct.pack("<I", 8)
    count = len(entries)
    data_offset = 8 + 2 + 12 * count + 4
    ifd, blob = b"", b""
    for tag, text in entries:
        raw = text.encode() + b"\0"
        ifd += struct.pack("<HHII", tag, 2, len(raw), data_offset + len(blob))
        blob += raw
    body = header + struct.pack("<H", count) + ifd + b"\0\0\0\0" + blob
    return (b"Exif\0\0" + body) if prefix else body


def tiny_webp(exif: bytes) -> bytes:
    vp8l = b"\x2f\x00\x00\x00\x00\x88\x88\x08\x00"  # a 1x1 lossless bitstream header (content unimportant here)
    chunks = b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l + (b"\0" if len(vp8l) & 1 else b"")
    chunks += b"EXIF" + struct.pack("<I", len(exif)) + exif + (b"\0" if len(exif) & 1 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


def tiny_flac(comments: dict[str, str]) -> bytes:
    """fLaC + STREAMINFO + VORBIS_COMMENT (last block); no audio frames are needed to read tags."""
    streaminfo = bytes(34)
    vendor = b"comfylock fixture"
    entries = [f"{k}={v}".encode() for k, v in comments.items()]
    body = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(entries))
    body += b"".join(struct.pack("<I", len(e)) + e for e in entries)
    return (
        b"fLaC"
        + bytes([0])
        + len(streaminfo).to_bytes(3, "big")
        + streaminfo
        + bytes([0x80 | 4])
        + len(body).to_bytes(3, "big")
        + body
    )


def tiny_safetensors(metadata: dict[str, str]) -> bytes:
    header = json.dumps(
        {"__metadata__": metadata, "latent": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + b"\0\0\0\0"


def write(name: str, data: bytes | str) -> None:
    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def main() -> None:
    basic = sdxl_basic()
    write("ui04_sdxl_basic.json", json.dumps(basic, indent=1))
    expect(
        "ui04_sdxl_basic.json",
        [
            "checkpoints/sd_xl_base_1.0.safetensors",
            "embeddings/EasyNegative",
            "embeddings/bad_hands.pt",
            "loras/SDXL/detail_tweaker.safetensors",
            "vae/sdxl_vae.safetensors",
            "upscale_models/4x-UltraSharp.pth",
            "configs/v1-inference.yaml",
            "checkpoints/sd15/v1-5-pruned.ckpt",
        ],
        inactive=["vae/sdxl_vae.safetensors", "upscale_models/4x-UltraSharp.pth"],
    )
    write("traps_unsafe_names.json", json.dumps(traps_unsafe(), indent=1))
    expect(
        "traps_unsafe_names.json",
        [
            "checkpoints/../../etc/passwd",
            "loras//abs/lora.safetensors",
            "vae/C:/models/vae.safetensors",
            "checkpoints/ok.safetensors",
        ],
        invalid=[
            "checkpoints/../../etc/passwd",
            "loras//abs/lora.safetensors",
            "vae/C:/models/vae.safetensors",
        ],
    )
    v1 = ui_v1_subgraphs()
    write("ui1_nested_subgraphs.json", json.dumps(v1, indent=1))
    expect(
        "ui1_nested_subgraphs.json",
        [
            "diffusion_models/wan2.1_t2v_1.3B_fp16.safetensors",
            "loras/wan_style.safetensors",
            "loras/proxy_override.safetensors",
            "clip_vision/clip_vision_h.safetensors",
            "text_encoders/umt5_xxl_fp8_e4m3fn_scaled.safetensors",
            "vae/wan_2.1_vae.safetensors",
            "vae/unselected_alt_vae.safetensors",
            "diffusion_models/my_custom_model.gguf",
            "upscale_models/extra_upscaler.pth",
        ],
        nodes=["SomeCustomLoader"],
    )
    write("ui1_subgraph_partial_inputs.json", json.dumps(subgraph_partial_inputs(), indent=1))
    expect(
        "ui1_subgraph_partial_inputs.json",
        [
            "diffusion_models/wan2.2_high_noise_14B.safetensors",
            "loras/lightx2v_4steps.safetensors",
            "vae/wan_2.1_vae.safetensors",
        ],
    )
    write("group_nodes.json", json.dumps(group_nodes(), indent=1))
    expect(
        "group_nodes.json",
        [
            "checkpoints/juggernaut_xl.safetensors",
            "loras/film_grain.safetensors",
            "checkpoints/dreamshaper_8.safetensors",
            "loras/lcm_lora.safetensors",
        ],
    )
    write("custom_dict_widgets.json", json.dumps(custom_dict_widgets(), indent=1))
    expect(
        "custom_dict_widgets.json",
        [
            "loras/styles/ink_wash.safetensors",
            "diffusion_models/WanVideo/Wan2_1-T2V-14B_fp8_e4m3fn.safetensors",
            "ultralytics/bbox/face_yolov8m.pt",
            "embeddings/negative_hand.pt",
        ],
        nodes=[
            "CR Prompt Text",
            "Power Lora Loader (rgthree)",
            "UltralyticsDetectorProvider",
            "VHS_VideoCombine",
            "WanVideoModelLoader",
        ],
    )
    api = api_prompt()
    write("api_prompt.json", json.dumps(api, indent=1))
    api_models = [
        "checkpoints/v1-5-pruned-emaonly.ckpt",
        "loras/epiNoiseoffset_v2.safetensors",
        "diffusion_models/flux1-dev.safetensors",
        "text_encoders/t5xxl_fp16.safetensors",
        "text_encoders/clip_l.safetensors",
        "loras/dyn_a.safetensors",
        "loras/dyn_b.safetensors",
        "embeddings/EasyNegative",
        "None/RealESRGAN_x4plus.pth",  # an unknown custom node: cannot tell, never a guess
    ]
    expect("api_prompt.json", api_models, nodes=["MysteryCustomNode"])

    wf, prompt = json.dumps(basic), json.dumps(api)
    write("png_text.png", tiny_png([text_chunk("prompt", prompt), text_chunk("workflow", wf)]))
    expect(
        "png_text.png",
        EXPECTED["ui04_sdxl_basic.json"]["models"],
        inactive=EXPECTED["ui04_sdxl_basic.json"]["inactive"],
    )
    write("png_itxt_compressed.png", tiny_png([itxt_chunk("workflow", json.dumps(v1), True)]))
    expect(
        "png_itxt_compressed.png",
        EXPECTED["ui1_nested_subgraphs.json"]["models"],
        nodes=["SomeCustomLoader"],
    )
    write(
        "png_ztxt_prompt_only.png",
        tiny_png([text_chunk("Software", "ImageMagick"), ztxt_chunk("prompt", prompt)]),
    )
    expect("png_ztxt_prompt_only.png", api_models, nodes=["MysteryCustomNode"])
    write(
        "apng_comf_chunk.png",
        tiny_png(
            [], after_idat=[png_chunk(b"comf", b"workflow\0" + json.dumps(group_nodes()).encode())]
        ),
    )
    expect("apng_comf_chunk.png", EXPECTED["group_nodes.json"]["models"])
    write(
        "webp_exif_prefixed.webp",
        tiny_webp(exif_block([(0x010F, "workflow:" + wf), (0x0110, "prompt:" + prompt)], True)),
    )
    expect(
        "webp_exif_prefixed.webp",
        EXPECTED["ui04_sdxl_basic.json"]["models"],
        inactive=EXPECTED["ui04_sdxl_basic.json"]["inactive"],
    )
    write("webp_exif_bare.webp", tiny_webp(exif_block([(0x0110, "prompt:" + prompt)], False)))
    expect("webp_exif_bare.webp", api_models, nodes=["MysteryCustomNode"])

    write(
        "audio_comments.flac", tiny_flac({"prompt": prompt, "workflow": json.dumps(group_nodes())})
    )
    expect("audio_comments.flac", EXPECTED["group_nodes.json"]["models"])
    write("latent_metadata.safetensors", tiny_safetensors({"prompt": prompt}))
    expect("latent_metadata.safetensors", api_models, nodes=["MysteryCustomNode"])

    bad = OUT.parent / "broken"
    bad.mkdir(parents=True, exist_ok=True)
    (bad / "broken.json").write_text('{"nodes": [ {"id": 1, "type": "CheckpointLoaderSimple",, }\n')
    full = tiny_png([text_chunk("workflow", wf)])
    (bad / "truncated.png").write_bytes(full[: len(full) // 2])
    (bad / "no_workflow.png").write_bytes(tiny_png([text_chunk("Software", "ImageMagick")]))
    (bad / "not_a_workflow.json").write_text(
        json.dumps({"name": "package.json-like", "version": "1.0"})
    )
    (OUT / "EXPECTED.json").write_text(json.dumps(EXPECTED, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(EXPECTED)} workflows to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
