"""``sync``, ``status`` and ``doctor`` on the environment (SPEC §9), through the CLI: what a
user sees when ComfyUI has local changes, is not a git checkout, or is a Windows portable
install, and what an empty --comfyui-root means with and without --install-comfyui."""

from __future__ import annotations

import pytest

from tests.support.environment import git


def _args(world, root):
    return ("--lock", str(world["project"] / "comfy.lock"), "--comfyui-root", str(root))


@pytest.fixture
def locked(env_world, run_cli):
    assert run_cli(*_args(env_world, env_world["studio_root"]), "resolve").exit_code == 0
    return env_world


def _box(tmp_path, world, run_cli):
    """A machine synced with --install-comfyui."""
    box = tmp_path / "box" / "ComfyUI"
    box.parent.mkdir()
    assert run_cli(*_args(world, box), "sync", "--install-comfyui").exit_code == 0
    return box


def test_empty_root_is_exit_2_without_install_comfyui(locked, run_cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli(*_args(locked, empty), "sync")
    assert result.exit_code == 2, result
    assert "does not look like ComfyUI" in result.stderr
    missing = run_cli(*_args(locked, tmp_path / "typo"), "sync")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    full = tmp_path / "full"
    (full / "something").mkdir(parents=True)
    refused = run_cli(*_args(locked, full), "sync", "--install-comfyui")
    assert refused.exit_code == 2, refused
    assert list(full.iterdir()) == [full / "something"]


def test_a_dirty_comfyui_is_a_conflict_and_nothing_changes(locked, run_cli, tmp_path):
    box = _box(tmp_path, locked, run_cli)
    (box / "main.py").write_text("# my local patch\n")
    (box / "models" / "checkpoints" / "base.safetensors").unlink()
    result = run_cli(*_args(locked, box), "sync")
    assert result.exit_code == 5, result
    assert "local changes (main.py)" in result.stderr and "--no-core" in result.stderr
    assert not (box / "models" / "checkpoints" / "base.safetensors").exists()
    assert run_cli(*_args(locked, box), "sync", "--no-core").exit_code == 0
    assert (box / "models" / "checkpoints" / "base.safetensors").exists()
    assert (box / "main.py").read_text() == "# my local patch\n"


def test_a_checkout_at_another_commit_is_moved_back(locked, run_cli, tmp_path):
    box = _box(tmp_path, locked, run_cli)
    (box / "notes.txt").write_text("a newer commit\n")
    git("add", "notes.txt", cwd=box)
    git("commit", "-q", "-m", "newer", cwd=box)
    status = run_cli(*_args(locked, box), "status")
    assert "checkout  ComfyUI @" in status.stdout, status
    doctor = run_cli(*_args(locked, box), "doctor")
    assert doctor.exit_code == 1 and "the lock pins 0.3.40" in doctor.stdout
    assert run_cli(*_args(locked, box), "sync").exit_code == 0
    assert git("rev-parse", "HEAD", cwd=box) == locked["comfyui_commit"]


def test_not_a_git_checkout_is_a_finding_and_the_rest_syncs(locked, run_cli, tmp_path):
    root = tmp_path / "plain" / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    result = run_cli(*_args(locked, root), "sync", "--no-python")
    assert result.exit_code == 1, result
    assert "is not a git checkout" in result.stderr and "--no-core" in result.stderr
    assert (root / "models" / "checkpoints" / "base.safetensors").exists()
    assert not (root / ".git").exists()


def test_python_packages_that_drift_are_planned_and_put_back(locked, run_cli, tmp_path):
    from comfylock.environment.uvtool import uninstall

    box = _box(tmp_path, locked, run_cli)
    uninstall(box / ".venv" / "bin" / "python", ["alpha"])
    status = run_cli(*_args(locked, box), "status")
    assert "python    + alpha 1.0" in status.stdout, status
    doctor = run_cli(*_args(locked, box), "doctor")
    assert "1 of 3 differ" in doctor.stdout and "alpha missing" in doctor.stdout
    assert run_cli(*_args(locked, box), "sync").exit_code == 0
    assert "Already in sync" in run_cli(*_args(locked, box), "status").stdout
    skipped = run_cli(*_args(locked, box), "status", "--no-python")
    assert "Python package" not in skipped.stdout


def test_doctor_reports_a_windows_portable_install(locked, run_cli, tmp_path):
    portable = tmp_path / "ComfyUI_windows_portable"
    root = portable / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (portable / "python_embeded").mkdir()
    (portable / "python_embeded" / "python.exe").write_bytes(b"MZ")
    doctor = run_cli(*_args(locked, root), "doctor")
    assert "a Windows portable install" in doctor.stdout, doctor
    assert "python_embeded" in doctor.stdout
    sync = run_cli(*_args(locked, root), "sync", "--no-core", "--no-nodes")
    assert sync.exit_code == 1 and "python_embeded" in sync.stderr


def test_python_flag_and_env_choose_the_interpreter(locked, run_cli, tmp_path, monkeypatch):
    box = _box(tmp_path, locked, run_cli)
    venv = box / ".venv"
    moved = tmp_path / "elsewhere-venv"
    venv.rename(moved)
    none = run_cli(*_args(locked, box), "status")
    assert "no Python interpreter for ComfyUI" in none.stdout, none
    given = run_cli(*_args(locked, box), "status", "--python", str(moved))
    assert "Already in sync" in given.stdout, given
    monkeypatch.setenv("COMFYLOCK_PYTHON", str(moved / "bin" / "python"))
    assert "Already in sync" in run_cli(*_args(locked, box), "status").stdout
    bad = run_cli(*_args(locked, box), "status", "--python-target", "nope")
    assert bad.exit_code == 2 and "no such target" in bad.stderr


def test_a_box_from_nothing_gets_its_own_venv_whatever_venv_is_active(
    locked, run_cli, tmp_path, monkeypatch
):
    # SPEC §9: --install-comfyui creates DIR/.venv; a venv active in the shell (often the one
    # comfylock itself lives in) is neither used nor touched
    shell_venv = tmp_path / "shell-venv"
    (shell_venv / "bin").mkdir(parents=True)
    monkeypatch.setenv("VIRTUAL_ENV", str(shell_venv))
    box = _box(tmp_path, locked, run_cli)
    assert (box / ".venv" / "bin" / "python").exists()
    assert "Already in sync" in run_cli(*_args(locked, box), "status").stdout
    assert list(shell_venv.rglob("*")) == [shell_venv / "bin"]
