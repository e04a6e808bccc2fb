"""aria2c gets its RPC secret through a private file, never its command line (issue 16,
attack 14): ``/proc/<pid>/cmdline`` is world-readable, and aria2c masks the value only after
it has started; whoever read it could drive aria2 as the user (add downloads, write files)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("aria2c") is None, reason="aria2c is not installed")


def test_the_rpc_secret_never_appears_in_aria2cs_arguments(tmp_path, monkeypatch):
    from comfylock.sync.download import aria2_backend
    from comfylock.sync.download.aria2_backend import Aria2Downloader

    confs: list[tuple[Path, int, str]] = []
    real_popen = aria2_backend.subprocess.Popen

    def watching(argv, *args, **kwargs):
        """Note each --conf-path file as aria2c is started: its mode and its text."""
        for arg in argv:
            if arg.startswith("--conf-path="):
                conf = Path(arg.split("=", 1)[1])
                confs.append((conf, stat.S_IMODE(conf.stat().st_mode), conf.read_text()))
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(aria2_backend.subprocess, "Popen", watching)
    d = Aria2Downloader(tmp_dir=tmp_path / "tmp", jobs=1, executable=shutil.which("aria2c"))
    try:
        rpc = d._start()
        argv = list(d._proc.args)
        cmdline = Path(f"/proc/{d._proc.pid}/cmdline").read_bytes().decode(errors="replace")
        assert rpc.secret not in " ".join(argv)
        assert not any(a.startswith("--rpc-secret") for a in argv), argv
        assert rpc.secret not in cmdline and "rpc-secret" not in cmdline, cmdline
        assert rpc.call("aria2.getVersion")["version"], "the secret still works over RPC"
        ((conf, mode, text),) = confs
        assert mode == 0o600, oct(mode)
        assert f"rpc-secret={rpc.secret}" in text
        assert not conf.exists(), "the file is gone once aria2c has read it"
    finally:
        d.close()
    assert not os.listdir(tmp_path / "tmp") or all(
        not n.endswith(".conf") for n in os.listdir(tmp_path / "tmp")
    )
