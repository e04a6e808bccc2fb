"""machine/modelpaths.py: where each model folder lives: ComfyUI's defaults, its legacy dirs and
``extra_model_paths.yaml``."""

from __future__ import annotations

from tests.support.syncutil import comfyui_root as _comfy
from tests.support.syncutil import url_lock as _url_lock


def test_diffusion_models_go_to_their_own_dir(tmp_path, server, run_cli):
    lock, model = _url_lock(tmp_path, server, "diffusion_models", "flux.safetensors", b"x" * 64)
    root = _comfy(tmp_path)
    status = run_cli("--lock", str(lock), "--comfyui-root", str(root), "status")
    assert "link      diffusion_models/flux.safetensors" in status.stdout, status
    assert "unet/" not in status.stdout
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync", "--no-aria2")
    assert result.exit_code == 0, result
    assert (root / "models" / "diffusion_models" / "flux.safetensors").read_bytes() == model.data


def test_a_right_file_in_the_legacy_dir_counts_as_present(tmp_path, server, run_cli):
    lock, model = _url_lock(tmp_path, server, "diffusion_models", "flux.safetensors", b"y" * 64)
    root = _comfy(tmp_path)
    (root / "models" / "unet").mkdir()
    (root / "models" / "unet" / "flux.safetensors").write_bytes(model.data)
    status = run_cli("--lock", str(lock), "--comfyui-root", str(root), "status")
    assert "Already in sync: 1 model" in status.stdout, status


def test_is_default_in_extra_model_paths_wins(tmp_path, server, run_cli):
    lock, _ = _url_lock(tmp_path, server, "diffusion_models", "flux.safetensors", b"z" * 64)
    root = _comfy(tmp_path)
    big = tmp_path / "big-disk"
    (root / "extra_model_paths.yaml").write_text(
        f"big:\n  base_path: {big}\n  is_default: true\n  diffusion_models: dm\n"
    )
    status = run_cli("--lock", str(lock), "--comfyui-root", str(root), "status")
    assert str(big / "dm" / "flux.safetensors") in status.stdout, status
