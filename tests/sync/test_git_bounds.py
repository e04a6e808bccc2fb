"""Every git call is bounded (issue 16, attack 10): a node-pack host that accepts the
connection and never answers stops ``sync`` (and ``resolve``'s ``ls-remote``) with exit 3
and one line, after the stall limit downloads use, instead of hanging forever."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from comfylock.errors import RemoteError
from tests.support.hostile import silent_host
from tests.support.output import one_error_line
from tests.support.syncutil import Model, comfyui_root, seed, write_lock

BOUND = 2  # seconds: COMFYLOCK_STALL_SECONDS for these tests


@pytest.fixture(autouse=True)
def _short_stall(monkeypatch):
    monkeypatch.setenv("COMFYLOCK_STALL_SECONDS", str(BOUND))
    monkeypatch.setenv("COMFYLOCK_LOWEST_SPEED", "1000")


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_sync_stops_on_a_git_host_that_never_answers(tmp_path, scheme):
    with silent_host() as host:
        repo = f"{scheme}://127.0.0.1:{host.port}/owner/ComfyUI-Silent.git"
        model = Model("loras", "x.safetensors", b"in the store already")
        seed(tmp_path, model.data)
        lock = write_lock(tmp_path / "comfy.lock", [model], [("silent", repo, "c" * 40)])
        root = comfyui_root(tmp_path)
        args = ["--lock", str(lock), "--comfyui-root", str(root), "sync"]
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "comfylock", *args, "--no-aria2"],
                capture_output=True,
                text=True,
                timeout=90,
            )
        except subprocess.TimeoutExpired:
            pytest.fail("sync hung on a git host that never answers")
    took = time.monotonic() - started
    assert done.returncode == 3, done.stderr
    line = one_error_line(done.stderr)
    assert "silent" in line and "Traceback" not in done.stderr
    assert took < 60, took


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_ls_remote_stops_on_a_host_that_never_answers(scheme):
    from comfylock.resolve.sources.registry import ls_remote

    with silent_host() as host:
        started = time.monotonic()
        with pytest.raises(RemoteError) as caught:
            ls_remote(f"{scheme}://127.0.0.1:{host.port}/owner/pack.git", ["HEAD"])
    assert time.monotonic() - started < 30
    assert "\n" not in caught.value.message
