"""workflows/discover.py: finding workflow files on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.output import one_error_line as _one_error_line
from tests.support.paths import ROOT


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fs_a_fifo_named_like_a_workflow_is_never_read(tmp_path):
    """Reading a FIFO blocks forever: before, `inspect DIR` hung on one. (The subprocess
    timeout only keeps a regression from hanging the suite; nothing is timed.)"""
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "ok.json").write_text(
        json.dumps({"1": {"class_type": "VAELoader", "inputs": {"vae_name": "v.safetensors"}}})
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cli = [sys.executable, "-m", "comfylock"]
    walk = subprocess.run(
        [*cli, "inspect", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert walk.returncode == 0, walk.stderr
    assert "skipped" in walk.stdout and "pipe.json: not a regular file" in walk.stdout
    named = subprocess.run(
        [*cli, "inspect", str(tmp_path / "pipe.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert named.returncode == 2
    assert "not a regular file" in _one_error_line(named.stderr)
