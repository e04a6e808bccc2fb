"""End to end: a hand-written lock synced from empty against loopback Civitai/HF/URL servers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from tests.support.syncutil import comfyui_root as _comfy
from tests.support.syncutil import paths_in, payload
from tests.support.syncutil import url_lock as _url_lock


def _check_tree(world, store_dir):
    for m in world["models"]:
        target = world["root"] / "models" / m.folder / m.name
        assert target.is_symlink(), target
        assert target.read_bytes() == m.data
        blob = os.path.realpath(target)
        assert blob.startswith(str(store_dir))
        assert not os.stat(blob).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _head(path):
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize("downloader", ["--no-aria2", "aria2"])
def test_sync_from_empty_then_noop(world, run_cli, downloader, tmp_path):
    if downloader == "aria2":
        import shutil

        if shutil.which("aria2c") is None:
            pytest.skip("aria2c is not installed")
    extra = ["--no-aria2"] if downloader == "--no-aria2" else []
    result = run_cli(*world["args"], "sync", *extra)
    assert result.exit_code == 0, result
    store_dir = os.environ["COMFYLOCK_STORE"]
    _check_tree(world, store_dir)
    assert _head(world["root"] / "custom_nodes" / "ComfyUI-Test-Pack") == world["commits"][0]
    assert "s3cr3t" not in result.output
    seen = len(world["server"].log)
    again = run_cli(*world["args"], "sync", *extra)
    assert again.exit_code == 0, again
    assert "Already in sync: 3 models, 1 node pack" in again.stdout
    assert len(world["server"].log) == seen  # no request at all


def test_dry_run_and_status_change_nothing(world, run_cli):
    for cmd in (["sync", "--dry-run"], ["status"]):
        result = run_cli(*world["args"], *cmd)
        assert result.exit_code == 0, result
        assert "fetch" in result.stdout and "clone" in result.stdout
    assert paths_in(world["server"]) == []
    assert not any((world["root"] / "models").rglob("*.safetensors"))
    assert not (world["root"] / "custom_nodes" / "ComfyUI-Test-Pack").exists()


def test_status_json(world, run_cli):
    import json

    result = run_cli(*world["args"], "status", "--json")
    data = json.loads(result.stdout)
    assert len(data["fetch"]) == 3 and data["empty"] is False


def test_sync_json_has_plan_and_report(world, run_cli):
    import json

    result = run_cli(*world["args"], "sync", "--no-aria2", "--json")
    assert result.exit_code == 0, result
    data = json.loads(result.stdout)
    assert len(data["fetch"]) == 3 and len(data["report"]["fetched"]) == 3
    assert "s3cr3t" not in result.stdout


def test_status_writes_nothing_to_the_store(world, run_cli):
    result = run_cli(*world["args"], "status")
    assert result.exit_code == 0, result
    assert not os.path.exists(os.environ["COMFYLOCK_STORE"])


def test_progress_display_smoke():
    from comfylock.basics.progress import RichProgress

    progress = RichProgress()
    update = progress.task("loras/x.safetensors", 100)
    update(40)
    update(100)
    progress.close()


def test_sync_installs_what_is_pinned_then_exits_1_for_the_rest(tmp_path, server, run_cli):
    unresolved = (
        '[[unresolved]]\nfolder = "loras"\nname = "mystery.safetensors"\n'
        'reason = "not found on Civitai by name"\n'
    )
    lock, model = _url_lock(tmp_path, server, "vae", "v.safetensors", payload(5, 4096), unresolved)
    root = _comfy(tmp_path)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync", "--no-aria2")
    assert result.exit_code == 1, result
    assert (root / "models" / "vae" / "v.safetensors").read_bytes() == model.data
    assert "the lock is incomplete: 1 model is not pinned" in result.stderr
    assert "loras/mystery.safetensors" in result.stderr and "comfylock add" in result.stderr
    again = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert again.exit_code == 1 and "What the lock pins is in sync: 1 model" in again.stdout, again
    assert "Already in sync" not in again.stdout and "incomplete" in again.stderr, again


def test_missing_git_fails_before_any_download(world, run_cli, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run_cli(*world["args"], "sync", "--no-aria2", env={"PATH": str(empty)})
    assert result.exit_code == 2, result
    assert "git is not installed" in result.stderr and "--no-nodes" in result.stderr
    assert paths_in(world["server"]) == [], "no byte was downloaded"


def test_ci_log_gets_plan_first_then_a_line_per_file_then_past_tense(world):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "comfylock", *world["args"], "sync", "--no-aria2", "--no-nodes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        timeout=120,
    )
    out = proc.stdout
    assert proc.returncode == 0, out
    assert "\r" not in out, "no carriage-return stream in a log"
    lines = out.splitlines()
    plan = next(i for i, line in enumerate(lines) if line.startswith("Plan: "))
    fetched = [i for i, line in enumerate(lines) if line.startswith("fetched ")]
    assert len(fetched) == 3 and plan < min(fetched), out
    assert lines[-1].startswith("Synced in ") and "fetched 3 models" in lines[-1], out
    assert "to fetch" not in lines[-1]
    assert "KiB" in out and " kB" not in out and " MB" not in out, "binary units only"


def test_wrong_sha256_says_expected_vs_got_with_one_hint(tmp_path, server, run_cli):
    lock, model = _url_lock(tmp_path, server, "vae", "v.safetensors", b"q" * 100)
    lock.write_text(lock.read_text().replace(model.sha256, "0" * 64))
    root = _comfy(tmp_path)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync", "--no-aria2")
    assert result.exit_code == 4, result
    assert f"expected sha256 {'0' * 16}… (comfy.lock), got {model.sha256[:16]}…" in result.stderr
    assert result.stderr.count("(hint:") == 1, result.stderr
    assert "comfylock resolve --upgrade" in result.stderr
