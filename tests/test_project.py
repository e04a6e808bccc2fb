"""project.py: the project a command works on, read once; the lock is found in the nearest parent."""

from __future__ import annotations

import json
from pathlib import Path


def _no_model_workflow(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"1": {"class_type": "EmptyLatentImage", "inputs": {"width": 8}}}))


def test_from_a_subfolder_the_projects_lock_is_used(run_cli, tmp_path, monkeypatch):
    project = tmp_path / "proj"
    _no_model_workflow(project / "workflows" / "w.json")
    (project / "comfylock.toml").write_text('workflows = ["workflows/*.json"]\n')
    monkeypatch.chdir(project / "workflows")
    resolved = run_cli("resolve", "--offline")
    assert resolved.exit_code == 0, resolved
    assert (project / "comfy.lock").is_file(), "written beside comfylock.toml"
    assert not (project / "workflows" / "comfy.lock").exists(), "no second lock"
    check = run_cli("check")
    assert check.exit_code == 0, check
    assert "up to date" in check.stdout
