"""project/loading.py: the project a command works on, read once; the lock is found in the nearest parent."""

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


def _vae_workflow(path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"1": {"class_type": "VAELoader", "inputs": {"vae_name": name}}}))


def _project(tmp_path: Path):
    from comfylock.project.loading import Project
    from comfylock.settings import make_settings

    return Project(make_settings(lock=str(tmp_path / "proj" / "comfy.lock")))


def test_the_project_dir_is_the_locks_dir_and_the_lock_may_be_absent(tmp_path):
    project = _project(tmp_path)
    assert project.dir == tmp_path / "proj"
    assert project.lock_path == tmp_path / "proj" / "comfy.lock"
    assert project.lock_if_present() is None
    assert project.allow_http == ()  # an empty config when there is no comfylock.toml


def test_workflows_follow_the_config_globs_and_are_read_once(tmp_path):
    proj = tmp_path / "proj"
    _vae_workflow(proj / "flows" / "a.json", "a.safetensors")
    _vae_workflow(proj / "other" / "b.json", "b.safetensors")
    (proj / "comfylock.toml").write_text('workflows = ["flows/*.json"]\n')
    project = _project(tmp_path)
    first = project.workflows()
    assert [w.path for w in first] == ["flows/a.json"]
    assert [(r.folder, r.name) for r in first[0].info.models] == [("vae", "a.safetensors")]
    _vae_workflow(proj / "flows" / "c.json", "c.safetensors")  # after the first read
    assert project.workflows() is first  # read once per run, not again per stage
    assert project.config is project.config


def test_the_lock_is_loaded_once_and_staleness_compares_it_with_the_workflows(
    tmp_path, run_cli, monkeypatch
):
    proj = tmp_path / "proj"
    _no_model_workflow(proj / "w.json")
    monkeypatch.chdir(proj)
    assert run_cli("resolve", "--offline").exit_code == 0
    project = _project(tmp_path)
    assert project.lock is project.lock
    assert project.lock_if_present() is project.lock
    assert project.staleness()[0] == "fresh"
    _vae_workflow(proj / "w.json", "v.safetensors")  # the workflow now needs a model
    assert project.staleness()[0] == "fresh"  # this run already read the workflows
    state, message = _project(tmp_path).staleness()
    assert state == "stale" and message, message


def test_a_nodes_pin_chooses_which_packs_facts_read_a_class_packs_disagree_on(tmp_path, node_table):
    from comfylock.packcode.entries import merge_claims

    claims = {
        "LoadThing": [
            ("orig-pack", {"inputs": {"model": "checkpoints"}, "widgets": ["model"]}),
            ("b/Copy", {"inputs": {"model": "loras"}, "widgets": ["model"]}),
        ]
    }
    packs = {
        "orig-pack": {"repo": "https://github.com/a/Orig", "registry-id": "orig-pack"},
        "b/Copy": {"repo": "https://github.com/b/Copy"},
    }
    node_table({"packs": packs, "classes": merge_claims(claims)})
    proj = tmp_path / "proj"
    proj.mkdir()
    node = {"id": 1, "type": "LoadThing", "properties": {}, "widgets_values": ["m.pt"]}
    (proj / "flow.json").write_text(json.dumps({"nodes": [node], "links": []}))
    (proj / "comfylock.toml").write_text('[nodes]\n"LoadThing" = "b/Copy"\n')
    (wf,) = _project(tmp_path).workflows()
    assert [(r.folder, r.name) for r in wf.info.models] == [("loras", "m.pt")]
