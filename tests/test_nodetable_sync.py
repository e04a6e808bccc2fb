"""Folders packs register are real folders: ``sync`` places their models where the pack
reads them (the knowledge table's ``folder_dirs``), ``extra_model_paths.yaml`` included."""

from __future__ import annotations

import pytest

from .syncutil import (
    Model,
    loopback_server,
    payload,
    range_response,
    stop_server,
    url_source,
    write_lock,
)


@pytest.fixture
def server():
    s = loopback_server()
    yield s
    stop_server(s)


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
    "classes": {},
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
