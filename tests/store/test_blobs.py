"""The content-addressed store: verified ingest, adoption, locks, layout."""

from __future__ import annotations

import errno
import hashlib
import os
import stat

import blake3
import pytest

from comfylock.errors import IntegrityError, UnsafePathError
from comfylock.store.hashing import Expected


def expected_for(data: bytes, with_blake3: bool = True) -> Expected:
    return Expected(
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        blake3=blake3.blake3(data).hexdigest() if with_blake3 else None,
    )


def test_layout_and_cachedir_tag(store):
    assert (
        (store.root / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    for d in ("blobs/sha256", "tmp", "locks"):
        assert (store.root / d).is_dir()


def test_ingest_places_a_read_only_blob_and_indexes_it(store):
    data = b"model bytes" * 1000
    exp = expected_for(data)
    tmp = store.tmp_path(exp.sha256)
    tmp.write_bytes(data)
    blob = store.ingest(tmp, exp)
    assert blob == store.root / "blobs" / "sha256" / exp.sha256[:2] / exp.sha256
    assert blob.read_bytes() == data and not tmp.exists()
    assert not blob.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert store.index.blake3_of(exp.sha256) == exp.blake3


@pytest.mark.parametrize("bad", ["sha256", "size", "blake3"])
def test_ingest_of_wrong_bytes_places_nothing(store, bad):
    data = b"right bytes"
    exp = expected_for(data)
    wrong = {"sha256": b"wrong bytes", "size": b"right bytes!", "blake3": data}[bad]
    if bad == "blake3":
        exp = Expected(size=exp.size, sha256=exp.sha256, blake3="0" * 64)
    tmp = store.tmp_path(exp.sha256)
    tmp.write_bytes(wrong)
    with pytest.raises(IntegrityError):
        store.ingest(tmp, exp)
    assert list(store.iter_blobs()) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_adopt_hardlinks_on_the_same_filesystem(store, tmp_path):
    data = b"a user's model"
    user = tmp_path / "models" / "x.safetensors"
    user.parent.mkdir()
    user.write_bytes(data)
    blob = store.adopt(user, expected_for(data))
    assert blob.stat().st_ino == user.stat().st_ino
    assert user.read_bytes() == data


def test_adopt_copies_across_filesystems(store, tmp_path, monkeypatch):
    data = b"a user's model on another disk"
    user = tmp_path / "x.safetensors"
    user.write_bytes(data)

    def no_link(*a, **k):
        raise OSError(errno.EXDEV, "cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    blob = store.adopt(user, expected_for(data))
    assert blob.read_bytes() == data and blob.stat().st_ino != user.stat().st_ino


def test_adopt_of_a_changed_file_is_refused(store, tmp_path):
    user = tmp_path / "x.safetensors"
    user.write_bytes(b"changed since it was observed")
    with pytest.raises(IntegrityError):
        store.adopt(user, expected_for(b"what was observed"))
    assert list(store.iter_blobs()) == []


def test_digest_lock_excludes_a_second_holder(store):
    sha = "a" * 64
    with store.digest_lock(sha), store.file_lock(sha, blocking=False) as got:
        assert got is False
    with store.file_lock(sha, blocking=False) as got:
        assert got is True


@pytest.mark.parametrize("name", ["../" + "a" * 61, "A" * 64, "a" * 63, "/etc/passwd"])
def test_blob_paths_only_for_digests(store, name):
    with pytest.raises(UnsafePathError):
        store.blob_path(name)


def test_displace_keeps_the_users_file(store, tmp_path):
    user = tmp_path / "mine.bin"
    user.write_bytes(b"mine")
    run = store.displace_dir()
    moved = store.displace(user, run)
    assert moved.read_bytes() == b"mine" and not user.exists()
    assert moved.is_relative_to(run) and run.parent == store.root / "displaced"
    assert moved.relative_to(run) == user.relative_to(user.anchor)  # the whole path is kept


def test_adopt_copies_a_file_the_user_also_keeps_elsewhere(store, tmp_path):
    data = b"shared with another name"
    real = tmp_path / "library" / "x.safetensors"
    real.parent.mkdir()
    real.write_bytes(data)
    link = tmp_path / "models" / "x.safetensors"
    link.parent.mkdir()
    link.symlink_to(real)
    blob = store.adopt(link, expected_for(data))
    assert blob.stat().st_ino != real.stat().st_ino
    assert real.stat().st_mode & stat.S_IWUSR  # the user's file keeps its mode


def _counting_hash_file(monkeypatch) -> list[str]:
    """Files the store hashes itself (``hashing.hash_file``), as it re-reads them."""
    from comfylock.store import hashing

    calls: list[str] = []
    real = hashing.hash_file

    def counting(path, **kw):
        calls.append(str(path))
        return real(path, **kw)

    monkeypatch.setattr(hashing, "hash_file", counting)
    return calls


def test_ingest_trusts_a_stream_hash_of_this_very_file(store, monkeypatch):
    from comfylock.store.hashing import StreamHasher

    data = os.urandom(3 * 1024 * 1024 + 5)
    exp = expected_for(data)
    tmp = store.tmp_path(exp.sha256)
    tmp.write_bytes(data)
    streamed = StreamHasher(tmp, blake3=True)
    streamed.advance(1024 * 1024)  # a prefix while "downloading"; the tail is read at ingest
    calls = _counting_hash_file(monkeypatch)
    blob = store.ingest(tmp, exp, streamed=streamed)
    assert blob.read_bytes() == data and calls == []  # nothing read twice
    streamed.close()


@pytest.mark.parametrize("doubt", ["rewritten", "replaced"])
def test_ingest_hashes_again_on_any_doubt_about_the_stream(store, monkeypatch, doubt):
    """The stream saw other bytes (a piece written again after it was read, another inode):
    the store reads the file itself and places it only if that matches."""
    from comfylock.store.hashing import StreamHasher

    data = os.urandom(2 * 1024 * 1024)
    exp = expected_for(data)
    tmp = store.tmp_path(exp.sha256)
    tmp.write_bytes(b"\0" * len(data) if doubt == "rewritten" else data)
    streamed = StreamHasher(tmp, blake3=True)
    streamed.advance(len(data))
    if doubt == "rewritten":  # same inode, new bytes after they were hashed
        with open(tmp, "r+b") as fh:
            fh.write(data)
    elif doubt == "replaced":
        tmp.unlink()
        tmp.write_bytes(data)
    calls = _counting_hash_file(monkeypatch)
    blob = store.ingest(tmp, exp, streamed=streamed)
    assert blob.read_bytes() == data
    assert len(calls) == 1
    streamed.close()


def test_ingest_refuses_wrong_bytes_even_when_the_stream_agreed(store):
    """A stream hash of the right bytes does not vouch for a file changed afterwards to
    other bytes of another size."""
    from comfylock.store.hashing import StreamHasher

    data = os.urandom(1024 * 1024)
    exp = expected_for(data)
    tmp = store.tmp_path(exp.sha256)
    tmp.write_bytes(data)
    streamed = StreamHasher(tmp, blake3=True)
    streamed.advance(len(data))
    with open(tmp, "ab") as fh:
        fh.write(b"more")
    with pytest.raises(IntegrityError):
        store.ingest(tmp, exp, streamed=streamed)
    assert list(store.iter_blobs()) == []
    streamed.close()


def test_fs_displace_never_moves_onto_an_existing_name(tmp_path):
    from comfylock.store.blobs import Store

    store = Store(tmp_path / "store").ensure()
    run = store.displace_dir()
    first, second = tmp_path / "a" / "f.bin", tmp_path / "b" / "f.bin"
    for p, data in ((first, b"first"), (second, b"second")):
        p.parent.mkdir()
        p.write_bytes(data)
    moved = store.displace(first, run)
    second.rename(first)  # another file at the same path, displaced in the same run
    again = store.displace(first, run)
    assert moved != again and moved.read_bytes() == b"first" and again.read_bytes() == b"second"
    assert store.displace_dir() != run
