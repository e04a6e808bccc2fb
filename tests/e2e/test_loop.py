"""The whole loop: resolve (URL pins, --fetch) → check → sync → check --installed."""

from __future__ import annotations

import hashlib
import json
import re

from tests.support.fakes import LoopbackServer

UPSCALER = b"upscaler weights " * 1000
CONTROLNET = b"controlnet weights " * 700


def _workflow(base: str) -> dict:
    return {
        "nodes": [
            {
                "id": 1,
                "type": "UpscaleModelLoader",
                "mode": 0,
                "widgets_values": ["4x.pth"],
                "properties": {
                    "models": [
                        {
                            "name": "4x.pth",
                            "directory": "upscale_models",
                            "url": f"{base}/files/4x.pth",
                            "hash": hashlib.sha256(UPSCALER).hexdigest(),
                            "hash_type": "sha256",
                        }
                    ]
                },
            },
            {
                "id": 2,
                "type": "ControlNetLoader",
                "mode": 0,
                "widgets_values": ["canny.safetensors"],
                "properties": {
                    "models": [
                        {
                            "name": "canny.safetensors",
                            "directory": "controlnet",
                            "url": f"{base}/files/canny.safetensors",
                        }
                    ]
                },
            },
        ],
        "links": [],
        "version": 0.4,
    }


def test_resolve_fetch_check_sync_installed(run_cli, monkeypatch, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    with LoopbackServer() as srv:
        srv.expect_request("/files/4x.pth").respond_with_data(
            UPSCALER, content_type="application/octet-stream"
        )
        srv.expect_request("/files/canny.safetensors").respond_with_data(
            CONTROLNET, content_type="application/octet-stream"
        )
        base = srv.url_for("/").rstrip("/")
        srv.expect_request(re.compile("/civitai/.*")).respond_with_json(
            {"items": [], "metadata": {}}
        )
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", f"{base}/civitai")  # finds nothing by name
        (proj / "w.json").write_text(json.dumps(_workflow(base)))
        monkeypatch.chdir(proj)
        no_fetch = run_cli("resolve")
        assert no_fetch.exit_code == 1 and "canny.safetensors" in no_fetch.stdout, (
            "a URL alone does not pin bytes"
        )
        result = run_cli("--comfyui-root", str(root), "resolve", "--fetch")
        assert result.exit_code == 0, result
        import tomllib

        models = {m["name"]: m for m in tomllib.loads((proj / "comfy.lock").read_text())["model"]}
        assert models["canny.safetensors"]["sha256"] == hashlib.sha256(CONTROLNET).hexdigest()
        assert models["4x.pth"]["size"] == len(UPSCALER)
        assert run_cli("check").exit_code == 0
        before = run_cli("--comfyui-root", str(root), "check", "--installed")
        assert before.exit_code == 1 and "4x.pth" in before.stdout
        srv.clear_log()
        sync = run_cli("--comfyui-root", str(root), "sync", "--no-aria2")
        assert sync.exit_code == 0, sync
        fetched = [req.path for req, _ in srv.log]
    assert "/files/canny.safetensors" not in fetched, "--fetch already put it in the store"
    assert (root / "models" / "controlnet" / "canny.safetensors").read_bytes() == CONTROLNET
    assert (root / "models" / "upscale_models" / "4x.pth").read_bytes() == UPSCALER
    assert run_cli("--comfyui-root", str(root), "check", "--installed").exit_code == 0
