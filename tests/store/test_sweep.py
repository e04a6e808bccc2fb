"""store/sweep.py: gc keeps every blob a lock or a live link still uses."""

from __future__ import annotations

import pytest

from comfylock.store.sweep import plan_gc
from tests.support.syncutil import Model, write_lock
from tests.support.syncutil import comfyui_root as _comfyui
from tests.support.syncutil import store_dir as _store


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_fs_gc_keeps_the_blob_of_an_adopted_file_the_lock_stopped_naming(tmp_path, run_cli, link):
    """Before: the user's adopted file became a link into the store, the lock dropped it,
    gc deleted the blob and the user's path was left dangling."""
    root = _comfyui(tmp_path)
    mine = root / "models" / "loras" / "mine.safetensors"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the user's own lora, adopted")
    lock = write_lock(
        tmp_path / "comfy.lock", [Model("loras", "mine.safetensors", mine.read_bytes())]
    )
    args = ["--lock", str(lock), "--comfyui-root", str(root)]
    assert run_cli(*args, "sync", "--link", link).exit_code == 0
    assert link != "symlink" or mine.is_symlink()  # adopted: now a link into the store
    write_lock(lock, [])  # the workflow no longer uses it
    result = run_cli(*args, "gc")
    assert result.exit_code == 0, result
    assert mine.read_bytes() == b"the user's own lora, adopted"
    assert str(mine) in result.stdout  # says which path keeps the blob
    blobs = [p for p in (_store() / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    mine.unlink()  # the user removes it: now nothing depends on the blob
    assert run_cli(*args, "gc").exit_code == 0
    assert not [p for p in (_store() / "blobs").rglob("*") if p.is_file()]


def test_plan_gc_is_pure():
    plan = plan_gc([("a" * 64, 5), ("b" * 64, 7)], frozenset({"a" * 64}))
    assert [i.sha256 for i in plan.delete] == ["b" * 64] and plan.kept == 1 and plan.freed == 7
