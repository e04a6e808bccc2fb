"""The console script's planned path (``__main__.planned``): a sync/status the no-op receipt
cannot answer (the lock was touched, nothing was vouched for) is planned without click, and
answered only when there is nothing to do; anything else is left to the full CLI, untouched.
Its agreement with the full CLI over a family of changes is in
``tests/sync/test_receipt_agreement.py``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from comfylock.__main__ import planned
from comfylock.sync import receipt
from tests.support.imports import imported_in_child
from tests.support.syncutil import delete_blob


def _touch(world) -> None:
    """What a `git pull` that rewrote the lock with the same bytes leaves: a new mtime."""
    os.utime(world["lock"])


def test_a_touched_lock_is_planned_without_click(synced, run_cli):
    args = [*synced["args"], "sync"]
    assert run_cli(*args).exit_code == 0
    _touch(synced)
    assert receipt.try_fast(args) is None  # the receipt cannot vouch for it
    heavy = ("click", "tomllib", "httpx", "rich")
    out, rc, loaded = imported_in_child(args, heavy, script=True)
    assert (out, rc, loaded) == ("Already in sync: 3 models, 0 node packs\n", 0, [])


@pytest.mark.parametrize("command", ["sync", "status"])
def test_work_to_do_is_left_to_the_full_cli_and_nothing_changes(synced, capsys, command):
    args = [*synced["args"], command]
    delete_blob(synced)
    before = sorted(p for p in synced["root"].rglob("*"))
    capsys.readouterr()
    assert planned(args) is None
    assert capsys.readouterr() == ("", "")
    assert sorted(p for p in synced["root"].rglob("*")) == before


@pytest.mark.parametrize(
    "tail",
    [["sync", "--json"], ["-v", "sync"], ["sync", "--dry-run"], ["status", "--prune"], ["sync"]],
)
def test_only_the_shapes_the_receipt_knows_are_planned_here(synced, capsys, tail):
    """--json, -v, --dry-run, --prune…: the full CLI's (a --lock value that looks like an
    option as well)."""
    args = [*synced["args"], *tail]
    if tail == ["sync"]:
        args = ["--lock", "-x", *args[2:], "sync"]
    capsys.readouterr()
    assert planned(args) is None
    assert capsys.readouterr() == ("", "")


def test_an_error_is_left_to_the_full_cli_to_say(synced, capsys, run_cli):
    synced["lock"].write_text("version = [\n")
    args = [*synced["args"], "status"]
    capsys.readouterr()
    assert planned(args) is None
    assert capsys.readouterr() == ("", "")
    full = run_cli(*args)
    assert full.exit_code == 2 and "not valid TOML" in full.stderr, full


def test_a_line_wider_than_columns_is_left_to_the_full_cli_to_fit(synced, capsys, monkeypatch):
    args = [*synced["args"], "status"]
    monkeypatch.setenv("COLUMNS", "30")  # "Already in sync: 3 models, 0 node packs" is 40
    capsys.readouterr()
    assert planned(args) is None
    assert capsys.readouterr() == ("", "")
    monkeypatch.setenv("COLUMNS", "80")
    assert planned(args) == 0


def test_a_plan_with_work_asks_no_remote(synced, server, monkeypatch):
    """Which remote has a blob is the full command's question (it asks once, then fetches):
    the planned path, which only answers a sync with nothing to do, sends no request."""
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"cdn={server.url_for('/mirror')}")
    delete_blob(synced)
    before = len(server.log)
    assert planned([*synced["args"], "sync"]) is None
    assert len(server.log) == before, server.log[before:]


@pytest.mark.skipif(shutil.which("aria2c") is None, reason="needs aria2c (make test installs it)")
def test_the_planned_paths_downloads_are_handed_to_the_full_command(synced, run_cli, monkeypatch):
    """A sync with work: the planned pass has aria2c fetching already (~0.1 s before the CLI
    would), and the full command of the same process takes that aria2c over, not a second."""
    from comfylock.sync import job

    args = [*synced["args"], "sync"]
    delete_blob(synced)
    launches: list = []
    real = subprocess.Popen

    def counting(cmd, *a, **k):
        if cmd and str(cmd[0]).endswith("aria2c"):
            launches.append(cmd)
        return real(cmd, *a, **k)

    monkeypatch.setattr(subprocess, "Popen", counting)
    assert planned(args) is None
    assert len(job._HANDED) == 1  # aria2c starts on its own thread: counted at the end
    result = run_cli(*args)
    assert result.exit_code == 0, result
    assert not job._HANDED and len(launches) == 1
    assert "Already in sync" in run_cli(*args).stdout


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("touched", [False, True])
def test_an_answer_that_cannot_be_written_is_one_line_and_exit_6(synced, run_cli, touched):
    # stdout on a full disk: the receipt's or the planned path's answer fails to write
    args = [*synced["args"], "status"]
    assert run_cli(*args).exit_code == 0
    if touched:
        _touch(synced)  # the planned path answers, not the receipt
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "comfylock", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=60,
        )
    assert done.returncode == 6, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
