"""lock/validate.py and the lock's reading: a lock that is nonsense is refused with exit 2 and one line."""

from __future__ import annotations

import pytest

from tests.support.output import one_error_line as _one_error_line
from tests.support.syncutil import comfyui_root as _comfyui
from tests.support.syncutil import lock_text as _lock_text


@pytest.mark.parametrize("command", ["status", "check", "sync"])
def test_lock_two_entries_for_one_folder_and_name_are_refused(tmp_path, run_cli, command):
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        _lock_text(("vae", "a.safetensors", 3, "a" * 64), ("vae", "a.safetensors", 3, "b" * 64))
    )
    root = _comfyui(tmp_path)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), command)
    assert result.exit_code == 2, result
    line = _one_error_line(result.stderr)
    assert str(lock) in line and "vae/a.safetensors" in line and "[[model]]" in line


def test_lock_two_node_entries_with_one_id_are_refused(tmp_path, run_cli):
    lock = tmp_path / "comfy.lock"
    node = '[[node]]\nid = "p"\nrepo = "https://example.invalid/p"\ncommit = "{}"\n'
    lock.write_text("version = 1\n" + node.format("1" * 40) + node.format("2" * 40))
    result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path), "status")
    assert result.exit_code == 2, result
    assert "[[node]]" in _one_error_line(result.stderr)


@pytest.mark.parametrize("size", [10**29, 2**50 + 1, 2**64, -1])
def test_lock_absurd_sizes_are_refused(tmp_path, run_cli, size):
    lock = tmp_path / "comfy.lock"
    lock.write_text(_lock_text(("vae", "a.safetensors", size, "a" * 64)))
    for command in ("status", "check"):
        result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path), command)
        assert result.exit_code == 2, result
        line = _one_error_line(result.stderr)
        assert str(lock) in line and "model[0].size" in line


def test_lock_the_largest_allowed_size_is_2_to_the_50(tmp_path):
    from comfylock.lock.file import loads

    lock = loads(_lock_text(("vae", "a.safetensors", 2**50, "a" * 64)))
    assert lock.model[0].size == 2**50


@pytest.mark.parametrize("which", ["comfy.lock", "comfylock.toml"])
def test_lock_pathological_nesting_is_refused(tmp_path, run_cli, which):
    deep = "x = " + "[" * 100_000 + "]" * 100_000 + "\n"
    lock = tmp_path / "comfy.lock"
    lock.write_text(deep if which == "comfy.lock" else _lock_text())
    if which == "comfylock.toml":
        (tmp_path / "comfylock.toml").write_text(deep)
    result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path), "sync")
    assert result.exit_code == 2, result
    line = _one_error_line(result.stderr)
    assert which in line and "nested too deeply" in line


@pytest.mark.parametrize(
    ("entry", "expect"),
    [
        (
            '[[model]]\nfolder = "vae"\nname = "'
            + "n" * 300
            + '"\nsize = 1\nsha256 = "'
            + "a" * 64
            + '"\n',
            "a file name longer than 231 bytes",
        ),
        (
            '[[model]]\nfolder = "vae"\nname = "a"\nsize = 1\nsha256 = "'
            + "a" * 64
            + '"\n[[model.source]]\ntype = "url"\nurl = "https://[::1/x"\n',
            "not a valid URL",
        ),
        (
            '[[model]]\nfolder = "vae"\nname = "a"\nsize = 1\nsha256 = "'
            + "a" * 64
            + '"\n[[model.source]]\ntype = "url"\nurl = "https://h/x\\ndir=/etc"\n',
            "control character",
        ),
        (
            '[[node]]\nid = "x"\nrepo = "https://[::1"\ncommit = "' + "1" * 40 + '"\n',
            "not a valid URL",
        ),
        (
            '[[workflow]]\npath = "a.json"\ndigest = "sha256:'
            + "a" * 64
            + '"\n' * 1
            + '[[workflow]]\npath = "a.json"\ndigest = "sha256:'
            + "a" * 64
            + '"\n',
            "two entries",
        ),
    ],
    ids=["long-name", "bad-ipv6-url", "newline-in-url", "bad-ipv6-repo", "two-workflows"],
)
def test_lock_entries_no_filesystem_or_url_parser_can_take_are_refused(
    tmp_path, run_cli, entry, expect
):
    """Each of these ended in exit 70 (an internal error) or exit 6 before."""
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 1\n" + entry, encoding="utf-8")
    root = _comfyui(tmp_path)
    for command in ("status", "sync"):
        result = run_cli("--lock", str(lock), "--comfyui-root", str(root), command)
        assert result.exit_code == 2, result
        line = _one_error_line(result.stderr)
        assert str(lock) in line and expect in line


