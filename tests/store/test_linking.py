"""Link placement: modes, probed errno-whitelisted fallback, atomic replacement."""

from __future__ import annotations

import errno
import os

import pytest

from comfylock.store.linking import Linker, place


@pytest.fixture
def blob(tmp_path):
    path = tmp_path / "store" / "blobs" / "sha256" / "ab" / ("ab" + "0" * 62)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"blob")
    return path


@pytest.mark.parametrize("mode", ["symlink", "hardlink", "copy"])
def test_each_mode_places_the_bytes(tmp_path, blob, mode):
    target = tmp_path / "models" / "loras" / "x.safetensors"
    used = Linker(mode).link(blob, target)
    assert used == mode and target.read_bytes() == b"blob"
    assert target.is_symlink() == (mode == "symlink")
    if mode == "hardlink":
        assert target.stat().st_ino == blob.stat().st_ino


def test_replacement_is_atomic_and_leaves_no_temp(tmp_path, blob):
    target = tmp_path / "x"
    target.symlink_to(tmp_path / "elsewhere")
    place(blob, target, "symlink")
    assert os.readlink(target) == str(blob)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_auto_falls_back_to_hardlink_when_symlinks_are_refused(tmp_path, blob, monkeypatch):
    calls = []

    def no_symlink(*a, **k):
        calls.append(a)
        raise OSError(errno.EPERM, "symlinks need privilege")

    monkeypatch.setattr(os, "symlink", no_symlink)
    linker = Linker("auto")
    assert linker.link(blob, tmp_path / "a") == "hardlink"
    assert linker.link(blob, tmp_path / "b") == "hardlink"
    assert len(calls) == 1  # probed once for the directory pair
    assert linker.warnings == []


def test_auto_falls_back_to_copy_and_warns_once(tmp_path, blob, monkeypatch):
    monkeypatch.setattr(
        os, "symlink", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EPERM, "no"))
    )
    monkeypatch.setattr(
        os, "link", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EXDEV, "cross-device"))
    )
    linker = Linker("auto")
    for sub in ("a", "b"):
        assert linker.link(blob, tmp_path / sub / "x") == "copy"
    assert len(linker.warnings) == 1 and "copying" in linker.warnings[0]


def test_other_errors_are_not_swallowed(tmp_path, blob, monkeypatch):
    monkeypatch.setattr(
        os, "symlink", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full"))
    )
    with pytest.raises(OSError) as info:
        Linker("auto").link(blob, tmp_path / "x")
    assert info.value.errno == errno.ENOSPC


def test_an_explicit_mode_does_not_fall_back(tmp_path, blob, monkeypatch):
    monkeypatch.setattr(
        os, "link", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EXDEV, "cross-device"))
    )
    with pytest.raises(OSError):
        Linker("hardlink").link(blob, tmp_path / "x")


def test_fs_linker_refuses_a_parent_that_became_a_symlink_out_after_observe(tmp_path):
    """apply re-checks at the moment of writing (the tree may change after observe)."""
    from comfylock.errors import UnsafePathError
    from comfylock.pathsafe import real_roots
    from comfylock.store.linking import Linker

    models, outside = tmp_path / "models", tmp_path / "outside"
    (models / "loras").mkdir(parents=True)
    outside.mkdir()
    blob = tmp_path / "blob"
    blob.write_bytes(b"x")
    os.symlink(outside, models / "loras" / "sub")
    linker = Linker("auto", roots=real_roots([models]))
    with pytest.raises(UnsafePathError, match="outside the models tree"):
        linker.link(blob, models / "loras" / "sub" / "deeper" / "x.safetensors")
    assert list(outside.iterdir()) == []
    linker.link(blob, models / "loras" / "ok" / "x.safetensors")  # inside: placed
    assert (models / "loras" / "ok" / "x.safetensors").read_bytes() == b"x"
