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
    assert names["tokens"]["detail"] == "set: HF_TOKEN; not set: CIVITAI_API_KEY, AWS_*"


def test_doctor_says_when_the_network_is_not_there(world, run_cli, monkeypatch):
    """Issue 19: doctor was all green on a machine with no network. The suite's machine has
    no DNS off loopback (tests/conftest.py), as a machine with no network."""
    monkeypatch.delenv("COMFYLOCK_CIVITAI_URL", raising=False)
    args = ("--lock", str(world["lock"]), "--comfyui-root", str(world["root"]))
    result = run_cli(*args, "doctor")
    assert result.exit_code == 1, result
    assert "!!  network" in result.stdout and "cannot reach civitai.com" in result.stdout
    assert "comfylock resolve --offline" in result.stdout


def test_resolve_with_no_network_fails_at_once_and_names_offline(run_cli, tmp_path, monkeypatch):
    """Issue 19: 18 s of retries, then "wait a little", never --offline."""
    from comfylock.net import send

    slept = []
    monkeypatch.setattr(send.time, "sleep", slept.append)
    (tmp_path / "w.json").write_text(
        '{"1": {"class_type": "LoraLoader", "inputs": {"lora_name": "x.safetensors"}}}'
    )
    monkeypatch.chdir(tmp_path)
    result = run_cli("resolve")
    assert result.exit_code == 3, result
    assert "cannot reach civitai.com: its name does not resolve" in result.stderr
    assert "comfylock resolve --offline" in result.stderr and "tries" not in result.stderr
    assert slept == [], "no retry of a network that is not there"


def test_doctor_exits_1_with_the_fix_for_a_bad_root(run_cli, tmp_path):
    result = run_cli("--comfyui-root", str(tmp_path / "nope"), "doctor")
    assert result.exit_code == 1, result
    assert "!!  comfyui root" in result.stdout and "fix:" in result.stdout
    assert "!!  models" in result.stdout  # a models dir under a missing root is no "ok"
    data = json.loads(run_cli("doctor", "--json", "--comfyui-root", str(tmp_path)).stdout)
    root = next(c for c in data["checks"] if c["name"] == "comfyui root")
    assert root["ok"] is False and root["fix"]