def _model_with_source(source: str) -> str:
    return (
        '[[model]]\nfolder = "vae"\nname = "a.safetensors"\nsize = 3\nsha256 = "'
        + "a" * 64
        + '"\n[[model.source]]\n'
        + source
    )


@pytest.mark.parametrize(
    ("source", "expect"),
    [
        (
            'type = "huggingface"\nrepo = "o/r"\nrevision = "' + "1" * 40 + '"\npath = "../../x"\n',
            "'..' in path",
        ),
        (
            'type = "huggingface"\nrepo = "o/r"\nrevision = "' + "1" * 40 + '"\npath = "/etc/x"\n',
            "absolute path",
        ),
        (
            'type = "huggingface"\nrepo = "o/r"\nrevision = "' + "1" * 40 + '"\npath = "a\\\\b"\n',
            "backslash",
        ),
        (
            'type = "huggingface"\nrepo = "../o/r"\nrevision = "' + "1" * 40 + '"\npath = "x"\n',
            "not an owner/name id",
        ),
        ('type = "civitai"\nversion-id = -5\n', "is not an id"),
    ],
    ids=["hf-dotdot-path", "hf-absolute-path", "hf-backslash", "hf-bad-repo", "civitai-negative"],
)
def test_lock_sources_that_would_request_another_file_are_refused(
    tmp_path, run_cli, source, expect
):
    """These went straight into a download URL before (a hub path of '../../x')."""
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 1\n" + _model_with_source(source), encoding="utf-8")
    root = _comfyui(tmp_path)
    for command in ("status", "sync"):
        result = run_cli("--lock", str(lock), "--comfyui-root", str(root), command)
        assert result.exit_code == 2, result
        line = _one_error_line(result.stderr)
        assert str(lock) in line and expect in line, line


@pytest.mark.parametrize("version", [0, -1])
def test_lock_versions_below_1_are_refused(tmp_path, run_cli, version):
    lock = tmp_path / "comfy.lock"
    lock.write_text(f"version = {version}\n")
    result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path), "status")
    assert result.exit_code == 2, result
    assert "does not exist" in _one_error_line(result.stderr)


def _locked(name: str = "a.safetensors", *sources):
    from comfylock.lock.structs import LockedModel

    return LockedModel(folder="loras", name=name, size=1, sha256="a" * 64, source=sources)


def test_check_lock_returns_a_sound_lock_itself():
    from comfylock.lock.structs import Lock, UrlSource
    from comfylock.lock.validate import check_lock

    lock = Lock(version=1, model=(_locked("a", UrlSource(url="https://example.com/a")),))
    assert check_lock(lock, "comfy.lock") is lock


def test_check_lock_names_the_file_the_entry_and_the_fix():
    from comfylock.errors import LockfileError
    from comfylock.lock.structs import CivitaiSource, HuggingFaceSource, Lock
    from comfylock.lock.validate import check_lock

    cases = [
        (Lock(version=0), "lock version 0 does not exist"),
        (Lock(version=1, model=(_locked(), _locked())), "two entries (numbers 1 and 2)"),
        (Lock(version=1, model=(_locked("x" * 300),)), "a file name longer than 231 bytes"),
        (Lock(version=1, model=(_locked("a", CivitaiSource(version_id=0)),)), "version-id 0"),
        (
            Lock(
                version=1,
                model=(
                    _locked("a", HuggingFaceSource(repo="o/r", revision="c" * 40, path="../x")),
                ),
            ),
            "Hugging Face path '../x'",
        ),
    ]
    for lock, expected in cases:
        with pytest.raises(LockfileError) as info:
            check_lock(lock, "proj/comfy.lock")
        assert str(info.value).startswith("proj/comfy.lock: "), info.value
        assert expected in str(info.value), info.value
