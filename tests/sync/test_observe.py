"""sync/observe.py: symlinks out of the models tree are never followed; symlinked roots are roots."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.output import one_error_line as _one_error_line
from tests.support.output import one_line_error as _one_line_error
from tests.support.syncutil import Model, payload, tree_snapshot, url_source, write_lock
from tests.support.syncutil import comfyui_root as _comfyui
from tests.support.syncutil import one_lora_world as _world
from tests.support.syncutil import seeded_lock as _seeded_lock
from tests.support.syncutil import store_dir as _store


@pytest.fixture
def escape_world(tmp_path):
    """``models/vae/root -> <outside>``, where a user's file lives outside the tree."""
    root = _comfyui(tmp_path)
    outside = tmp_path / "outside"
    (outside / "etc").mkdir(parents=True)
    (outside / "etc" / "passwd.safetensors").write_bytes(b"not comfylock's")
    (root / "models" / "vae").mkdir()
    os.symlink(outside, root / "models" / "vae" / "root")
    models = [
        Model("vae", "root/etc/passwd.safetensors", b"attacker bytes" * 4),
        Model("vae", "root/newdir/sub/x.safetensors", b"more attacker bytes"),
    ]
    lock = _seeded_lock(tmp_path, models)
    return {
        "args": ["--lock", str(lock), "--comfyui-root", str(root)],
        "outside": outside,
        "root": root,
    }


@pytest.mark.parametrize("command", [["sync", "--force"], ["sync"], ["status"]])
def test_fs_a_directory_symlink_out_of_models_is_never_followed(escape_world, run_cli, command):
    before = tree_snapshot(escape_world["outside"])
    result = run_cli(*escape_world["args"], *command)
    assert result.exit_code == 2, result
    line = _one_error_line(result.stderr)
    assert "vae/root/" in line and "outside the models tree" in line
    assert tree_snapshot(escape_world["outside"]) == before
    assert not (_store() / "displaced").exists()


def test_fs_a_symlinked_models_root_and_folder_dir_are_roots_of_their_own(tmp_path, run_cli):
    """The common setups still work: models/ itself, or models/checkpoints, on another disk."""
    root = tmp_path / "ComfyUI"
    root.mkdir()
    (tmp_path / "disk" / "models").mkdir(parents=True)
    (tmp_path / "big" / "ckpts").mkdir(parents=True)
    os.symlink(tmp_path / "disk" / "models", root / "models")
    os.symlink(tmp_path / "big" / "ckpts", root / "models" / "checkpoints")
    models = [
        Model("checkpoints", "SDXL/a.safetensors", b"a" * 40),
        Model("vae", "v.safetensors", b"v" * 40),
    ]
    lock = _seeded_lock(tmp_path, models)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert result.exit_code == 0, result
    assert (tmp_path / "big" / "ckpts" / "SDXL" / "a.safetensors").read_bytes() == b"a" * 40
    assert (tmp_path / "disk" / "models" / "vae" / "v.safetensors").read_bytes() == b"v" * 40


def _loopy_tree(root: Path) -> None:
    loras = root / "models" / "loras"
    (loras / "sub").mkdir(parents=True, exist_ok=True)
    os.symlink("b.safetensors", loras / "a.safetensors")
    os.symlink("a.safetensors", loras / "b.safetensors")
    os.symlink("..", loras / "sub" / "up")  # a dir symlink to its parent
    (loras / "real.safetensors").write_bytes(b"a real lora")


def test_symlink_loops_do_not_hang_scan_status_sync_or_report(tmp_path, server, run_cli):
    w = _world(tmp_path, server)
    _loopy_tree(w["root"])

    scan = run_cli("scan", str(w["root"] / "models"), "--json")
    assert scan.exit_code == 0, scan
    names = [f["name"] for f in json.loads(scan.stdout)["files"]]
    assert names == ["real.safetensors"]  # once: sub/up leads back to a dir already walked
    assert "a.safetensors" in scan.stderr  # the looping links are named, not followed forever

    status = run_cli(*w["args"], "status")
    assert status.exit_code == 0, status
    assert "detail.safetensors" in status.stdout

    synced = run_cli(*w["args"], "sync", "--no-aria2")
    assert synced.exit_code == 0, synced
    assert w["target"].read_bytes() == w["model"].data
    assert os.readlink(w["root"] / "models" / "loras" / "a.safetensors") == "b.safetensors"

    workflow = tmp_path / "wf.json"
    workflow.write_text(
        json.dumps(
            {
                "1": {"class_type": "LoraLoader", "inputs": {"lora_name": "a.safetensors"}},
                "2": {"class_type": "LoraLoader", "inputs": {"lora_name": "real.safetensors"}},
            }
        )
    )
    report = run_cli("--comfyui-root", str(w["root"]), "report", str(workflow))
    assert report.exit_code in (0, 1), report
    assert "Traceback" not in report.output
    assert "a.safetensors" in report.stdout


def test_a_locked_name_that_is_a_symlink_loop_is_a_conflict(tmp_path, server, run_cli):
    w = _world(tmp_path, server)
    _loopy_tree(w["root"])
    looped = Model("loras", "a.safetensors", payload(8, 1000), [url_source("https://x.invalid/a")])
    write_lock(Path(w["args"][1]), [w["model"], looped])

    status = run_cli(*w["args"], "status")
    assert status.exit_code == 0, status
    assert "a.safetensors" in status.stdout
    result = run_cli(*w["args"], "sync", "--no-aria2")
    assert result.exit_code == 5, result
    line = _one_line_error(result.stderr, "")
    assert "a.safetensors" in line and "nothing was changed" in line
    assert server.log == []
