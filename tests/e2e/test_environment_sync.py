"""``sync --install-comfyui``: from an empty folder to a ComfyUI that starts with every node
pack importable (SPEC §9), on the hermetic world: real git, real uv, a loopback index."""

from __future__ import annotations

import subprocess

import tomllib

from comfylock.environment.uvtool import uv_exe
from tests.support.environment import MODEL_BYTES, git


def _args(world, root):
    return ("--lock", str(world["project"] / "comfy.lock"), "--comfyui-root", str(root))


def _freeze(python) -> set[str]:
    out = subprocess.run(
        [uv_exe(), "pip", "freeze", "--python", str(python)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def test_install_comfyui_builds_a_runnable_comfyui_from_nothing(env_world, run_cli, tmp_path):
    world = env_world
    assert run_cli(*_args(world, world["studio_root"]), "resolve").exit_code == 0
    box = tmp_path / "gpu-box" / "ComfyUI"
    box.parent.mkdir()

    plan = run_cli(*_args(world, box), "sync", "--install-comfyui", "--dry-run")
    assert plan.exit_code == 0, plan
    assert "clone     ComfyUI @" in plan.stdout
    assert "python    + alpha 1.0" in plan.stdout
    assert not box.exists()

    first = run_cli(*_args(world, box), "sync", "--install-comfyui")
    assert first.exit_code == 0, first
    assert git("rev-parse", "HEAD", cwd=box) == world["comfyui_commit"]
    lock = tomllib.loads((world["project"] / "comfy.lock").read_text())
    pylock = tomllib.loads((world["project"] / lock["python"]["target"][0]["file"]).read_text())
    wanted = {f"{p['name']}=={p['version']}" for p in pylock["packages"]}
    assert _freeze(box / ".venv" / "bin" / "python") == wanted
    for pack in world["packs"].values():
        assert git("rev-parse", "HEAD", cwd=box / "custom_nodes" / pack.id) == pack.commit
    assert (box / "models" / "checkpoints" / "base.safetensors").read_bytes() == MODEL_BYTES
    assert not world["marker"].exists()  # pack-s's install.py never ran
    assert "install scripts (comfylock never runs them): pack-s" in first.stdout
    started = subprocess.run(
        [str(box / ".venv" / "bin" / "python"), str(box / "main.py")],
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    assert "started with 3 node packs" in started.stdout

    second = run_cli(*_args(world, box), "sync", "--install-comfyui")
    assert second.exit_code == 0, second
    assert "Already in sync" in second.stdout
    assert "ComfyUI 0.3.40" in second.stdout
