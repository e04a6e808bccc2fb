"""``resolve`` pins ComfyUI and the packs' Python requirements (SPEC §9), end to end: a
ComfyUI git checkout, packs in bare repos, wheels on a loopback index, the real uv."""

from __future__ import annotations

import json
import re

import pytest
import tomllib

from tests.support.environment import clashing_packs, git, standard_packs


def _resolve(run_cli, world, *extra):
    return run_cli(
        "--lock",
        str(world["project"] / "comfy.lock"),
        "--comfyui-root",
        str(world["studio_root"]),
        "resolve",
        *extra,
    )


def test_resolve_records_comfyui_and_python_with_hashes_and_is_byte_identical(env_world, run_cli):
    world = env_world
    first = _resolve(run_cli, world)
    assert first.exit_code == 0, first
    lock_path = world["project"] / "comfy.lock"
    lock = tomllib.loads(lock_path.read_text())
    assert lock["comfyui"]["commit"] == world["comfyui_commit"]
    assert lock["comfyui"]["version"] == "0.3.40"
    assert lock["comfyui"]["matched-by"] == "local"
    (target,) = lock["python"]["target"]
    pylock_path = world["project"] / target["file"]
    pylock = tomllib.loads(pylock_path.read_text())
    names = {p["name"]: p["version"] for p in pylock["packages"]}
    assert names == {"alpha": "1.0", "beta": "1.0", "corelib": "1.1"}
    for package in pylock["packages"]:
        for wheel in package["wheels"]:
            assert re.fullmatch(r"[0-9a-f]{64}", wheel["hashes"]["sha256"])
    reqs = {(r["pack"], r["source"]): r["specs"] for r in lock["python"]["requirement"]}
    assert reqs[("comfyui", "requirements.txt")] == ["corelib>=1.0"]
    assert reqs[("pack-a", "requirements.txt")] == ["alpha>=1.0"]
    assert reqs[("pack-b", "pyproject.toml")] == ["beta>=1,<2"]
    assert "ComfyUI 0.3.40 at" in first.stdout
    before = (lock_path.read_bytes(), pylock_path.read_bytes())

    second = _resolve(run_cli, world)
    assert second.exit_code == 0, second
    assert (lock_path.read_bytes(), pylock_path.read_bytes()) == before
    assert "unchanged" in second.stdout

    upgraded = _resolve(run_cli, world, "--upgrade")  # uv runs again: same bytes
    assert upgraded.exit_code == 0, upgraded
    assert (lock_path.read_bytes(), pylock_path.read_bytes()) == before


def test_check_fails_offline_after_a_pack_commit_changes_until_resolve(env_world, run_cli):
    world = env_world
    assert _resolve(run_cli, world).exit_code == 0
    lock_path = world["project"] / "comfy.lock"
    args = ("--lock", str(lock_path))
    assert run_cli(*args, "check").exit_code == 0
    # pack-a gets a new commit and a teammate bumps the pin in the lock by hand
    pack = world["packs"]["pack-a"]
    work = pack.bare.parent / "pack-a-work"
    (work / "requirements.txt").write_text("alpha>=1.0\nshared>=2\n")
    git("commit", "-q", "-am", "needs shared 2", cwd=work)
    git("push", "-q", str(pack.bare), "HEAD:master", cwd=work)
    new = git("rev-parse", "HEAD", cwd=work)
    lock_path.write_text(lock_path.read_text().replace(pack.commit, new))

    stale = run_cli(*args, "check")
    assert stale.exit_code == 1, stale
    assert "python" in stale.stdout.lower()
    assert "resolve" in stale.stdout

    fixed = _resolve(run_cli, world)
    assert fixed.exit_code == 0, fixed
    assert run_cli(*args, "check").exit_code == 0
    pylock = (world["project"] / "pylock.linux-x86_64.toml").read_text()
    assert 'name = "shared"\nversion = "2.0"' in pylock


@pytest.mark.parametrize("env_world", [lambda marker: clashing_packs()], indirect=True)
def test_two_clashing_packs_exit_1_naming_both_until_an_override_settles_it(env_world, run_cli):
    world = env_world
    result = _resolve(run_cli, world)
    assert result.exit_code == 1, result
    line = result.stderr
    assert "pack-new" in line and "pack-old" in line
    assert "shared>=2" in line and "shared<2" in line
    assert "[python] overrides" in line
    assert not (world["project"] / "comfy.lock").exists()

    config = world["project"] / "comfylock.toml"
    config.write_text(config.read_text() + '[python.overrides]\nshared = "shared==2.0"\n')
    settled = _resolve(run_cli, world)
    assert settled.exit_code == 0, settled
    pylock = (world["project"] / "pylock.linux-x86_64.toml").read_text()
    assert 'name = "shared"\nversion = "2.0"' in pylock


def test_a_pack_with_install_py_is_listed_and_its_script_never_runs(env_world, run_cli):
    world = env_world
    result = _resolve(run_cli, world)
    assert result.exit_code == 0, result
    assert "install scripts (comfylock never runs them): pack-s" in result.stdout
    lock = tomllib.loads((world["project"] / "comfy.lock").read_text())
    flags = {n["id"]: n.get("install-script", False) for n in lock["node"]}
    assert flags == {"pack-a": False, "pack-b": False, "pack-s": True}
    assert not world["marker"].exists()


assert standard_packs  # the default world of env_world


def test_a_core_node_the_pinned_comfyui_lacks_is_a_finding_naming_it(env_world, run_cli):
    world = env_world
    flow = world["project"] / "workflows" / "flow.json"
    doc = json.loads(flow.read_text())
    doc["nodes"].append({"id": 99, "type": "KSampler", "mode": 0, "widgets_values": []})
    flow.write_text(json.dumps(doc))
    result = _resolve(run_cli, world)
    assert result.exit_code == 1, result
    assert "workflows/flow.json uses the core node KSampler" in result.stderr
    assert "0.3.40" in result.stderr
    assert not (world["project"] / "comfy.lock").exists()


@pytest.mark.parametrize(
    ("table", "matched_by"),
    [('version = "0.3.40"', "pin"), ("", "ver")],
    ids=["toml-version-pin", "workflows-comfy-core-ver"],
)
def test_a_version_becomes_the_commit_of_its_tag(env_world, run_cli, tmp_path, table, matched_by):
    """Without a checkout: a [comfyui] version pin, else the workflows' comfy-core ``ver``,
    is the tag v<version> of [comfyui] repo (git ls-remote)."""
    world = env_world
    git("tag", "v0.3.40", world["comfyui_commit"], cwd=world["comfyui_bare"])
    config = world["project"] / "comfylock.toml"
    repo = f'repo = "{world["comfyui_bare"]}"\n'
    config.write_text(f"[comfyui]\n{repo}{table}\n\n{config.read_text()}")
    plain = tmp_path / "plain" / "ComfyUI"
    (plain / "models" / "checkpoints").mkdir(parents=True)
    checkpoint = world["studio_root"] / "models" / "checkpoints" / "base.safetensors"
    (plain / "models" / "checkpoints" / "base.safetensors").write_bytes(checkpoint.read_bytes())
    result = run_cli(
        "--lock", str(world["project"] / "comfy.lock"), "--comfyui-root", str(plain), "resolve"
    )
    assert result.exit_code == 0, result
    lock = tomllib.loads((world["project"] / "comfy.lock").read_text())
    assert lock["comfyui"]["commit"] == world["comfyui_commit"]
    assert lock["comfyui"]["matched-by"] == matched_by
