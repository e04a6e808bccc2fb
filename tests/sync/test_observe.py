"""sync/observe.py: symlinks out of the models tree are never followed; symlinked roots are roots."""

from __future__ import annotations

import os

import pytest

from tests.support.output import one_error_line as _one_error_line
from tests.support.syncutil import (
    Model,
    tree_snapshot,
)
from tests.support.syncutil import comfyui_root as _comfyui
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
