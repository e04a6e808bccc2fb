""""""

from __future__ import annotations

import os

import pytest

from comfylock.store import hashing
from comfylock.store.hashing import CHUNK_SIZE, hash_file
from tests.support.syncutil import digest_of as _expected


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12345],
    ids=["empty", "one", "chunk-1", "chunk", "chunk+1", "several-MiB"],
)
def test_hash_file_matches_hashlib_and_blake3(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "m.safetensors"
    path.write_bytes(data)
    expected = _expected(data)
    assert hash_file(path) == expected
    assert hashing.sha256_file(path) == expected.sha256
    assert hashing.blake3_file(path) == expected.blake3


def test_hash_file_reads_the_file_once(tmp_path, reads):
    data = os.urandom(2 * CHUNK_SIZE + 7)
    path = tmp_path / "m.bin"
    path.write_bytes(data)
    assert hash_file(path) == _expected(data)
    assert reads.opened == [path]
    assert reads.bytes_read == len(data)


def test_progress_reports_cumulative_bytes(tmp_path):
    path = tmp_path / "m.bin"
    path.write_bytes(b"x" * (2 * CHUNK_SIZE + 5))
    seen: list[int] = []
    hash_file(path, progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == 2 * CHUNK_SIZE + 5
    assert len(seen) == 3


def test_hash_file_missing_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "absent.bin")
