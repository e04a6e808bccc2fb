"""Robustness: what a user sees when the machine misbehaves (full disk, read-only models dir,
symlink loops, a hostile redirect, a lock from the future, Ctrl-C).

Failures are simulated at the OS seam (STYLE rule 13): ``open``/``os.symlink``/``os.replace``
raising the errno a real disk would, since tests run as root and chmod stops nothing.
Servers listen on 127.0.0.1 and are stopped by the test. No timing is asserted.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from werkzeug import Response

from tests.support.syncutil import (
    Model,
    blob_files,
    payload,
    range_response,
    tree_snapshot,
    url_source,
    write_lock,
)

ROOT = Path(__file__).resolve().parent.parent


def _one_line_error(stderr: str, starts: str) -> str:
    """The CLI's whole complaint is one ``error: …`` line; no traceback."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, stderr
    assert errors[0].startswith(f"error: {starts}"), errors[0]
    return errors[0]


def _world(tmp_path: Path, server, size: int = 400_000) -> dict:
    """A ComfyUI root and a lock of one URL-sourced LoRA served (with Range) by ``server``."""
    root = tmp_path / "ComfyUI"
    (root / "models" / "loras").mkdir(parents=True)
    model = Model(
        "loras",
        "detail.safetensors",
        payload(7, size),
        [url_source(server.url_for("/files/detail.safetensors"))],
    )
    server.expect_request("/files/detail.safetensors").respond_with_handler(
        lambda r: range_response(r, model.data)
    )
    project = tmp_path / "project"
    project.mkdir()
    lock = write_lock(project / "comfy.lock", [model])
    return {
        "root": root,
        "model": model,
        "args": ["--lock", str(lock), "--comfyui-root", str(root)],
        "target": root / "models" / "loras" / "detail.safetensors",
        "store": Path(os.environ["COMFYLOCK_STORE"]),
    }


# --- a full disk during a download ----------------------------------------------------------


class _FillingFile:
    """A real file whose writes fail with ENOSPC once ``room`` bytes have been written."""

    def __init__(self, fh, room: list[int]) -> None:
        self._fh, self._room = fh, room

    def write(self, data) -> int:
        if len(data) > self._room[0]:
            self._fh.write(bytes(data[: self._room[0]]))
            self._room[0] = 0
            self._fh.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._fh.name)
        self._room[0] -= len(data)
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def test_full_disk_during_download_exits_6_keeps_partial_and_resumes(
    tmp_path, server, run_cli, monkeypatch
):
    from comfylock.sync.download import httpx_backend

    w = _world(tmp_path, server)
    room = [100_000]  # the disk "fills up" after 100 kB of the 400 kB file
    real_open = open
    monkeypatch.setattr(
        httpx_backend,
        "open",
        lambda *a, **k: _FillingFile(real_open(*a, **k), room),
        raising=False,
    )
    result = run_cli(*w["args"], "sync", "--no-aria2")
    assert result.exit_code == 6, result
    line = _one_line_error(result.stderr, "disk full")
    assert "free some space" in line
    assert blob_files(w["store"]) == []
    partial = list((w["store"] / "tmp").glob("*.part"))
    assert len(partial) == 1 and partial[0].stat().st_size == 100_000
    assert not w["target"].exists()

    monkeypatch.undo()  # "space was freed"
    monkeypatch.setenv("COMFYLOCK_STORE", str(w["store"]))
    again = run_cli(*w["args"], "sync", "--no-aria2")
    assert again.exit_code == 0, again
    assert w["target"].read_bytes() == w["model"].data
    ranges = [req.headers.get("Range") for req, _ in server.log]
    assert ranges[-1] == "bytes=100000-"  # resumed, not restarted
    assert not list((w["store"] / "tmp").glob("*.part"))


# --- a read-only models dir -------------------------------------------------------------------


