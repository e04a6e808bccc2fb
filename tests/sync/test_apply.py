"""Sync against real loopback servers when things go wrong: bad bytes, cuts, kills, conflicts."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from werkzeug import Response

from tests.support.output import one_line_error as _one_line_error
from tests.support.syncutil import (
    blob_files,
    make_world,
    paths_in,
    range_response,
    serve_world,
    store_dir,
    target_of,
    tree_snapshot,
)
from tests.support.syncutil import one_lora_world as _world


@pytest.fixture
def world(tmp_path, server, monkeypatch):
    return make_world(tmp_path, server, monkeypatch)


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


def spawn(world, *args: str) -> subprocess.Popen:
    """The CLI as a child in its own process group (so a test can signal the group)."""
    return _child([sys.executable, "-m", "comfylock", *world["args"], *args])


def _child(cmd: list[str]) -> subprocess.Popen:
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    # faulthandler: a child that hangs is made to print every thread's stack (``_ended``)
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    return subprocess.Popen(cmd, env=env, start_new_session=True, **pipes)


def _ended(proc: subprocess.Popen, release: threading.Event) -> tuple[str, str]:
    """The child's output once it exits (the stalled server released either way). A child
    still running after 60 s is made to dump its threads' stacks (SIGABRT, faulthandler) and
    the test fails with them: where it hung is the finding."""
    try:
        return proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            err = "(no stack dump within 10 s)"
        raise AssertionError(f"the child did not exit within 60 s; its threads:\n{err}") from None
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def stalling(
    data: bytes,
    release: threading.Event,
    first_only: bool = True,
    stalled: threading.Event | None = None,
):
    """Handler that sends part of the file and then stalls until ``release`` (first call only)."""
    calls = []
    stalled = stalled if stalled is not None else threading.Event()

    def handler(request):
        calls.append(1)
        if first_only and len(calls) > 1:
            return range_response(request, data)

        def gen():
            yield data[: len(data) // 3]
            stalled.set()
            release.wait(30)

        headers = {
            "Content-Length": str(len(data)),
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
        }
        return Response(gen(), status=200, headers=headers, direct_passthrough=True)

    return handler


def test_wrong_bytes_exit_4_nothing_placed(world, run_cli):
    m = world["models"][2]
    serve_world(world, url_handler=lambda r: range_response(r, b"X" * len(m.data)))
    result = run_cli(*world["args"], "sync", "--no-aria2", "--no-nodes")
    assert result.exit_code == 4, result
    assert "Traceback" not in result.output
    assert not target_of(world, m).exists() and not target_of(world, m).is_symlink()
    assert m.sha256 not in {p.name for p in blob_files(store_dir())}
    assert not list((store_dir() / "tmp").glob(f"{m.sha256}*"))
    for other in world["models"][:2]:  # the others still arrive
        assert target_of(world, other).read_bytes() == other.data


def test_html_error_page_with_200_is_refused(world, run_cli):
    serve_world(
        world,
        url_handler=lambda r: Response("<html>login</html>", status=200, content_type="text/html"),
    )
    result = run_cli(*world["args"], "sync", "--no-aria2", "--no-nodes")
    assert result.exit_code == 3, result
    assert "HTML" in result.stderr


def test_cut_transfer_resumes_in_same_run(world, run_cli):
    m = world["models"][0]
    calls = []

    def cutting(request):
        calls.append(request.headers.get("Range"))
        return range_response(request, m.data, cut_at=100_000 if len(calls) == 1 else None)

    serve_world(world, signed_handler=cutting)
    result = run_cli(*world["args"], "sync", "--no-aria2", "--no-nodes")
    assert result.exit_code == 0, result
    assert target_of(world, m).read_bytes() == m.data
    assert calls[0] is None and calls[1] == "bytes=100000-"


def test_200_answer_to_range_restarts(world, run_cli):
    m = world["models"][2]
    tmp = store_dir() / "tmp"
    tmp.mkdir(parents=True)
    (tmp / f"{m.sha256}.part").write_bytes(b"junk" * 100)  # a stale partial
    serve_world(world, url_handler=lambda r: range_response(r, m.data, honour_range=False))
    result = run_cli(*world["args"], "sync", "--no-aria2", "--no-nodes")
    assert result.exit_code == 0, result
    assert target_of(world, m).read_bytes() == m.data


@pytest.mark.parametrize("backend", ["httpx", "aria2"])
def test_429_then_success(world, run_cli, backend):
    if backend == "aria2" and shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    m = world["models"][1]
    calls = []

    def limited(request):
        calls.append(1)
        if len(calls) <= 2:
            return Response("slow down", status=429, headers={"Retry-After": "0"})
        return range_response(request, m.data)

    serve_world(world, hf_handler=limited)
    extra = ["--no-aria2"] if backend == "httpx" else []
    result = run_cli(*world["args"], "sync", "--no-nodes", *extra)
    assert result.exit_code == 0, result
    # aria2 (a source without a token is not probed first): aria2c meets the first 429 and
    # hands the file to the built-in downloader, which honours Retry-After: 429, then 206
    assert target_of(world, m).read_bytes() == m.data
    assert len(calls) == 3


def test_adopts_a_local_file_instead_of_downloading(world, run_cli):
    serve_world(world)
    m = world["models"][0]
    target = target_of(world, m)
    target.parent.mkdir(parents=True)
    target.write_bytes(m.data)
    result = run_cli(*world["args"], "sync", "--no-aria2", "--no-nodes")
    assert result.exit_code == 0, result
    assert world["paths"]["signed"] not in paths_in(world["server"])
    assert world["paths"]["civitai"] not in paths_in(world["server"])
    assert target.is_symlink() and target.read_bytes() == m.data


def test_conflict_exit_5_changes_nothing(world, run_cli):
    serve_world(world)
    m = world["models"][1]
    target = target_of(world, m)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"my own lora")
    before = tree_snapshot(world["root"])
    result = run_cli(*world["args"], "sync", "--no-aria2")
    assert result.exit_code == 5, result
    assert tree_snapshot(world["root"]) == before
    assert paths_in(world["server"]) == []
    assert blob_files(store_dir()) == []


def test_force_moves_the_users_file_to_displaced(world, run_cli):
    serve_world(world)
    m = world["models"][1]
    target = target_of(world, m)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"my own lora")
    result = run_cli(*world["args"], "sync", "--no-aria2", "--force", "--no-nodes")
    assert result.exit_code == 0, result
    assert target.read_bytes() == m.data
    moved = list((store_dir() / "displaced").rglob("detail.safetensors"))
    assert len(moved) == 1 and moved[0].read_bytes() == b"my own lora"


@pytest.mark.parametrize(
    "name", ["../../x.safetensors", "/etc/x.safetensors", "C:\\x.safetensors", "a/../../x"]
)
def test_unsafe_names_exit_2_nothing_written(tmp_path, run_cli, name, monkeypatch):
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    esc = name.replace("\\", "\\\\")
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        f'version = 1\n[[model]]\nfolder = "loras"\nname = "{esc}"\nsize = 1\nsha256 = "{"0" * 64}"\n[[model.source]]\ntype = "url"\nurl = "https://127.0.0.1:1/x"\n'
    )
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync", "--no-aria2")
    assert result.exit_code == 2, result
    assert "unsafe" in result.stderr
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_unsafe_folder_exit_2(tmp_path, run_cli):
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        f'version = 1\n[[model]]\nfolder = "../.."\nname = "x"\nsize = 1\nsha256 = "{"0" * 64}"\n'
    )
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert result.exit_code == 2, result


def test_http_source_to_a_non_loopback_host_is_refused(tmp_path, run_cli):
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        f'version = 1\n[[model]]\nfolder = "loras"\nname = "x"\nsize = 1\nsha256 = "{"0" * 64}"\n[[model.source]]\ntype = "url"\nurl = "http://example.invalid/x"\n'
    )
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync", "--no-aria2")
    assert result.exit_code == 2, result
    assert "https" in result.stderr


@pytest.mark.parametrize("backend", ["httpx", "aria2"])
def test_sigkill_mid_download_then_rerun(world, run_cli, backend):
    if backend == "aria2" and shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    m = world["models"][0]
    release, stalled = threading.Event(), threading.Event()
    serve_world(world, signed_handler=stalling(m.data, release, stalled=stalled))
    extra = ["--no-aria2"] if backend == "httpx" else []
    proc = spawn(world, "sync", "--no-nodes", *extra)
    try:
        part = store_dir() / "tmp" / f"{m.sha256}.part"
        wait_for(lambda: stalled.is_set() and part.exists())
        proc.kill()
        proc.wait(timeout=30)
        wait_for(lambda: not _aria2_children(proc.pid))  # aria2c notices and exits by itself
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    for blob in blob_files(store_dir()):  # whatever got in is verified
        import hashlib

        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    result = run_cli(*world["args"], "sync", "--no-nodes", *extra)
    assert result.exit_code == 0, result
    assert target_of(world, m).read_bytes() == m.data


def _aria2_children(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [
        line
        for line in out.splitlines()
        if "aria2c" in line and f"--stop-with-process={pid}" in line
    ]


@pytest.mark.parametrize(
    ("backend", "group"), [("httpx", False), ("aria2", False), ("aria2", True)]
)
def test_sigint_exits_130_without_traceback(world, backend, group):
    """``group``: Ctrl-C in a terminal signals the whole foreground process group."""
    if backend == "aria2" and shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    m = world["models"][0]
    release, stalled = threading.Event(), threading.Event()
    serve_world(world, signed_handler=stalling(m.data, release, first_only=False, stalled=stalled))
    extra = ["--no-aria2"] if backend == "httpx" else []
    proc = spawn(world, "sync", "--no-nodes", *extra)
    part = store_dir() / "tmp" / f"{m.sha256}.part"
    try:
        wait_for(lambda: stalled.is_set() and part.exists())
        if group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
    finally:
        _, err = _ended(proc, release)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not _aria2_children(proc.pid)
    assert part.exists()  # kept for resume
    assert not target_of(world, m).exists()


# A Ctrl-C that lands while the CLI is still being imported (the early downloads already
# running): the child raises it from the import of ``comfylock.cli`` once bytes are on disk.
_INTERRUPT_AT_CLI_IMPORT = """
import importlib.abc, pathlib, sys, time
part = pathlib.Path(sys.argv[1])

