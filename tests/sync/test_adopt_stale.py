"""Adopt-by-hash re-verifies what it adopts (issue 16, attack 7): a hash-cache row that went
stale (a file rewritten in place, its mtime kept) costs a download from the next source, and
the row is dropped, instead of "exit 4, forever"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from comfylock.machine.hashcache import HashCache
from tests.support.syncutil import make_world, paths_in, serve_world, target_of

OLD = 1_700_000_000  # an old mtime: the cache trusts rows for files not touched lately


@pytest.fixture
def world(tmp_path, server, monkeypatch):
    w = make_world(tmp_path, server, monkeypatch, nodes=False)
    serve_world(w)
    return w


def _rewrite_keeping_mtime(path: Path, data: bytes) -> None:
    """Other bytes of the same size in the same inode, the mtime put back (as ``rsync
    --inplace -t`` or a careless tool does): what the cache keys on is unchanged."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_ino, path.stat().st_size) == (st.st_ino, st.st_size)


def _cached(path: Path):
    with HashCache.in_dir(os.environ["COMFYLOCK_CACHE_DIR"]) as cache:
        return cache.get(path, path.stat())


def test_a_stale_row_for_another_file_falls_back_to_the_origin_and_is_dropped(world, run_cli):
    base = world["models"][0]
    kept = world["root"] / "models" / "checkpoints" / "Anime" / "pony_v7.safetensors"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(base.data)
    os.utime(kept, (OLD, OLD))
    assert run_cli("--comfyui-root", str(world["root"]), "scan").exit_code == 0
    other = bytes(reversed(base.data))
    _rewrite_keeping_mtime(kept, other)
    assert _cached(kept).sha256 == base.sha256  # the stale row
    result = run_cli(*world["args"], "sync")
    assert result.exit_code == 0, result
    assert world["paths"]["signed"] in paths_in(world["server"]), "fetched from the origin"
    assert target_of(world, base).read_bytes() == base.data
    assert kept.read_bytes() == other, "the user's file is left as it is"
    found = _cached(kept)
    assert found is None or found.sha256 != base.sha256, "the stale row is gone"


def test_a_stale_row_for_the_file_at_the_target_is_a_conflict_next_time(world, run_cli):
    base = world["models"][0]
    target = target_of(world, base)
    target.parent.mkdir(parents=True)
    target.write_bytes(base.data)
    os.utime(target, (OLD, OLD))
    assert run_cli("--comfyui-root", str(world["root"]), "scan").exit_code == 0
    _rewrite_keeping_mtime(target, bytes(reversed(base.data)))
    first = run_cli(*world["args"], "sync")
    assert first.exit_code == 5, first  # a user's other bytes in the way: never replaced
    assert "changed since" in first.stderr or "not the locked bytes" in first.stderr, first
    assert target.read_bytes() == bytes(reversed(base.data))
    again = run_cli(*world["args"], "status")
    lines = again.stdout.splitlines()
    assert any(line.startswith("conflict") for line in lines), again
    assert not any(line.startswith("adopt") for line in lines), again
