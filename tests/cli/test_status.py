"""``comfylock status``."""

from __future__ import annotations

import json


def test_json_is_indented_and_offered_where_output_is_data(world, run_cli):
    status = run_cli(*world["args"], "status", "--json")
    assert status.stdout.startswith("{\n  "), status.stdout[:40]
    cleared = run_cli("cache", "clear", "--json")
    assert cleared.exit_code == 0 and json.loads(cleared.stdout) == {"removed": 0}


def test_status_without_a_root_hints_status_with_the_root_found_nearby(
    run_cli, tmp_path, monkeypatch
):
    """Issue 19: `status` without a root hinted at `sync`; the hint names the command run
    and, when a ComfyUI is right there, the command that works as it is."""
    import shlex

    from tests.support.syncutil import Model, comfyui_root, write_lock

    project = tmp_path / "project"
    project.mkdir()
    write_lock(project / "comfy.lock", [Model("loras", "a.safetensors", b"a")])
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    bare = run_cli("status")
    assert bare.exit_code == 2 and "`comfylock status --comfyui-root DIR`" in bare.stderr, bare
    assert "comfylock sync" not in bare.stderr
    comfyui_root(project)
    near = run_cli("status")
    assert near.exit_code == 2, near
    command = near.stderr.split("`")[1]
    assert command == "comfylock status --comfyui-root ComfyUI", near.stderr
    ran = run_cli(*shlex.split(command)[1:])
    assert ran.exit_code == 0 and "1 to fetch" in ran.stdout, ran
