"""machine/modelpaths.py: where each model folder lives: ComfyUI's defaults, its legacy dirs,
``extra_model_paths.yaml``, and the folders packs register (the knowledge table's
``folder_dirs``), which ``sync`` and ``scan`` treat as real folders."""

from __future__ import annotations

import json

from tests.support.syncutil import Model, payload, range_response, url_source, write_lock
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


TABLE = {
    "packs": {
        "x-flux-comfyui": {
            "repo": "https://github.com/XLabs-AI/x-flux-comfyui",
            "folders": {"xlabs_controlnets": ["models/xlabs/controlnets"]},
        },
        "comfyui-ella": {
            "repo": "https://github.com/TencentQQGYLab/ComfyUI-ELLA",
            "folders": {"ella": ["models/ella"]},
        },
        "own-dir-pack": {
            "repo": "https://github.com/example/own-dir-pack",
            "folders": {"own_models": ["custom_nodes/own-dir-pack/models"]},
        },
    },
    "classes": {
        "ELLALoader": {"pack": "comfyui-ella", "inputs": {"name": "ella"}},
        "LoadFluxControlNet": {
            "pack": "x-flux-comfyui",
            "inputs": {"controlnet_path": "xlabs_controlnets"},
        },
    },
}


def test_sync_places_pack_folders_where_the_pack_reads_them(tmp_path, server, run_cli, node_table):
    node_table(TABLE)
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    shelf = tmp_path / "shelf"
    (root / "extra_model_paths.yaml").write_text(
        f"mine:\n  base_path: {shelf}\n  is_default: true\n  ella: ella_models\n"
    )
    models = [
        Model("xlabs_controlnets", "flux-canny.safetensors", payload(1, 40_000)),
        Model("ella", "ella-sd1.5-tsc-t5xl.safetensors", payload(2, 30_000)),
        Model("own_models", "sub/x.safetensors", payload(3, 20_000)),
        Model("never_registered", "y.safetensors", payload(4, 10_000)),
    ]
    for i, m in enumerate(models):
        server.expect_request(f"/f/{i}").respond_with_handler(
            lambda r, data=m.data: range_response(r, data)
        )
        m.sources.append(url_source(server.url_for(f"/f/{i}")))
    project = tmp_path / "project"
    project.mkdir()
    lock = write_lock(project / "comfy.lock", models)
    args = ["--lock", str(lock), "--comfyui-root", str(root)]
    result = run_cli(*args, "sync", "--no-aria2")
    assert result.exit_code == 0, result
    where = {
        "xlabs_controlnets": root / "models/xlabs/controlnets/flux-canny.safetensors",
        "ella": shelf / "ella_models/ella-sd1.5-tsc-t5xl.safetensors",  # is_default wins
        "own_models": root / "custom_nodes/own-dir-pack/models/sub/x.safetensors",
        "never_registered": root / "models/never_registered/y.safetensors",
    }
    for m in models:
        assert where[m.folder].read_bytes() == m.data, m.folder
    assert not (root / "models/xlabs_controlnets").exists()
    again = run_cli(*args, "sync", "--no-aria2")
    assert again.exit_code == 0 and "Already in sync: 4 models" in again.stdout, again
    status = run_cli(*args, "status")
    assert status.exit_code == 0, status
    workflow = {
        "1": {"class_type": "ELLALoader", "inputs": {"name": models[1].name}},
        "2": {"class_type": "LoadFluxControlNet", "inputs": {"controlnet_path": models[0].name}},
    }
    (project / "flow.json").write_text(json.dumps(workflow))
    report = run_cli(*args, "report", "--format", "json", str(project / "flow.json"))
    (gaps,) = json.loads(report.stdout)["workflows"]
    assert gaps["missing_models"] == [], report  # report looks where sync placed them
    assert {n["class_type"] for n in gaps["missing_nodes"]} == {"ELLALoader", "LoadFluxControlNet"}
    markdown = run_cli(*args, "report", "--format", "markdown", str(project / "flow.json")).stdout
    assert "| ELLALoader | 1 | comfyui-ella |" in markdown  # the pack, named offline
    # keeps the lock's pins and adds the workflow (its node packs stay unpinned offline)
    pinned = run_cli(*args, "resolve", "--offline", "--allow-unresolved")
    assert pinned.exit_code in (0, 1) and (project / "comfy.lock").read_text().count("[[workflow]]")
    installed = run_cli(*args, "check", "--installed", "--json")
    assert installed.stdout and json.loads(installed.stdout)["installed"] == [], installed
    where["ella"].unlink()  # check --installed looks where sync placed it
    missing = run_cli(*args, "check", "--installed", "--json")
    assert "ella-sd1.5" in str(json.loads(missing.stdout)["installed"]), missing


def test_scan_names_files_by_the_folder_a_pack_registers(tmp_path, run_cli, node_table):
    node_table(TABLE)
    root = tmp_path / "ComfyUI"
    placed = {
        root / "models/xlabs/controlnets/flux-canny.safetensors": "xlabs_controlnets",
        root / "custom_nodes/own-dir-pack/models/sub/x.safetensors": "own_models",
        root / "models/loras/a.safetensors": "loras",
    }
    for path in placed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")
    result = run_cli("--comfyui-root", str(root), "scan", "--json")
    assert result.exit_code == 0, result
    data = json.loads(result.stdout)
    found = {(m["folder"], m["name"]) for m in data["files"]}
    assert found == {
        ("xlabs_controlnets", "flux-canny.safetensors"),
        ("own_models", "sub/x.safetensors"),
        ("loras", "a.safetensors"),
    }
