"""basics/fileio.py: atomic writes that skip unchanged bytes, TOML errors as one LockfileError line,
and the one strict base of every file-backed struct."""

from __future__ import annotations

import os

import msgspec
import pytest

from comfylock.basics.fileio import Base, atomic_write_bytes, atomic_write_text, parse_toml
from comfylock.errors import LockfileError


def test_parse_toml_reads_valid_text():
    assert parse_toml('version = 1\n[a]\nb = "c"\n', source="x.toml") == {
        "version": 1,
        "a": {"b": "c"},
    }


def test_parse_toml_names_the_source_on_bad_text():
    with pytest.raises(LockfileError, match=r"^comfy\.lock: not valid TOML: "):
        parse_toml("version = = 1\n", source="comfy.lock")


def test_parse_toml_turns_deep_nesting_into_a_lockfile_error():
    deep = "a = " + "[" * 100_000 + "]" * 100_000 + "\n"
    with pytest.raises(LockfileError, match="not valid TOML"):
        parse_toml(deep, source="comfylock.toml")


def test_atomic_write_creates_then_skips_unchanged_bytes(tmp_path):
    path = tmp_path / "comfy.lock"
    assert atomic_write_text(path, "version = 1\n") is True
    os.utime(path, ns=(0, 0))
    assert atomic_write_text(path, "version = 1\n") is False
    assert path.stat().st_mtime_ns == 0  # untouched: not even rewritten
    assert atomic_write_text(path, "version = 2\n") is True
    assert path.read_text() == "version = 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comfy.lock"]  # no temp file left


def test_atomic_write_text_keeps_the_requested_line_endings(tmp_path):
    path = tmp_path / "comfy.lock"
    atomic_write_text(path, "a = 1\nb = 2\n", newline="\r\n")
    assert path.read_bytes() == b"a = 1\r\nb = 2\r\n"
    assert atomic_write_text(path, "a = 1\nb = 2\n", newline="\r\n") is False


def test_a_failed_replace_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "comfy.lock"
    path.write_bytes(b"old")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comfy.lock"]


class _Entry(Base):
    file_name: str
    size_bytes: int = 0


def test_base_structs_are_strict_frozen_and_kebab_case():
    entry = msgspec.json.decode(b'{"file-name": "a.safetensors"}', type=_Entry)
    assert entry == _Entry(file_name="a.safetensors")
    assert msgspec.json.encode(entry) == b'{"file-name":"a.safetensors"}'  # defaults omitted
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(b'{"file-name": "a", "extra": 1}', type=_Entry)
    with pytest.raises(AttributeError):
        entry.size_bytes = 3  # type: ignore[misc]
