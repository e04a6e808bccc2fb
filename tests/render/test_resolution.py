"""render/resolution.py: what resolve and check found, with hints that name the command that fixes it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.syncutil import comfyui_root as _comfy
from tests.support.syncutil import vae_workflow as _vae_workflow


def _offline_project(tmp_path: Path) -> Path:
    project = tmp_path / "hp"
    _vae_workflow(project / "workflows" / "w.json", "mystery.safetensors")
    return project


def test_offline_reasons_say_not_looked_up(run_cli, tmp_path, monkeypatch):
    project = _offline_project(tmp_path)
    monkeypatch.chdir(project)
    result = run_cli("resolve", "--offline", "--allow-unresolved", "--json")
    (unresolved,) = json.loads(result.stdout)["unresolved"]
    assert "not looked up (offline)" in unresolved["reason"], unresolved
    assert "not found on Civitai" not in unresolved["reason"]


def test_check_after_an_offline_resolve_names_resolve_with_the_network(
    run_cli, tmp_path, monkeypatch
):
    """Issue 19: resolve was never allowed to look, so the fix is to let it, not `add`."""
    project = _offline_project(tmp_path)
    monkeypatch.chdir(project)
    assert run_cli("resolve", "--offline", "--allow-unresolved").exit_code == 0
    check = run_cli("check")
    assert check.exit_code == 1, check
    assert "fix: run `comfylock resolve` with the network" in check.stdout
    assert "resolve cannot find" not in check.stdout


def test_strict_name_only_hint_does_not_say_sync(run_cli, tmp_path, monkeypatch):
    project = _offline_project(tmp_path)
    monkeypatch.chdir(project)
    assert run_cli("resolve", "--offline", "--allow-unresolved").exit_code == 0
    lock = project / "comfy.lock"
    text = lock.read_text().split("[[unresolved]]")[0]
    lock.write_text(
        text
        + '[[model]]\nfolder = "vae"\nname = "mystery.safetensors"\nsize = 3\n'
        + f'sha256 = "{"a" * 64}"\n\n[[model.source]]\ntype = "url"\nmatched-by = "name"\n'
        + 'url = "https://example.com/mystery.safetensors"\n'
    )
    assert run_cli("check").exit_code == 0
    strict = run_cli("check", "--strict")
    assert strict.exit_code == 1, strict
    assert "weak pin" in strict.stdout and "comfylock add" in strict.stdout
    assert "comfylock sync" not in strict.stdout


def test_without_a_comfyui_root_resolve_and_add_say_local_files_were_not_used(
    run_cli, tmp_path, monkeypatch
):
    project = _offline_project(tmp_path)
    monkeypatch.chdir(project)
    bare = run_cli("resolve", "--offline")
    assert bare.exit_code == 1, bare
    assert "note: no --comfyui-root" in bare.stdout
    root = _comfy(tmp_path)
    rooted = run_cli("resolve", "--offline", "--comfyui-root", str(root))
    assert "note: no --comfyui-root" not in rooted.stdout, rooted


def test_an_ambiguity_the_projects_own_pack_settles_names_the_pin_in_json_and_check(
    run_cli, tmp_path, monkeypatch
):
    """ImageResizeKJ is claimed by KJNodes and by a fork that copied it (the shipped table);
    ImageNoiseAugmentation only by KJNodes, which the project therefore needs anyway."""
    project = tmp_path / "kj"
    project.mkdir()
    workflow = {"1": {"class_type": "ImageResizeKJ", "inputs": {}}}
    workflow["2"] = {"class_type": "ImageNoiseAugmentation", "inputs": {}}
    (project / "w.json").write_text(json.dumps(workflow), encoding="utf-8")
    monkeypatch.chdir(project)
    result = run_cli("resolve", "--offline", "--allow-unresolved", "--json")
    (ambiguous,) = json.loads(result.stdout)["ambiguous"]
    assert ambiguous["class"] == "ImageResizeKJ" and len(ambiguous["candidates"]) > 1
    assert ambiguous["pin"] == "comfyui-kjnodes"
    check = run_cli("check")
    assert check.exit_code == 1, check
    assert (
        'fix: add to comfylock.toml\'s [nodes]: "ImageResizeKJ" = "comfyui-kjnodes"' in check.stdout
    )