class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "comfylock.cli":
            deadline = time.monotonic() + 30
            while not part.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv = ["comfylock", *sys.argv[2:]]
from comfylock.__main__ import main
main()
"""


def test_sigint_before_the_cli_is_imported_exits_130(world):
    if shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    m = world["models"][0]
    release = threading.Event()
    serve_world(world, signed_handler=stalling(m.data, release, first_only=False))
    part = store_dir() / "tmp" / f"{m.sha256}.part"
    cmd = [
        sys.executable,
        "-c",
        _INTERRUPT_AT_CLI_IMPORT,
        str(part),
        *world["args"],
        "sync",
        "--no-nodes",
    ]
    proc = _child(cmd)
    _, err = _ended(proc, release)
    assert proc.returncode == 130, err
    _one_line_error(err, "interrupted; partial downloads are kept")
    assert not _aria2_children(proc.pid)
    assert part.exists()  # the early download's bytes, kept for resume
    assert not target_of(world, m).exists()


def test_two_syncs_at_once_download_once(world):
    m = world["models"][0]
    release = threading.Event()
    gets = []

    def slow(request):
        gets.append(request.headers.get("Range"))
        release.wait(30)
        return range_response(request, m.data)

    serve_world(world, signed_handler=slow)
    procs = [spawn(world, "sync", "--no-aria2", "--no-nodes") for _ in range(2)]
    try:
        wait_for(lambda: len(gets) >= 1)
        time.sleep(0.3)  # let the second process reach the digest lock (not an assertion)
        release.set()
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        release.set()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in procs] == [0, 0], results
    assert len(gets) == 1
    assert target_of(world, m).read_bytes() == m.data


def test_not_enough_disk_space_stops_before_any_download(world, run_cli, monkeypatch):
    import collections

    serve_world(world)
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9, 1000))
    result = run_cli(*world["args"], "sync", "--no-aria2", "--no-nodes")
    assert result.exit_code == 6, result
    assert paths_in(world["server"]) == []


def test_locked_without_the_workflows_warns_and_locked_fails(world, run_cli):
    serve_world(world)
    text = world["lock"].read_text()
    world["lock"].write_text(
        text.replace(
            "version = 1\n",
            f'version = 1\n\n[[workflow]]\npath = "w.json"\ndigest = "sha256:{"0" * 64}"\n',
            1,
        )
    )
    result = run_cli(*world["args"], "sync", "--dry-run")
    assert result.exit_code == 0, result
    assert "not checked" in result.stderr
    locked = run_cli(*world["args"], "sync", "--dry-run", "--locked")
    assert locked.exit_code == 1 and "not checked" in locked.stderr


def test_locked_fails_on_a_stale_lock(world, run_cli):
    serve_world(world)
    (world["lock"].parent / "w.json").write_text(
        '{"1": {"class_type": "LoraLoader", "inputs": {"lora_name": "x.safetensors"}}}'
    )
    text = world["lock"].read_text()
    world["lock"].write_text(
        text.replace(
            "version = 1\n",
            f'version = 1\n\n[[workflow]]\npath = "w.json"\ndigest = "sha256:{"0" * 64}"\n',
            1,
        )
    )
    stale = run_cli(*world["args"], "sync", "--dry-run", "--locked")
    assert stale.exit_code == 1 and "stale" in stale.stderr and "w.json" in stale.stderr
    assert run_cli(*world["args"], "sync", "--dry-run").exit_code == 0, (
        "without --locked it is a warning"
    )


def test_extra_model_paths_are_searched_and_default_dirs_used(world, run_cli, tmp_path):
    serve_world(world)
    shared = tmp_path / "shared-models"
    lora, vae = world["models"][1], world["models"][2]
    (shared / "loras").mkdir(parents=True)
    (shared / "loras" / lora.name).write_bytes(lora.data)  # already on the shared drive
    (world["root"] / "extra_model_paths.yaml").write_text(
        f"shared:\n  base_path: {shared}\n  loras: loras\nfast:\n  base_path: {tmp_path / 'fast'}\n  is_default: true\n  vae: vae\n"
    )
    result = run_cli(*world["args"], "sync", "--no-aria2", "--no-nodes")
    assert result.exit_code == 0, result
    assert world["paths"]["hf"] not in paths_in(world["server"])  # found on the shared drive
    assert not target_of(world, lora).exists()
    assert (tmp_path / "fast" / "vae" / vae.name).read_bytes() == vae.data  # is_default target
    again = run_cli(*world["args"], "sync", "--no-aria2", "--no-nodes")
    assert "Already in sync: 3 models" in again.stdout


def test_prune_removes_only_links_comfylock_placed(world, run_cli):
    from tests.support.syncutil import write_lock

    serve_world(world)
    assert run_cli(*world["args"], "sync", "--no-aria2", "--no-nodes").exit_code == 0
    dropped = world["models"][2]
    users = world["root"] / "models" / "vae" / "mine.safetensors"
    users.write_bytes(b"the user's own")
    write_lock(world["lock"], world["models"][:2])
    kept = run_cli(*world["args"], "sync", "--no-nodes")
    assert kept.exit_code == 0 and target_of(world, dropped).is_symlink()  # no --prune: stays
    status = run_cli(*world["args"], "status", "--prune", "--no-nodes")
    assert "prune" in status.stdout
    result = run_cli(*world["args"], "sync", "--prune", "--no-nodes")
    assert result.exit_code == 0, result
    assert not target_of(world, dropped).exists() and not target_of(world, dropped).is_symlink()
    assert users.read_bytes() == b"the user's own"
    assert target_of(world, world["models"][0]).read_bytes() == world["models"][0].data


@pytest.mark.parametrize("mode", ["hardlink", "copy"])
def test_hardlink_and_copy_modes_are_recognised_on_the_next_run(world, run_cli, mode):
    serve_world(world)
    result = run_cli(*world["args"], "sync", "--no-aria2", "--no-nodes", "--link", mode)
    assert result.exit_code == 0, result
    for m in world["models"]:
        assert not target_of(world, m).is_symlink() and target_of(world, m).read_bytes() == m.data
    again = run_cli(*world["args"], "sync", "--no-nodes", "--link", mode)
    assert "Already in sync: 3 models" in again.stdout, again


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


def test_a_ctrl_c_while_waiting_for_the_store_lock_stops_the_early_aria2c(
    world, run_cli, monkeypatch
):
    # aria2c starts before the plan (the early downloads); a Ctrl-C while the sync waits
    # for the store's gc lock came before the cleanup that stops it: aria2c was left running
    if shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    from comfylock.store.blobs import Store
    from comfylock.sync.download.aria2proc import RUNNING

    serve_world(world)
    real = Store.file_lock
    seen = []

    @contextlib.contextmanager
    def interrupted_at_gc(self, name, **kwargs):
        if name == "gc":  # entered, not made, after the early start
            wait_for(lambda: RUNNING, timeout=15)  # aria2c is up (started on a thread)
            seen.append(list(RUNNING))
            raise KeyboardInterrupt
        with real(self, name, **kwargs) as got:
            yield got

    monkeypatch.setattr(Store, "file_lock", interrupted_at_gc)
    result = run_cli(*world["args"], "sync", "--no-nodes")
    assert result.exit_code == 130, result
    assert seen and seen[0], "aria2c had not started before the store's lock"
    assert all(proc.poll() is not None for proc in seen[0])
    assert not RUNNING
    assert not _aria2_children(os.getpid())
