"""The suite itself: it never writes outside its temp dirs, and it sets the signal
dispositions its Ctrl-C tests rely on (issue 16's two suite problems)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


def test_isolation_survives_a_tests_own_monkeypatch_undo(monkeypatch, tmp_path_factory):
    """A test that calls ``monkeypatch.undo()`` (to drop its own patches) used to drop the
    isolation too, and its next command wrote ~/.cache/comfylock in the real home."""
    from comfylock.settings import default_cache_dir

    monkeypatch.undo()
    temp_root = str(tmp_path_factory.getbasetemp())
    for var in ("COMFYLOCK_CACHE_DIR", "COMFYLOCK_STORE", "HOME", "XDG_CACHE_HOME"):
        assert os.environ.get(var, "").startswith(temp_root), var
    assert str(default_cache_dir()).startswith(temp_root)
    assert str(Path("~").expanduser()).startswith(temp_root)


def test_ctrl_c_tests_pass_when_the_suite_starts_with_sigint_ignored():
    """``make test &`` in a script, or a CI runner, starts the suite with SIGINT ignored; the
    children the Ctrl-C tests signal inherit that unless the suite sets it back."""
    test = "tests/sync/test_apply.py::test_sigint_exits_130_without_traceback[httpx-False]"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed" in done.stdout
