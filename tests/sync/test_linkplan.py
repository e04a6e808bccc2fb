"""The link planner (``sync/linkplan.py``): a lock the receipt cannot vouch for (touched,
rewritten with the same bytes) is planned from its bytes and a fresh look at every link,
with the standard library only. Its agreement with the full CLI over a family of changes is
in ``tests/sync/test_receipt_agreement.py``."""

from __future__ import annotations

import os

from comfylock.__main__ import planned
from comfylock.sync import linkplan, receipt
from tests.support.imports import imported_in_child
from tests.support.syncutil import retarget_link


def test_a_touched_lock_is_answered_without_msgspec_pathlib_or_click(synced, run_cli):
    args = [*synced["args"], "sync"]
    assert run_cli(*args).exit_code == 0  # the full run leaves the receipt and its context
    os.utime(synced["lock"])
    assert receipt.try_fast(args) is None  # the receipt cannot vouch for a new signature
    heavy = ("click", "msgspec", "pathlib", "tomllib", "sqlite3", "typing")
    out, rc, loaded = imported_in_child(args, heavy, script=True)
    assert (out, rc, loaded) == ("Already in sync: 3 models, 0 node packs\n", 0, [])


def test_a_lock_rewritten_just_now_still_leaves_the_link_planner_its_context(
    synced, capsys, monkeypatch
):
    """A lock changed within the racy window gets no receipt (its signature could still
    change unseen), but the link planner knows it by its bytes: the next run is answered."""
    args = [*synced["args"], "status"]
    synced["lock"].write_bytes(synced["lock"].read_bytes())
    # NOTE: the world is seconds old: only the lock is held racy here (ctime cannot be
    # set back), as a `git pull` a moment before the run leaves it
    lock = str(synced["lock"])
    monkeypatch.setattr(receipt, "_is_racy", lambda path: path == lock)
    assert planned(args) == 0  # the planned path plans it and writes what it may
    capsys.readouterr()
    assert receipt.try_fast(args) is None
    assert linkplan.answer(args) == 0
    assert capsys.readouterr().out == "Already in sync: 3 models, 0 node packs\n"


def test_a_link_that_changed_sends_the_run_to_the_full_planner(synced, run_cli, capsys):
    args = [*synced["args"], "status"]
    assert run_cli(*args).exit_code == 0
    os.utime(synced["lock"])
    retarget_link(synced)
    capsys.readouterr()
    assert linkplan.answer(args) is None
    assert capsys.readouterr().out == ""  # nothing said: the full CLI says what changed
