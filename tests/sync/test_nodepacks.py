"""Node packs from a local bare repo: clone at the commit, move a clean clone, never touch
local changes or a foreign directory."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.syncutil import GIT_ENV, make_bare_repo, write_lock


@pytest.fixture
def pack(tmp_path):
    bare, commits = make_bare_repo(tmp_path / "repos")
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    return {"bare": bare, "commits": commits, "root": root, "tmp": tmp_path}


def sync_args(pack, commit, repo=None):
    lock = write_lock(
        pack["tmp"] / "comfy.lock", [], [("test-pack", repo or str(pack["bare"]), commit)]
    )
    return ["--lock", str(lock), "--comfyui-root", str(pack["root"])]


def head(path):
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True
    ).stdout.strip()


def pack_dir(pack):
    return pack["root"] / "custom_nodes" / "ComfyUI-Test-Pack"


def test_clone_at_commit_then_move_to_another(pack, run_cli):
    first, second = pack["commits"]
    result = run_cli(*sync_args(pack, first), "sync")
    assert result.exit_code == 0, result
    assert head(pack_dir(pack)) == first
    again = run_cli(*sync_args(pack, first), "sync")
    assert "Already in sync: 0 models, 1 node pack" in again.stdout
    moved = run_cli(*sync_args(pack, second), "sync")
    assert moved.exit_code == 0, moved
    assert head(pack_dir(pack)) == second


def test_file_url_repo(pack, run_cli):
    result = run_cli(*sync_args(pack, pack["commits"][1], repo=pack["bare"].as_uri()), "sync")
    assert result.exit_code == 0, result
    assert head(pack_dir(pack)) == pack["commits"][1]


def test_local_changes_are_a_conflict_and_untouched(pack, run_cli):
    first, second = pack["commits"]
    assert run_cli(*sync_args(pack, first), "sync").exit_code == 0
    (pack_dir(pack) / "__init__.py").write_text("MY EDIT\n")
    result = run_cli(*sync_args(pack, second), "sync")
    assert result.exit_code == 5, result
    assert (pack_dir(pack) / "__init__.py").read_text() == "MY EDIT\n"
    assert head(pack_dir(pack)) == first


def test_a_non_git_directory_is_a_conflict(pack, run_cli):
    pack_dir(pack).mkdir()
    (pack_dir(pack) / "mine.py").write_text("x")
    result = run_cli(*sync_args(pack, pack["commits"][0]), "sync")
    assert result.exit_code == 5, result
    assert sorted(p.name for p in pack_dir(pack).iterdir()) == ["mine.py"]


def test_a_clone_of_another_remote_is_a_conflict(pack, run_cli, tmp_path):
    other, _ = make_bare_repo(tmp_path / "other", name="ComfyUI-Test-Pack")
    subprocess.run(
        ["git", "clone", "-q", str(other), str(pack_dir(pack))],
        env=GIT_ENV,
        check=True,
        capture_output=True,
    )
    result = run_cli(*sync_args(pack, pack["commits"][0]), "sync")
    assert result.exit_code == 5, result
    assert "another remote" in result.stderr


def test_no_nodes_skips_packs(pack, run_cli):
    result = run_cli(*sync_args(pack, pack["commits"][0]), "sync", "--no-nodes")
    assert result.exit_code == 0, result
    assert not pack_dir(pack).exists()


def test_an_unsafe_pack_name_is_refused(pack, run_cli):
    result = run_cli(
        *sync_args(pack, pack["commits"][0], repo="https://example.invalid/.."), "sync"
    )
    assert result.exit_code == 2, result


def test_plain_http_repo_is_refused(pack, run_cli):
    result = run_cli(
        *sync_args(pack, pack["commits"][0], repo="http://example.invalid/o/pack"), "sync"
    )
    assert result.exit_code == 2, result
