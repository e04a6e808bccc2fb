"""extra_model_paths.yaml is read with a bound (issue 16, attack 12): a few hundred bytes of
YAML aliases that expand to billions of entries are refused with one line, exit 2 — they
used to exhaust memory (exit 70) — while the anchors and merge keys people really use keep
working."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from comfylock.machine.modelpaths import load_model_paths
from tests.support.output import one_error_line
from tests.support.syncutil import comfyui_root

LAUGHS = " a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f" {chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)
BOMB = f"comfyui:\n{LAUGHS} checkpoints: *i\n"  # 10**9 entries in ~340 bytes


def _limited() -> None:
    """The child may use 2 GiB: the bomb must fail fast, not take the machine down."""
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))


def test_an_alias_bomb_is_refused_in_one_line(tmp_path):
    assert len(BOMB) < 400
    root = comfyui_root(tmp_path)
    (root / "extra_model_paths.yaml").write_text(BOMB)
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 1\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "comfylock",
            "--lock",
            str(lock),
            "--comfyui-root",
            str(root),
            "status",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    line = one_error_line(done.stderr)
    assert "extra_model_paths.yaml" in line and "expands" in line


def test_a_folder_entry_must_be_a_path_or_a_block_of_paths(tmp_path):
    (tmp_path / "extra_model_paths.yaml").write_text("x:\n  loras: [a, b]\n")
    import pytest

    from comfylock.errors import InputError

    with pytest.raises(InputError, match="loras"):
        load_model_paths(tmp_path)


def test_anchors_and_merge_keys_still_work(tmp_path):
    (tmp_path / "extra_model_paths.yaml").write_text(
        "base: &base\n  base_path: /mnt/models\n  loras: loras\nother:\n  <<: *base\n  vae: vae\n"
    )
    paths = load_model_paths(tmp_path)
    assert Path("/mnt/models/vae") in paths.dirs["vae"]
    assert Path("/mnt/models/loras") in paths.dirs["loras"]


def test_a_huge_yaml_is_refused(tmp_path):
    import pytest

    from comfylock.errors import InputError

    (tmp_path / "extra_model_paths.yaml").write_text("x:\n" + "  # padding\n" * 200_000)
    with pytest.raises(InputError, match="larger than"):
        load_model_paths(tmp_path)
