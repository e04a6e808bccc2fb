"""gc deletes only what no registered lock references; verify quarantines corrupt blobs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from comfylock.store.sweep import plan_gc
from tests.support.syncutil import Model, write_lock


@pytest.fixture
def synced(tmp_path, run_cli):
    """Two projects synced into one store (by adoption: no network)."""
    projects = {}
    for name, data in (("p1", b"one"), ("p2", b"two")):
        root = tmp_path / name / "ComfyUI"
        target = root / "models" / "loras" / f"{name}.safetensors"
        target.parent.mkdir(parents=True)
        target.write_bytes(data)
        lock = write_lock(
            tmp_path / name / "comfy.lock", [Model("loras", f"{name}.safetensors", data)]
        )
        args = ["--lock", str(lock), "--comfyui-root", str(root)]
        assert run_cli(*args, "sync").exit_code == 0
        projects[name] = {"lock": lock, "args": args, "target": target, "data": data}
    return projects


def blobs() -> list[Path]:
    return sorted(
        p for p in (Path(os.environ["COMFYLOCK_STORE"]) / "blobs").rglob("*") if p.is_file()
    )


def test_plan_gc_is_pure():
    plan = plan_gc([("a" * 64, 5), ("b" * 64, 7)], frozenset({"a" * 64}))
    assert [i.sha256 for i in plan.delete] == ["b" * 64] and plan.kept == 1 and plan.freed == 7


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


def test_verify_ok(synced, run_cli):
    result = run_cli("verify")
    assert result.exit_code == 0, result
    assert "Checked 2 blobs" in result.stdout


def test_verify_quarantines_a_corrupt_blob(synced, run_cli):
    blob = blobs()[0]
    os.chmod(blob, 0o644)
    blob.write_bytes(b"rot")
    result = run_cli("verify")
    assert result.exit_code == 4, result
    store = Path(os.environ["COMFYLOCK_STORE"])
    assert (store / "quarantine" / blob.name).exists() and not blob.exists()
    # the next sync notices the dangling link and fetches/adopts again: here no source, so it reports
    status = run_cli(*synced["p1"]["args"], "status")
    assert status.exit_code == 0


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