def _refuse_under(monkeypatch, root: Path, err: int) -> list[str]:
    """Make symlink/link/replace/rename of any path under ``root`` fail with ``err``."""
    refused: list[str] = []
    prefix = str(root) + os.sep

    def guard(real):
        def fake(src, dst, *args, **kwargs):
            for p in (str(src), str(dst)):
                if os.path.abspath(p).startswith(prefix):
                    refused.append(p)
                    raise OSError(err, os.strerror(err), p)
            return real(src, dst, *args, **kwargs)

        return fake

    for name in ("symlink", "link", "replace", "rename"):
        monkeypatch.setattr(os, name, guard(getattr(os, name)))
    return refused


@pytest.mark.parametrize("err", [errno.EROFS, errno.EACCES])
def test_read_only_models_dir_exits_6_and_leaves_user_files(
    tmp_path, server, run_cli, monkeypatch, err
):
    w = _world(tmp_path, server)
    models = w["root"] / "models"
    (models / "loras" / "mine.safetensors").write_bytes(b"the user's own")
    (models / "checkpoints").mkdir()
    (models / "checkpoints" / "keep.ckpt").write_bytes(b"also theirs")
    before = tree_snapshot(models)
    refused = _refuse_under(monkeypatch, models, err)

    result = run_cli(*w["args"], "sync", "--no-aria2")
    assert refused, "the test's seam was never reached"
    assert result.exit_code == 6, result
    words = "read-only filesystem" if err == errno.EROFS else "permission denied"
    line = _one_line_error(result.stderr, "")
    assert words in line and "loras/detail.safetensors" in line
    assert tree_snapshot(models) == before


# --- a symlink loop inside the models tree ----------------------------------------------------


def _loopy_tree(root: Path) -> None:
    loras = root / "models" / "loras"
    (loras / "sub").mkdir(parents=True, exist_ok=True)
    os.symlink("b.safetensors", loras / "a.safetensors")
    os.symlink("a.safetensors", loras / "b.safetensors")
    os.symlink("..", loras / "sub" / "up")  # a dir symlink to its parent
    (loras / "real.safetensors").write_bytes(b"a real lora")


def test_symlink_loops_do_not_hang_scan_status_sync_or_report(tmp_path, server, run_cli):
    w = _world(tmp_path, server)
    _loopy_tree(w["root"])

    scan = run_cli("scan", str(w["root"] / "models"), "--json")
    assert scan.exit_code == 0, scan
    names = [f["name"] for f in json.loads(scan.stdout)["files"]]
    assert names == ["real.safetensors"]  # once: sub/up leads back to a dir already walked
    assert "a.safetensors" in scan.stderr  # the looping links are named, not followed forever

    status = run_cli(*w["args"], "status")
    assert status.exit_code == 0, status
    assert "detail.safetensors" in status.stdout

    synced = run_cli(*w["args"], "sync", "--no-aria2")
    assert synced.exit_code == 0, synced
    assert w["target"].read_bytes() == w["model"].data
    assert os.readlink(w["root"] / "models" / "loras" / "a.safetensors") == "b.safetensors"

    workflow = tmp_path / "wf.json"
    workflow.write_text(
        json.dumps(
            {
                "1": {"class_type": "LoraLoader", "inputs": {"lora_name": "a.safetensors"}},
                "2": {"class_type": "LoraLoader", "inputs": {"lora_name": "real.safetensors"}},
            }
        )
    )
    report = run_cli("--comfyui-root", str(w["root"]), "report", str(workflow))
    assert report.exit_code in (0, 1), report
    assert "Traceback" not in report.output
    assert "a.safetensors" in report.stdout


def test_a_locked_name_that_is_a_symlink_loop_is_a_conflict(tmp_path, server, run_cli):
    w = _world(tmp_path, server)
    _loopy_tree(w["root"])
    looped = Model("loras", "a.safetensors", payload(8, 1000), [url_source("https://x.invalid/a")])
    write_lock(Path(w["args"][1]), [w["model"], looped])

    status = run_cli(*w["args"], "status")
    assert status.exit_code == 0, status
    assert "a.safetensors" in status.stdout
    result = run_cli(*w["args"], "sync", "--no-aria2")
    assert result.exit_code == 5, result
    line = _one_line_error(result.stderr, "")
    assert "a.safetensors" in line and "nothing was changed" in line
    assert server.log == []


