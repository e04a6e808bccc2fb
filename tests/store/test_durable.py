"""store/durable.py: verified blobs handed to a Placer are synced, renamed into place and
indexed in one batch, the digest lock going with each; a failed placement says so."""

from __future__ import annotations

import contextlib
import stat

import pytest

from comfylock.errors import IntegrityError
from comfylock.store.durable import Placer
from tests.store.test_blobs import expected_for


def _download(store, data: bytes):
    exp = expected_for(data)
    tmp = store.tmp_path(exp.sha256)
    tmp.write_bytes(data)
    return tmp, exp


def _held(store, sha: str) -> contextlib.ExitStack:
    stack = contextlib.ExitStack()
    stack.enter_context(store.digest_lock(sha))
    return stack


def test_a_placed_batch_is_in_place_read_only_and_indexed_once_closed(store):
    placer = Placer(store)
    blobs = []
    for i in range(5):
        tmp, exp = _download(store, b"lora %d " % i * 5000)
        with _held(store, exp.sha256) as held:
            blob = store.ingest(tmp, exp, placer=placer, held=held)
        blobs.append((blob, exp))
    assert placer.failures() == {}
    placer.close()
    for blob, exp in blobs:
        assert blob.is_file() and stat.S_IMODE(blob.stat().st_mode) == 0o444
        assert store.index.blake3_of(exp.sha256) == exp.blake3
    assert not [p for p in store.tmp_dir.iterdir() if p.name.endswith(".verify")]


def test_the_digest_lock_goes_with_the_blob(store):
    placer = Placer(store)
    tmp, exp = _download(store, b"x" * 10_000)
    with _held(store, exp.sha256) as held:
        store.ingest(tmp, exp, placer=placer, held=held)
    placer.failures()  # every placement done
    with store.file_lock(exp.sha256, blocking=False) as got:
        assert got, "the placer released the digest lock once the blob was in place"
    placer.close()


def test_wrong_bytes_are_refused_before_the_placer_sees_them(store):
    placer = Placer(store)
    tmp, exp = _download(store, b"good" * 1000)
    tmp.write_bytes(b"evil" * 1000)
    with _held(store, exp.sha256) as held, pytest.raises(IntegrityError):
        store.ingest(tmp, exp, placer=placer, held=held)
    placer.close()
    assert not store.has(exp.sha256) and placer.failures() == {}


def test_a_placement_that_fails_is_reported_and_leaves_nothing(store):
    placer = Placer(store)
    tmp, exp = _download(store, b"y" * 10_000)
    shard = store.blob_path(exp.sha256).parent
    shard.parent.mkdir(parents=True, exist_ok=True)
    shard.write_bytes(b"")  # a file where the blob's directory goes: fails even for root
    with _held(store, exp.sha256) as held:
        store.ingest(tmp, exp, placer=placer, held=held)
    failed = placer.failures()
    placer.close()
    assert list(failed) == [exp.sha256] and isinstance(failed[exp.sha256], OSError)
    assert not store.has(exp.sha256)
    assert not [p for p in store.tmp_dir.iterdir() if p.name.endswith(".verify")]
