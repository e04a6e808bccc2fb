"""comfylock.resolve.sources.modellist: Manager's model-list.json as a known-models index."""

from __future__ import annotations

import json

import pytest

from comfylock.net.httpcache import HttpCache
from comfylock.resolve.sources.huggingface import HfRef
from comfylock.resolve.sources.modellist import build_index, load_model_list


def entry(name, type_, save_path, filename, url, size="1.0GB"):
    return {
        "name": name,
        "type": type_,
        "base": "SDXL",
        "save_path": save_path,
        "description": "",
        "reference": "",
        "filename": filename,
        "url": url,
        "size": size,
    }


MODEL_LIST = {
    "models": [
        entry(
            "SDXL base",
            "checkpoint",
            "checkpoints/SDXL",
            "sd_xl_base_1.0.safetensors",
            "https://huggingface.co/stabilityai/sdxl/resolve/main/sd_xl_base_1.0.safetensors",
        ),
        entry(
            "SDXL base (flat)",
            "checkpoint",
            "checkpoints",
            "sd_xl_base_1.0.safetensors",
            "https://example.com/sd_xl_base_1.0.safetensors",
        ),
        entry(
            "4x-UltraSharp",
            "upscale",
            "default",
            "4x-UltraSharp.pth",
            "https://huggingface.co/lokCX/4x-Ultrasharp/blob/main/4x-UltraSharp.pth?download=true",
        ),
        entry(
            "t5",
            "clip",
            "default",
            "t5xxl_fp16.safetensors",
            "https://huggingface.co/c/t5/resolve/main/t5xxl_fp16.safetensors",
        ),
        entry(
            "clip_l",
            "clip",
            "clip",
            "clip_l.safetensors",
            "https://huggingface.co/c/l/resolve/main/clip_l.safetensors",
        ),
        entry(
            "flux",
            "diffusion_model",
            "unet/FLUX1",
            "flux1-dev.safetensors",
            "https://civitai.com/api/download/models/1",
        ),
        entry(
            "custom",
            "lora",
            "custom_nodes/SomePack/models",
            "x.safetensors",
            "https://example.com/x",
        ),
        entry("snapshot", "Janus-Pro", "Janus-Pro", "<huggingface>", "deepseek-ai/Janus-Pro-1B"),
        entry("odd type", "weird", "default", "w.bin", "https://example.com/w.bin"),
        entry("sam", "sam", "sams", "sam_vit_b.pth", "https://example.com/sam_vit_b.pth"),
    ]
}


def test_save_path_mapping():
    index = build_index(MODEL_LIST)
    by_name = {e.name: e for e in index.entries}
    assert set(by_name) == {
        "SDXL base",
        "SDXL base (flat)",
        "4x-UltraSharp",
        "t5",
        "clip_l",
        "flux",
        "sam",
    }
    assert (by_name["SDXL base"].folder, by_name["SDXL base"].subdir) == ("checkpoints", "SDXL")
    assert by_name["4x-UltraSharp"].folder == "upscale_models"
    assert by_name["t5"].folder == "text_encoders" and by_name["clip_l"].folder == "text_encoders"
    assert (by_name["flux"].folder, by_name["flux"].relname) == (
        "diffusion_models",
        "FLUX1/flux1-dev.safetensors",
    )
    assert by_name["sam"].folder == "sams"
    assert by_name["4x-UltraSharp"].hf == HfRef(
        repo="lokCX/4x-Ultrasharp", revision="main", path="4x-UltraSharp.pth"
    )
    assert by_name["flux"].hf is None


def test_lookup_exact_relname_first_and_legacy_folders():
    index = build_index(MODEL_LIST)
    found = index.lookup("checkpoints", "SDXL/sd_xl_base_1.0.safetensors")
    assert [e.name for e in found] == ["SDXL base", "SDXL base (flat)"]
    found = index.lookup("checkpoints", "sd_xl_base_1.0.safetensors")
    assert [e.name for e in found] == ["SDXL base (flat)", "SDXL base"]
    assert [e.name for e in index.lookup("clip", "t5xxl_fp16.safetensors")] == ["t5"]
    assert [e.name for e in index.lookup("unet", "flux1-dev.safetensors")] == ["flux"]
    assert index.lookup("loras", "sd_xl_base_1.0.safetensors") == []


def test_unconfigured_is_empty_without_a_request(server, client):
    assert len(load_model_list(client)) == 0
    assert server.log == []


def test_fetched_and_cached(server, client, monkeypatch, tmp_path, no_wait):
    server.expect_request("/model-list.json").respond_with_json(MODEL_LIST)
    monkeypatch.setenv("COMFYLOCK_MODEL_LIST_URL", server.url_for("/model-list.json"))
    with HttpCache(tmp_path / "http.sqlite") as cache:
        assert len(load_model_list(client, cache=cache, retry=no_wait)) == 7
        assert len(load_model_list(client, cache=cache, retry=no_wait)) == 7
        assert cache.stats().by_kind == {"model-list": 1}
    assert len(server.log) == 1


def test_local_file(tmp_path, monkeypatch):
    path = tmp_path / "list.json"
    path.write_text(json.dumps(MODEL_LIST))
    monkeypatch.setenv("COMFYLOCK_MODEL_LIST_URL", path.as_uri())
    assert len(load_model_list(None)) == 7
    monkeypatch.setenv("COMFYLOCK_MODEL_LIST_URL", str(path))
    assert len(load_model_list(None)) == 7


@pytest.mark.corpus
def test_real_model_list(shared_dir):
    data = json.loads(
        (shared_dir / "comfyui" / "manager" / "model-list.json").read_text(encoding="utf-8")
    )
    index = build_index(data)
    assert len(index) > 450
    [hit] = [
        e
        for e in index.lookup("checkpoints", "SD2.1/v2-1_768-ema-pruned.safetensors")
        if e.subdir == "SD2.1"
    ]
    assert hit.hf == HfRef(
        repo="stabilityai/stable-diffusion-2-1",
        revision="main",
        path="v2-1_768-ema-pruned.safetensors",
    )
    assert all(not e.folder.startswith("custom_nodes") for e in index.entries)
    assert all(e.filename != "<huggingface>" for e in index.entries)
