"""gc deletes only what no registered lock references; verify quarantines corrupt blobs."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.syncutil import store_blobs as blobs


def test_gc_keeps_referenced_blobs(synced, run_cli):
    result = run_cli("gc")
    assert result.exit_code == 0, result
    assert len(blobs()) == 2


def test_gc_collects_a_deleted_locks_blobs_after_a_dry_run(synced, run_cli):
    synced["p2"]["lock"].unlink()
    synced["p2"]["target"].unlink()  # the project's link is gone too: nothing uses the blob
    dry = run_cli("gc", "--dry-run")
    assert "would delete" in dry.stdout and len(blobs()) == 2
    result = run_cli("gc")
    assert result.exit_code == 0, result
    assert len(blobs()) == 1
    assert synced["p1"]["target"].read_bytes() == b"one"


def test_a_lock_already_in_sync_registers_itself(synced, run_cli, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(synced["p2"]["lock"], copy / "comfy.lock")
    root = synced["p2"]["target"].parents[2]
    assert (
        run_cli("--lock", str(copy / "comfy.lock"), "--comfyui-root", str(root), "sync").exit_code
        == 0
    )
    synced["p2"]["lock"].unlink()
    run_cli("gc")
    assert len(blobs()) == 2  # the copy still references p2's blob


def test_gc_refuses_while_a_sync_holds_the_store(synced, run_cli):
    from comfylock.store.blobs import Store

    store = Store(Path(os.environ["COMFYLOCK_STORE"]))
    with store.file_lock("gc", shared=True):
        result = run_cli("gc")
    assert result.exit_code == 5, result
    assert len(blobs()) == 2
