"""pathsafe.py: untrusted names are checked before they reach the filesystem."""

from __future__ import annotations

from tests.support.output import one_error_line as _one_error_line
from tests.support.syncutil import comfyui_root as _comfyui
from tests.support.syncutil import lock_text as _lock_text


def test_fs_a_name_too_long_for_the_filesystem_is_an_input_error(tmp_path, run_cli):
    name = "/".join(["d" * 200] * 30) + ".safetensors"  # each part fits; the whole does not
    lock = tmp_path / "comfy.lock"
    lock.write_text(_lock_text(("vae", name, 1, "a" * 64)))
    result = run_cli("--lock", str(lock), "--comfyui-root", str(_comfyui(tmp_path)), "status")
    assert result.exit_code == 2, result
    assert "too long" in _one_error_line(result.stderr)
