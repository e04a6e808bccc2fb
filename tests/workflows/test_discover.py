"""workflows/discover.py: finding workflow files on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.output import one_error_line as _one_error_line
from tests.support.paths import ROOT
from tests.support.syncutil import vae_workflow as _vae_workflow


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fs_a_fifo_named_like_a_workflow_is_never_read(tmp_path):
    """Reading a FIFO blocks forever: before, `inspect DIR` hung on one. (The subprocess
    timeout only keeps a regression from hanging the suite; nothing is timed.)"""
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "ok.json").write_text(
        json.dumps({"1": {"class_type": "VAELoader", "inputs": {"vae_name": "v.safetensors"}}})
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cli = [sys.executable, "-m", "comfylock"]
    walk = subprocess.run(
        [*cli, "inspect", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert walk.returncode == 0, walk.stderr
    assert "skipped" in walk.stdout and "pipe.json: not a regular file" in walk.stdout
    named = subprocess.run(
        [*cli, "inspect", str(tmp_path / "pipe.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert named.returncode == 2
    assert "not a regular file" in _one_error_line(named.stderr)


def test_walk_skips_non_workflows_and_explicit_files_still_fail(run_cli, tmp_path):
    repo = tmp_path / "repo"
    _vae_workflow(repo / "flows" / "w.json")
    (repo / "photo.png").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64)
    (repo / "tsconfig.json").write_text('{\n  // comment\n  "compilerOptions": {}\n}\n')
    (repo / "empty.json").write_text("")
    result = run_cli("inspect", str(repo), "--json")
    assert result.exit_code == 0, result
    skipped = {Path(s["path"]).name: s["reason"] for s in json.loads(result.stdout)["skipped"]}
    assert set(skipped) == {"photo.png", "tsconfig.json", "empty.json"}, skipped
    assert all(skipped.values())
    for name in ("photo.png", "tsconfig.json", "empty.json"):
        assert run_cli("inspect", str(repo / name)).exit_code == 2, name


def test_project_discovery_skips_node_packs_and_other_tools_folders(run_cli, tmp_path, monkeypatch):
    """Issue 19: `resolve` inside a ComfyUI folder locked every example workflow of every
    installed pack; the project's own are in user/default/workflows/."""
    import shutil

    src = ROOT / "fixtures" / "workflows" / "ui04_sdxl_basic.json"
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "main.py").write_text("")
    own = root / "user" / "default" / "workflows" / "mine.json"
    theirs = [
        root / "custom_nodes" / "SomePack" / "example_workflows" / "demo.json",
        root / "output" / "ComfyUI_00001_.json",
        root / "models" / "configs" / "wf.json",
        root / ".venv" / "lib" / "wf.json",
        root / "pyenv" / "lib" / "wf.json",
        root / "node_modules" / "x" / "wf.json",
    ]
    for path in [own, *theirs]:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, path)
    (root / "pyenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    monkeypatch.chdir(root)
    monkeypatch.setenv("COMFYLOCK_CACHE_DIR", str(tmp_path / "cache"))
    result = run_cli("resolve", "--offline", "--allow-unresolved", "--json")
    assert result.exit_code == 0, result
    lock = (root / "comfy.lock").read_text()
    assert 'path = "user/default/workflows/mine.json"' in lock
    assert lock.count("[[workflow]]") == 1, lock
    assert json.loads(result.stdout)["written"]