# --- a redirect to a plain-http host elsewhere --------------------------------------------------


@pytest.mark.parametrize("backend", ["--no-aria2", "aria2"])
def test_redirect_to_plain_http_elsewhere_is_refused(
    tmp_path, server, run_cli, backend, monkeypatch
):
    import shutil

    if backend == "aria2" and shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    looked_up: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        looked_up.append(str(host))
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise OSError(f"test: lookup of {host} refused")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    w = _world(tmp_path, server)
    server.clear_all_handlers()
    server.expect_request("/files/detail.safetensors").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": "http://example.invalid/x"})
    )
    extra = ["--no-aria2"] if backend == "--no-aria2" else []
    result = run_cli(*w["args"], "sync", *extra)
    assert result.exit_code == 2, result
    line = _one_line_error(result.stderr, "")
    assert "refusing to download over http" in line and "example.invalid" in line
    assert "example.invalid" not in looked_up
    assert blob_files(w["store"]) == [] and not w["target"].exists()


# --- a lock from the future, a lock with an unknown key --------------------------------------


def test_lock_version_2_is_refused_with_upgrade_hint(tmp_path, run_cli):
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 2\n", encoding="utf-8")
    for cmd in (["status"], ["sync"], ["check"]):
        result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path / "m"), *cmd)
        assert result.exit_code == 2, (cmd, result)
        line = _one_line_error(result.stderr, "")
        assert "newer than this comfylock understands" in line
        assert "upgrade comfylock" in line


@pytest.mark.parametrize(
    "text, key",
    [
        ("version = 1\nflavour = 'x'\n", "flavour"),
        (
            "version = 1\n[[model]]\nfolder = 'loras'\nname = 'a.safetensors'\nsize = 1\n"
            f"sha256 = '{'a' * 64}'\ncolour = 'red'\n",
            "colour",
        ),
    ],
)
def test_lock_with_unknown_key_names_it(tmp_path, run_cli, text, key):
    lock = tmp_path / "comfy.lock"
    lock.write_text(text, encoding="utf-8")
    result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path / "m"), "status")
    assert result.exit_code == 2, result
    line = _one_line_error(result.stderr, "")
    assert key in line and "comfy.lock" in line


# --- Ctrl-C during resolve ------------------------------------------------------------------


def test_ctrl_c_during_resolve_exits_130_without_writing_the_lock(tmp_path):
    from tests.support.fakes import FakeCivitai, LoopbackServer

    project = tmp_path / "project"
    (project / "workflows").mkdir(parents=True)
    graph = {
        str(i): {"class_type": "LoraLoader", "inputs": {"lora_name": f"style_{i}.safetensors"}}
        for i in range(8)
    }
    (project / "workflows" / "w.json").write_text(json.dumps(graph))
    release, started = threading.Event(), threading.Event()
    with LoopbackServer() as srv:
        fake = FakeCivitai(srv)
        handler = fake._handle

        def slow(request):
            started.set()
            release.wait(60)  # hold every request until the test is done
            return handler(request)

        srv.clear_all_handlers()
        srv.expect_request(re.compile(".*")).respond_with_handler(slow)
        env = {
            **os.environ,
            "COMFYLOCK_CIVITAI_URL": srv.url_for("/").rstrip("/"),
            "HF_ENDPOINT": srv.url_for("/").rstrip("/"),
            "COMFYLOCK_REGISTRY_URL": srv.url_for("/").rstrip("/"),
            "COMFYLOCK_MODEL_LIST_URL": srv.url_for("/model-list.json"),
            "COMFYLOCK_NODE_MAP_URL": srv.url_for("/node-map.json"),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "comfylock", "resolve"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not started.wait(0.05) and proc.poll() is None and time.monotonic() < deadline:
                pass
            assert proc.poll() is None, proc.communicate()
            assert started.is_set(), "resolve never asked the fake anything"
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                pytest.fail(f"resolve did not stop on SIGINT while requests were held:\n{err}")
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130, (out, err)
    _one_line_error(err, "interrupted")
    assert not (project / "comfy.lock").exists()
