"""Links are owned per lock (issue 16, attack 8): two projects share one ComfyUI root and one
store; ``sync --prune`` of one removes a link only when no other lock that synced into the
store still pins that path."""

from __future__ import annotations

import pytest

from tests.support.syncutil import Model, comfyui_root, seed, write_lock


@pytest.fixture
def two_projects(tmp_path):
    root = comfyui_root(tmp_path)
    shared = Model("loras", "shared.safetensors", b"both projects use this lora")
    only_a = Model("vae", "a.safetensors", b"only project a uses this vae")
    for m in (shared, only_a):
        seed(tmp_path, m.data)
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    return {
        "root": root,
        "shared": shared,
        "only_a": only_a,
        "a": write_lock(a / "comfy.lock", [shared, only_a]),
        "b": write_lock(b / "comfy.lock", [shared]),
    }


def _args(lock, root):
    return ["--lock", str(lock), "--comfyui-root", str(root)]


def test_prune_keeps_a_link_another_lock_still_pins(two_projects, run_cli):
    p = two_projects
    root = p["root"]
    assert run_cli(*_args(p["a"], root), "sync").exit_code == 0
    b_status = run_cli(*_args(p["b"], root), "sync")
    assert b_status.exit_code == 0 and "Already in sync" in b_status.stdout, b_status
    write_lock(p["a"], [])  # project a stops using both
    pruned = run_cli(*_args(p["a"], root), "sync", "--prune")
    assert pruned.exit_code == 0, pruned
    shared = root / "models" / "loras" / "shared.safetensors"
    assert shared.read_bytes() == p["shared"].data, "b still pins it"
    assert not (root / "models" / "vae" / "a.safetensors").exists(), "only a pinned this one"
    assert str(p["b"]) in pruned.stderr and "still pins" in pruned.stderr, pruned
    after = run_cli(*_args(p["b"], root), "status")
    assert "Already in sync" in after.stdout, after


def test_prune_removes_it_once_no_lock_pins_it(two_projects, run_cli):
    p = two_projects
    root = p["root"]
    assert run_cli(*_args(p["a"], root), "sync").exit_code == 0
    assert run_cli(*_args(p["b"], root), "sync").exit_code == 0
    write_lock(p["a"], [])
    write_lock(p["b"], [])
    assert run_cli(*_args(p["a"], root), "sync", "--prune").exit_code == 0
    assert not (root / "models" / "loras" / "shared.safetensors").exists()


def test_prune_removes_it_when_the_other_lock_is_gone(two_projects, run_cli):
    p = two_projects
    root = p["root"]
    assert run_cli(*_args(p["a"], root), "sync").exit_code == 0
    assert run_cli(*_args(p["b"], root), "sync").exit_code == 0
    p["b"].unlink()
    write_lock(p["a"], [])
    assert run_cli(*_args(p["a"], root), "sync", "--prune").exit_code == 0
    assert not (root / "models" / "loras" / "shared.safetensors").exists()
