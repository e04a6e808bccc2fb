"""Team remotes (SPEC §8) as configured, and the machine itself as the first remote: a copy
elsewhere in the tree is adopted, not downloaded."""

from __future__ import annotations

import os

from tests.support.remoteutil import installed as _installed
from tests.support.syncutil import paths_in


def test_a_copy_elsewhere_in_the_tree_is_adopted_not_downloaded(world, run_cli):
    """The machine is the first remote: the same checkpoint kept under another name."""
    base = world["models"][0]
    kept = world["root"] / "models" / "checkpoints" / "Anime" / "pony_v7.safetensors"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(base.data)
    os.utime(kept, (1_700_000_000, 1_700_000_000))  # an old file: its cache row is trusted
    before = kept.stat()
    assert run_cli("--comfyui-root", str(world["root"]), "scan").exit_code == 0  # hash cache
    status = run_cli(*world["args"], "status")
    assert "adopt     checkpoints/Anime/pony_v7.safetensors (same bytes as" in status.stdout
    assert "checkpoints/SDXL/base.safetensors (293.0 KiB) from" not in status.stdout
    result = run_cli(*world["args"], "sync")
    assert result.exit_code == 0, result
    seen = paths_in(world["server"])
    assert world["paths"]["civitai"] not in seen and world["paths"]["signed"] not in seen
    _installed(world["args"], world)
    after = kept.stat()  # the user's file: same inode, bytes, mode; not shared with the blob
    assert (after.st_ino, after.st_mode, after.st_nlink) == (
        before.st_ino,
        before.st_mode,
        before.st_nlink,
    )
    assert kept.read_bytes() == base.data


def test_a_file_the_hash_cache_does_not_know_is_not_hashed_by_sync(world, run_cli):
    """Only digests already cached count: sync never hashes the whole tree to look."""
    kept = world["root"] / "models" / "checkpoints" / "Anime" / "pony_v7.safetensors"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(world["models"][0].data)
    os.utime(kept, (1_700_000_000, 1_700_000_000))
    status = run_cli(*world["args"], "status")
    assert "adopt     " not in status.stdout and "from civitai" in status.stdout, status


def test_remotes_in_comfylock_toml_and_bad_ones(world, run_cli):
    toml = world["lock"].parent / "comfylock.toml"
    toml.write_text('[[remote]]\nname = "cdn"\nurl = "http://mirror.example.com/m"\n')
    result = run_cli(*world["args"], "status")
    assert result.exit_code == 2 and "refusing to download over http" in result.stderr, result
    toml.write_text('[[remote]]\nname = "x"\nurl = "ftp://host/m"\n')
    result = run_cli(*world["args"], "status")
    assert result.exit_code == 2 and "unsupported URL scheme" in result.stderr, result
    toml.write_text('[[remote]]\nname = "x"\nurl = "https://u:pw@host/m"\n')
    result = run_cli(*world["args"], "status")
    assert result.exit_code == 2 and "credentials" in result.stderr and "pw" not in result.stderr
    toml.write_text('[[remote]]\nname = "x"\nurl = "s3://b/p"\nsecret = "k"\n')
    result = run_cli(*world["args"], "status")
    assert result.exit_code == 2 and "secret" in result.stderr, result
