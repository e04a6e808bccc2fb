"""The no-op receipt (commands/noop.py): a second identical sync/status of an unchanged tree
answers before click is imported, prints what the full CLI printed, and any change, any
other invocation shape, falls through to the full CLI."""

from __future__ import annotations

import os
import sys

import pytest

from comfylock.sync import receipt as noop
from tests.support.imports import imported_in_child
from tests.support.syncutil import delete_blob as _delete_blob
from tests.support.syncutil import make_world, serve_world
from tests.support.syncutil import remove_link as _remove_link
from tests.support.syncutil import retarget_link as _change_link


def _fast(args, capsys):
    """The fast path alone, as the console script runs it first: (exit code or None, stdout)."""
    capsys.readouterr()
    code = noop.try_fast(list(args))
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    "tail",
    [["sync"], ["status"], ["-q", "sync"], ["status", "--no-nodes"], ["sync", "--no-aria2"]],
)
def test_second_noop_is_answered_by_the_receipt_with_the_same_output(synced, run_cli, capsys, tail):
    args = [*synced["args"], *tail]
    assert noop.try_fast(args) is None  # no receipt yet: the full CLI runs
    full = run_cli(*args)
    assert full.exit_code == 0, full
    assert full.stdout == ("" if "-q" in tail else "Already in sync: 3 models, 0 node packs\n")
    code, out = _fast(args, capsys)
    assert (code, out) == (0, full.stdout)
    # and the in-process CLI takes the same path, with the same result
    again = run_cli(*args)
    assert (again.exit_code, again.stdout, again.stderr) == (0, full.stdout, full.stderr)


def test_global_options_after_the_command_are_their_own_receipt(synced, run_cli, capsys):
    args = ["status", *synced["args"]]
    assert noop.try_fast(args) is None
    full = run_cli(*args)
    assert full.stdout == "Already in sync: 3 models, 0 node packs\n", full
    assert _fast(args, capsys) == (0, full.stdout)


def test_console_script_answers_without_importing_click_or_msgspec(synced, run_cli):
    args = [*synced["args"], "status"]
    assert run_cli(*args).exit_code == 0  # leaves the receipt
    out, rc, loaded = imported_in_child(args, ("click", "msgspec", "sqlite3"), script=True)
    assert (out, rc, loaded) == ("Already in sync: 3 models, 0 node packs\n", 0, [])


def _rewrite_lock(world):
    world["lock"].write_text(world["lock"].read_text())  # same bytes, a new ctime


def _model_paths_yaml(world):
    (world["root"] / "extra_model_paths.yaml").write_text("a:\n  loras: /elsewhere\n")


def _edited_code(world):
    path = noop.__file__
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns))  # ctime moves


@pytest.mark.parametrize(
    "change",
    [_change_link, _remove_link, _delete_blob, _rewrite_lock, _model_paths_yaml, _edited_code],
)
def test_any_change_falls_through_to_the_full_cli(synced, run_cli, capsys, change):
    args = [*synced["args"], "status"]
    before = run_cli(*args)
    assert noop.try_fast(args) == 0
    change(synced)
    assert noop.try_fast(args) is None, change.__name__
    capsys.readouterr()
    after = run_cli(*args)
    if change in (_rewrite_lock, _edited_code):  # still in sync, re-decided by the full CLI
        assert after.stdout == before.stdout
    elif change is not _model_paths_yaml:
        assert "Already in sync" not in after.stdout, after


def test_environment_the_run_read_is_part_of_the_receipt(synced, run_cli, monkeypatch):
    args = [*synced["args"], "status"]
    assert run_cli(*args).exit_code == 0
    assert noop.try_fast(args) == 0
    store = os.environ["COMFYLOCK_STORE"]
    monkeypatch.setenv("COMFYLOCK_STORE", str(synced["root"] / "another-store"))
    assert noop.try_fast(args) is None
    monkeypatch.setenv("COMFYLOCK_STORE", store)
    assert noop.try_fast(args) == 0
    monkeypatch.setenv("COMFYLOCK_NODE_TABLE", str(synced["root"] / "table.json"))
    assert noop.try_fast(args) is None  # any COMFYLOCK_* variable newly set counts


def test_a_freshly_changed_tree_leaves_no_receipt(tmp_path, server, monkeypatch, run_cli):
    """Links placed within the racy window could change again in the same clock tick."""
    world = make_world(tmp_path, server, monkeypatch, nodes=False)
    serve_world(world)
    assert run_cli(*world["args"], "sync", "--no-aria2").exit_code == 0
    assert run_cli(*world["args"], "status").exit_code == 0
    assert noop.try_fast([*world["args"], "status"]) is None


def test_locks_with_node_packs_or_workflows_get_no_receipt(tmp_path, server, monkeypatch, run_cli):
    world = make_world(tmp_path, server, monkeypatch, nodes=True)
    serve_world(world)
    assert run_cli(*world["args"], "sync", "--no-aria2").exit_code == 0
    monkeypatch.setattr(noop, "_RACY_NS", 0)
    assert run_cli(*world["args"], "status").exit_code == 0
    assert noop.try_fast([*world["args"], "status"]) is None  # git state: not vouched for
    assert run_cli(*world["args"], "status", "--no-nodes").exit_code == 0
    assert noop.try_fast([*world["args"], "status", "--no-nodes"]) == 0


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["sync", "--help"],
        ["-v", "sync"],
        ["sync", "--json"],
        ["snyc"],
        ["sync", "--dry-run"],
        ["status", "--prune"],
        ["sync", "status"],
        ["status", "--no-aria2"],
        ["--lock"],
        ["--version"],
        ["check"],
    ],
)
def test_other_invocations_go_through_click(args):
    assert noop.parse(args) is None


def test_the_shapes_it_takes(tmp_path):
    for args in (
        ["--lock", "x", "sync"],
        ["--lock=x", "-q", "status"],
        ["sync", "--comfyui-root", "r", "--no-color"],
        ["--store", "s", "--models-dir", "m", "status", "--no-nodes"],
    ):
        key = noop.parse(args)
        assert key is not None and key[2] == tuple(args)


@pytest.mark.parametrize(
    "env",
    [
        {"COMFYLOCK_CACHE_DIR": "/c"},
        {"XDG_CACHE_HOME": "/x"},
        {"XDG_CACHE_HOME": "  "},
        {},
    ],
)
def test_cache_dir_rule_matches_settings(monkeypatch, env):
    from comfylock.settings import default_cache_dir

    for var in ("COMFYLOCK_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    if sys.platform.startswith("linux"):
        assert noop._cache_dir(os.environ) == str(default_cache_dir())


def test_a_removed_working_directory_goes_through_click(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert noop.parse(["status"]) is None
