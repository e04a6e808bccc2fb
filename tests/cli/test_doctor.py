"""``comfylock doctor``: where things are, whether they work, the fix for what does not."""

from __future__ import annotations

import json
import os


def test_doctor_says_where_things_are_and_never_shows_a_token(world, run_cli):
    env = {"HF_TOKEN": "hf_SECRETVALUE123"}
    args = ("--lock", str(world["lock"]), "--comfyui-root", str(world["root"]))
    result = run_cli(*args, "doctor", env=env)
    assert "hf_SECRETVALUE123" not in result.output
    assert str(world["lock"]) in result.stdout and os.environ["COMFYLOCK_STORE"] in result.stdout
    assert "HF_TOKEN" in result.stdout and " set" in result.stdout
    data = json.loads(run_cli(*args, "doctor", "--json", env=env).stdout)
    names = {c["name"]: c for c in data["checks"]}
    assert {"lock", "comfyui root", "store", "aria2c", "git", "cache"} <= set(names)
    assert names["HF_TOKEN"]["detail"] == "set" and names["CIVITAI_API_KEY"]["detail"] == "not set"


def test_doctor_exits_1_with_the_fix_for_a_bad_root(run_cli, tmp_path):
    result = run_cli("--comfyui-root", str(tmp_path / "nope"), "doctor")
    assert result.exit_code == 1, result
    assert "!!  comfyui root" in result.stdout and "fix:" in result.stdout
    assert "!!  models" in result.stdout  # a models dir under a missing root is no "ok"
    data = json.loads(run_cli("doctor", "--json", "--comfyui-root", str(tmp_path)).stdout)
    root = next(c for c in data["checks"] if c["name"] == "comfyui root")
    assert root["ok"] is False and root["fix"]
