"""pathsafe.py: untrusted names are checked before they reach the filesystem."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comfylock.errors import UnsafePathError
from comfylock.pathsafe import check_name, safe_join
from tests.support.output import one_error_line as _one_error_line
from tests.support.strategies import FEW
from tests.support.syncutil import comfyui_root as _comfyui
from tests.support.syncutil import lock_text as _lock_text


def test_fs_a_name_too_long_for_the_filesystem_is_an_input_error(tmp_path, run_cli):
    name = "/".join(["d" * 200] * 30) + ".safetensors"  # each part fits; the whole does not
    lock = tmp_path / "comfy.lock"
    lock.write_text(_lock_text(("vae", name, 1, "a" * 64)))
    result = run_cli("--lock", str(lock), "--comfyui-root", str(_comfyui(tmp_path)), "status")
    assert result.exit_code == 2, result
    assert "too long" in _one_error_line(result.stderr)


@FEW
@given(name=st.text(alphabet=st.sampled_from(list("ab./\\:C~ ")), min_size=1, max_size=12))
def test_checked_names_never_escape_the_root(tmp_path_factory, name):
    root = Path("/srv/models/loras")
    try:
        joined = safe_join(root, check_name(name))
    except UnsafePathError:
        return
    assert str(joined).startswith(str(root) + "/")


@pytest.mark.parametrize(
    "name",
    ["../x", "a/../../x", "/etc/passwd", "C:\\x", "C:x", "\\\\server\\share\\x", "a/./b", ""],
)
def test_attack_shapes_are_rejected(name):
    with pytest.raises(UnsafePathError):
        check_name(name)
