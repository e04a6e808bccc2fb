"""lock/fastcopy.py: an unchanged lock is served from its msgpack copy; any change is a miss."""

from __future__ import annotations

import os

import pytest

from comfylock.errors import LockfileError
from comfylock.lock import file as lockfile
from comfylock.lock.fastcopy import load_lock_cached

TEXT = (
    'version = 1\n\n[[model]]\nfolder = "loras"\nname = "a.safetensors"\nsize = 3\n'
    f'sha256 = "{"a" * 64}"\n'
)


@pytest.fixture
def lock_path(tmp_path):
    path = tmp_path / "comfy.lock"
    path.write_text(TEXT)
    old = 1_700_000_000 * 10**9  # older than the copy by far more than the racy window
    os.utime(path, ns=(old, old))
    return path


@pytest.fixture
def parses(monkeypatch) -> list:
    seen = []
    real = lockfile.loads

    def counting(text, **kw):
        seen.append(kw.get("source"))
        return real(text, **kw)

    monkeypatch.setattr(lockfile, "loads", counting)
    return seen


def test_a_second_load_of_an_unchanged_lock_parses_nothing(lock_path, tmp_path, parses):
    first = load_lock_cached(lock_path, tmp_path / "cache")
    assert len(parses) == 1 and list((tmp_path / "cache" / "lock-cache").iterdir())
    again = load_lock_cached(lock_path, tmp_path / "cache")
    assert again == first and len(parses) == 1
    assert again.model[0].key == "loras/a.safetensors"


def test_a_changed_lock_is_parsed_again(lock_path, tmp_path, parses):
    load_lock_cached(lock_path, tmp_path / "cache")
    lock_path.write_text(TEXT.replace("size = 3", "size = 4"))
    os.utime(lock_path, ns=(1_700_000_001 * 10**9,) * 2)
    assert load_lock_cached(lock_path, tmp_path / "cache").model[0].size == 4
    assert len(parses) == 2


def test_a_touched_lock_parses_nothing(lock_path, tmp_path, parses):
    """A `git pull` or `touch` that leaves the bytes as they were: the copy still answers
    (it is keyed by the lock's content, not its mtime)."""
    first = load_lock_cached(lock_path, tmp_path / "cache")
    os.utime(lock_path)  # now: the mtime of a file just written
    assert load_lock_cached(lock_path, tmp_path / "cache") == first
    assert len(parses) == 1


def test_a_rewrite_that_keeps_size_and_mtime_is_parsed_again(lock_path, tmp_path, parses):
    """Same size, same mtime, same inode, other bytes (a tool that restores mtimes): the
    content decides, so the new bytes are read."""
    load_lock_cached(lock_path, tmp_path / "cache")
    st = os.stat(lock_path)
    lock_path.write_text(TEXT.replace("size = 3", "size = 5"))
    os.utime(lock_path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(lock_path).st_ino == st.st_ino
    assert load_lock_cached(lock_path, tmp_path / "cache").model[0].size == 5
    assert len(parses) == 2


def test_a_damaged_copy_is_only_a_miss(lock_path, tmp_path, parses):
    load_lock_cached(lock_path, tmp_path / "cache")
    (copy,) = (tmp_path / "cache" / "lock-cache").iterdir()
    copy.write_bytes(b"\xc1 not msgpack")
    assert load_lock_cached(lock_path, tmp_path / "cache").model[0].size == 3
    assert len(parses) == 2


def test_a_missing_lock_is_the_usual_error(tmp_path):
    with pytest.raises(LockfileError):
        load_lock_cached(tmp_path / "comfy.lock", tmp_path / "cache")
