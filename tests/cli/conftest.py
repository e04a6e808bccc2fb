"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest

from tests.support.syncutil import Model, make_world, serve_world, write_lock


@pytest.fixture
def world(tmp_path, server, monkeypatch):
    w = make_world(tmp_path, server, monkeypatch)
    serve_world(w)
    return w


@pytest.fixture
def synced(tmp_path, run_cli):
    """Two projects synced into one store (by adoption: no network)."""
    projects = {}
    for name, data in (("p1", b"one"), ("p2", b"two")):
        root = tmp_path / name / "ComfyUI"
        target = root / "models" / "loras" / f"{name}.safetensors"
        target.parent.mkdir(parents=True)
        target.write_bytes(data)
        lock = write_lock(
            tmp_path / name / "comfy.lock", [Model("loras", f"{name}.safetensors", data)]
        )
        args = ["--lock", str(lock), "--comfyui-root", str(root)]
        assert run_cli(*args, "sync").exit_code == 0
        projects[name] = {"lock": lock, "args": args, "target": target, "data": data}
    return projects
