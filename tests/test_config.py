"""config.py: ``comfylock.toml``, its shape and the errors for one that cannot be used."""

from __future__ import annotations

import pytest

from tests.support.output import one_error_line as _one_error_line


@pytest.mark.parametrize(
    ("content", "expect"),
    [(b"\xff\xfe not utf-8", "not UTF-8"), (b'workflows = ["/etc/*"]\n', "is absolute")],
    ids=["binary", "absolute-glob"],
)
@pytest.mark.parametrize("command", ["status", "check", "why"])
def test_lock_a_comfylock_toml_that_cannot_be_used_is_exit_2(
    tmp_path, run_cli, content, expect, command
):
    """Both ended in exit 70 before (UnicodeDecodeError; Path.glob's NotImplementedError)."""
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 1\n")
    (tmp_path / "comfylock.toml").write_bytes(content)
    args = ["why", "x"] if command == "why" else [command]
    result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path), *args)
    assert result.exit_code == 2, result
    line = _one_error_line(result.stderr)
    assert "comfylock.toml" in line and expect in line
