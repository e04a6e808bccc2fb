"""machine/hashcache.py: each model file's digests remembered under (dev, ino, size, mtime_ns);
a mismatch means unknown, never trusted."""

from __future__ import annotations

import os
import sqlite3

import pytest

from comfylock.machine import hashcache
from comfylock.machine.hashcache import HashCache, cached_hash
from comfylock.store.hashing import Digest, hash_file
from tests.support.syncutil import digest_of as _expected


def _backdate(path, seconds: int = 3600) -> None:
    """Make the file old enough that its cache row is not 'racily clean'."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "models" / "m.safetensors"
    path.parent.mkdir()
    path.write_bytes(b"weights" * 1000)
    _backdate(path)
    return path


def test_cache_round_trip_across_instances(tmp_path, model):
    digest = hash_file(model)
    with HashCache.in_dir(tmp_path / "cache" / "deep") as cache:
        cache.put(model, os.stat(model), digest)
    assert (tmp_path / "cache" / "deep" / "hashes.sqlite").is_file()
    with HashCache.in_dir(tmp_path / "cache" / "deep") as cache:
        assert cache.get(model, os.stat(model)) == digest


def test_pending_rows_are_visible_before_flush(tmp_path, model):
    cache = HashCache.in_dir(tmp_path / "c")
    digest = hash_file(model)
    cache.put(model, os.stat(model), digest)
    assert cache.get(model, os.stat(model)) == digest
    cache.close()


def test_cache_is_not_trusted_after_size_change(tmp_path, model):
    with HashCache.in_dir(tmp_path / "c") as cache:
        st = os.stat(model)
        cache.put(model, st, hash_file(model))
        with open(model, "ab") as f:
            f.write(b"more")
        os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime, new size
        assert cache.get(model, os.stat(model)) is None


def test_cache_is_not_trusted_after_mtime_change(tmp_path, model):
    with HashCache.in_dir(tmp_path / "c") as cache:
        st = os.stat(model)
        cache.put(model, st, hash_file(model))
        model.write_bytes(b"WEIGHTS" * 1000)  # same size, new bytes
        os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
        assert os.stat(model).st_size == st.st_size
        assert cache.get(model, os.stat(model)) is None


def test_cache_is_not_trusted_after_inode_change(tmp_path, model):
    with HashCache.in_dir(tmp_path / "c") as cache:
        st = os.stat(model)
        cache.put(model, st, hash_file(model))
        other = model.with_name("new.tmp")
        other.write_bytes(b"WEIGHTS" * 1000)
        os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(other, model)  # same path, size and mtime: only the inode differs
        new = os.stat(model)
        assert (new.st_size, new.st_mtime_ns) == (st.st_size, st.st_mtime_ns)
        assert cache.get(model, new) is None


def test_racily_clean_entry_is_not_trusted(tmp_path):
    path = tmp_path / "fresh.bin"
    path.write_bytes(b"just written")
    with HashCache.in_dir(tmp_path / "c") as cache:
        cache.put(path, os.stat(path), hash_file(path))
        # mtime is "now": a same-size rewrite within the timestamp tick would go unseen.
        assert cache.get(path, os.stat(path)) is None


def test_put_ignores_digest_of_other_size(tmp_path, model):
    with HashCache.in_dir(tmp_path / "c") as cache:
        cache.put(model, os.stat(model), Digest(1, "0" * 64, "0" * 64))
        assert cache.get(model, os.stat(model)) is None


def test_other_schema_version_is_discarded(tmp_path, model):
    db_path = tmp_path / "c" / "hashes.sqlite"
    with HashCache(db_path) as cache:
        cache.put(model, os.stat(model), hash_file(model))
    db = sqlite3.connect(db_path)
    db.execute(f"PRAGMA user_version={hashcache.SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with HashCache(db_path) as cache:
        assert cache.get(model, os.stat(model)) is None
    assert (
        sqlite3.connect(db_path).execute("PRAGMA user_version").fetchone()[0]
        == hashcache.SCHEMA_VERSION
    )


def test_corrupt_cache_file_is_replaced(tmp_path, model):
    db_path = tmp_path / "c" / "hashes.sqlite"
    db_path.parent.mkdir()
    db_path.write_bytes(b"this is not a database" * 100)
    with HashCache(db_path) as cache:
        digest = hash_file(model)
        cache.put(model, os.stat(model), digest)
    with HashCache(db_path) as cache:
        assert cache.get(model, os.stat(model)) == digest


def test_two_processes_share_the_cache(tmp_path, model):
    db_path = tmp_path / "c" / "hashes.sqlite"
    first, second = HashCache(db_path), HashCache(db_path)
    digest = hash_file(model)
    first.put(model, os.stat(model), digest)
    first.flush()
    assert second.get(model, os.stat(model)) == digest
    second.put(model, os.stat(model), digest)
    second.close()
    first.close()
    assert sqlite3.connect(db_path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_cached_hash_reads_only_on_miss(tmp_path, model, reads):
    with HashCache.in_dir(tmp_path / "c") as cache:
        assert cached_hash(model, cache) == _expected(model.read_bytes())
        assert len(reads.opened) == 1
        assert cached_hash(model, cache) == _expected(model.read_bytes())
        assert len(reads.opened) == 1
        model.write_bytes(b"changed")
        _backdate(model, 60)
        assert cached_hash(model, cache) == _expected(b"changed")
        assert len(reads.opened) == 2


def test_cached_hash_without_cache_always_reads(model, reads):
    cached_hash(model, None)
    cached_hash(model, None)
    assert len(reads.opened) == 2


def test_preload_serves_rows_under_the_directory_and_queries_outside(tmp_path, model):
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(b"x")
    _backdate(outside)
    with HashCache.in_dir(tmp_path / "c") as cache:
        cache.put(model, os.stat(model), hash_file(model))
        cache.put(outside, os.stat(outside), hash_file(outside))
    with HashCache.in_dir(tmp_path / "c") as cache:
        cache.preload(model.parent)
        assert cache.get(model, os.stat(model)) == hash_file(model)
        assert cache.get(outside, os.stat(outside)) == hash_file(outside)
        assert cache.get(model.with_name("absent.bin"), os.stat(model)) is None


def test_rows_flushed_after_preload_are_found(tmp_path, model):
    with HashCache.in_dir(tmp_path / "c") as cache:
        cache.preload(model.parent)
        digest = hash_file(model)
        cache.put(model, os.stat(model), digest)
        cache.flush()
        assert cache.get(model, os.stat(model)) == digest


def test_flush_while_another_process_writes_drops_rows_without_error(tmp_path, model):
    db_path = tmp_path / "c" / "hashes.sqlite"
    digest = hash_file(model)
    with HashCache(db_path) as cache:
        cache.put(model, os.stat(model), digest)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        cache = HashCache(db_path, timeout=0.05)
        assert cache.get(model, os.stat(model)) == digest  # WAL: reading is not blocked
        newer = model.with_name("new.bin")
        newer.write_bytes(b"n")
        cache.put(newer, os.stat(newer), hash_file(newer))
        cache.flush()  # times out: the rows are dropped, nothing raises
    finally:
        other.execute("ROLLBACK")
        other.close()
    cache.close()
    with HashCache(db_path) as cache:
        assert cache.get(model, os.stat(model)) == digest
