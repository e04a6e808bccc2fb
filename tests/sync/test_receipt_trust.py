"""The no-op receipt vouches only for what its decision rests on (issue 16, attacks 3 and 4,
hole b): symlinked inputs are signed through to their targets, a damaged receipt is dropped
without a word, and a lock or config created nearer the working directory is noticed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from comfylock.sync import receipt


def _move_behind_a_symlink(path: Path, elsewhere: Path) -> Path:
    """Keep the real file in ``elsewhere`` (a dotfiles repo, a lock shared across installs)
    and leave a symlink at ``path``; returns the real file."""
    elsewhere.mkdir(parents=True, exist_ok=True)
    real = elsewhere / path.name
    shutil.move(path, real)
    path.symlink_to(real)
    return real


def test_a_symlinked_lock_edited_through_its_target_is_noticed(synced, run_cli, tmp_path):
    lock = synced["lock"]
    real = _move_behind_a_symlink(lock, tmp_path / "shared-locks")
    args = [*synced["args"], "status"]
    assert run_cli(*args).stdout.startswith("Already in sync")
    assert receipt.try_fast(args) == 0
    text = real.read_text()
    real.write_text(text.replace('name = "vae.safetensors"', 'name = "vae2.safetensors"'))
    assert receipt.try_fast(args) is None
    assert "Already in sync" not in run_cli(*args).stdout


def test_a_symlinked_extra_model_paths_yaml_edited_through_its_target_is_noticed(
    synced, run_cli, tmp_path
):
    yaml = synced["root"] / "extra_model_paths.yaml"
    yaml.write_text("other:\n  upscale_models: /nowhere\n")
    real = _move_behind_a_symlink(yaml, tmp_path / "dotfiles")
    args = [*synced["args"], "status"]
    assert run_cli(*args).stdout.startswith("Already in sync")
    assert receipt.try_fast(args) == 0
    real.write_text("other: [\n")  # now the full CLI stops: exit 2
    assert receipt.try_fast(args) is None
    assert run_cli(*args).exit_code == 2


def test_a_symlinked_comfylock_toml_edited_through_its_target_is_noticed(synced, run_cli, tmp_path):
    config = synced["lock"].parent / "comfylock.toml"
    config.write_text("allow-http = []\n")
    real = _move_behind_a_symlink(config, tmp_path / "team-config")
    args = [*synced["args"], "status"]
    assert run_cli(*args).stdout.startswith("Already in sync")
    assert receipt.try_fast(args) == 0
    real.write_text("this is = not [toml\n")
    assert receipt.try_fast(args) is None
    assert run_cli(*args).exit_code == 2


def _receipt_file(args) -> Path:
    key = receipt.parse(args)
    return Path(receipt._receipt_path(key, os.environ))


def test_every_damaged_byte_of_a_receipt_is_dropped_silently(synced, run_cli, capsys):
    args = [*synced["args"], "status"]
    full = run_cli(*args)
    path = _receipt_file(args)
    good = path.read_bytes()
    for at in range(0, len(good), max(1, len(good) // 97)):
        bad = bytearray(good)
        bad[at] ^= 0xFF
        path.write_bytes(bytes(bad))
        capsys.readouterr()
        assert receipt.try_fast(args) is None, at
        assert capsys.readouterr() == ("", ""), at
    path.write_bytes(good[: len(good) // 2])
    assert receipt.try_fast(args) is None
    again = run_cli(*args)  # the full CLI answers, and leaves a sound receipt again
    assert (again.exit_code, again.stdout, again.stderr) == (0, full.stdout, full.stderr)
    assert receipt.try_fast(args) == 0


@pytest.mark.parametrize("name", ["comfy.lock", "comfylock.toml"])
def test_a_lock_or_config_created_nearer_the_working_directory_is_noticed(
    synced, run_cli, monkeypatch, name
):
    """Without --lock the lock is found from the working directory up: a file the search
    would now stop at is a different project."""
    project = synced["lock"].parent
    sub = project / "workflows" / "portraits"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    args = ["--comfyui-root", str(synced["root"]), "status"]
    first = run_cli(*args)
    assert first.stdout.startswith("Already in sync"), first
    assert receipt.try_fast(args) == 0
    (sub.parent / name).write_text("version = 1\n" if name == "comfy.lock" else "")
    assert receipt.try_fast(args) is None
    assert run_cli(*args).stdout != first.stdout
