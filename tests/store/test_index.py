"""store/index.py: the store's SQLite index; a full disk under it is exit 6."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.output import one_error_line as _one_error_line
from tests.support.paths import ROOT
from tests.support.syncutil import Model, write_lock
from tests.support.syncutil import comfyui_root as _comfyui
from tests.support.syncutil import store_dir as _store


def test_lock_full_store_index_is_exit_6_disk_full(tmp_path):
    """SQLite's "database or disk is full" is a local disk error, not an internal one."""
    from comfylock.errors import describe_os_error
    from comfylock.store.blobs import Store

    store = Store(tmp_path / "store").ensure()
    index = store.index
    pages = index._db.execute("PRAGMA page_count").fetchone()[0]
    index._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk "is full" now
    with pytest.raises(OSError) as info:
        for i in range(10_000):
            index.add_blob(f"{i:064x}", i, "b" * 64)
    assert "disk full" in describe_os_error(info.value)
    assert str(store.index_path) in describe_os_error(info.value)
    store.close()


_FSIZE_SYNC = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from comfylock.cli import main
main(sys.argv[2:])
"""


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="RLIMIT_FSIZE")
def test_lock_a_store_index_that_cannot_grow_ends_in_exit_6(tmp_path, run_cli):
    """A sync whose index write fails (the file may not grow: a full disk as the kernel
    sees it) ends with one error line and exit 6, not an internal error."""
    root = _comfyui(tmp_path)
    first = root / "models" / "loras" / "a.safetensors"
    first.parent.mkdir(parents=True)
    first.write_bytes(b"first")
    lock = write_lock(tmp_path / "comfy.lock", [Model("loras", "a.safetensors", b"first")])
    args = ["--lock", str(lock), "--comfyui-root", str(root)]
    assert run_cli(*args, "sync").exit_code == 0
    many = [
        Model("loras", f"m{i:03}.safetensors", f"user file {i}".encode() * 50) for i in range(60)
    ]
    for m in many:
        (root / "models" / "loras" / m.name).write_bytes(m.data)
    write_lock(lock, many)
    index = _store() / "index.sqlite"
    proc = subprocess.run(
        [sys.executable, "-c", _FSIZE_SYNC, str(index.stat().st_size), *args, "sync"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.returncode == 6, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "index.sqlite" in line and "disk" in line
    for m in many:  # every user file is still there, with its bytes
        assert (root / "models" / "loras" / m.name).read_bytes() == m.data


def test_index_records_links_and_locks(store):
    from comfylock.store.index import LinkRow

    store.index.record_link(LinkRow("/m/a", "b" * 64, "/p/comfy.lock", "symlink"))
    store.index.register_lock("/p/comfy.lock")
    assert [r.target for r in store.index.links("/p/comfy.lock")] == ["/m/a"]
    assert store.index.locks() == ["/p/comfy.lock"]


def test_index_blobs_keep_a_known_blake3(tmp_path):
    from comfylock.store.index import StoreIndex

    index = StoreIndex(tmp_path / "index.sqlite")
    try:
        index.add_blob("a" * 64, 3, "b" * 64)
        index.add_blob("a" * 64, 3, None)  # a later ingest without blake3 keeps the known one
        assert index.blake3_of("a" * 64) == "b" * 64
        index.remove_blob("a" * 64)
        assert index.blake3_of("a" * 64) is None
    finally:
        index.close()


def test_index_links_per_lock_and_registered_locks_survive_a_reopen(tmp_path):
    from comfylock.store.index import LinkRow, StoreIndex

    path = tmp_path / "index.sqlite"
    index = StoreIndex(path)
    one = LinkRow("/m/loras/b.safetensors", "a" * 64, "/p1/comfy.lock", "symlink")
    two = LinkRow("/m/loras/a.safetensors", "c" * 64, "/p2/comfy.lock", "copy", 3, 5, 7)
    index.record_link(one)
    index.record_link(two)
    index.register_lock("/p2/comfy.lock")
    index.register_lock("/p1/comfy.lock")
    index.close()
    index = StoreIndex(path)
    try:
        assert index.links() == [two, one]  # sorted by target
        assert index.links("/p1/comfy.lock") == [one]
        assert index.locks() == ["/p1/comfy.lock", "/p2/comfy.lock"]
        index.forget_link(one.target)
        index.forget_lock("/p1/comfy.lock")
        assert index.links() == [two] and index.locks() == ["/p2/comfy.lock"]
    finally:
        index.close()


def test_a_damaged_index_is_an_integrity_error_not_a_crash(tmp_path):
    from comfylock.errors import IntegrityError
    from comfylock.store.index import StoreIndex

    path = tmp_path / "index.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IntegrityError, match="store index is damaged"):
        index = StoreIndex(path)
        index.locks()
