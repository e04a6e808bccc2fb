"""End to end: a hand-written lock synced from empty against loopback Civitai/HF/URL servers."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from tests.support.syncutil import make_world, paths_in, serve_world


@pytest.fixture
def world(tmp_path, server, monkeypatch):
    w = make_world(tmp_path, server, monkeypatch)
    serve_world(w)
    return w


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
    from comfylock.progress import RichProgress

    progress = RichProgress()
    update = progress.task("loras/x.safetensors", 100)
    update(40)
    update(100)
    progress.close()
