"""sync/fetching.py: fetching a plan's blobs: exit codes, Ctrl-C, stalls."""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from werkzeug import Response

from tests.support.hostile import DATA, HAVE_ARIA2
from tests.support.hostile import sync_args as _sync_world
from tests.support.output import error_line as _error_line
from tests.support.output import one_line_error as _one_line_error
from tests.support.syncutil import blob_files
from tests.support.syncutil import one_lora_world as _world


@pytest.mark.parametrize("kind", ["--no-aria2", "aria2"])
def test_net_download_redirect_loop_exits_3(kind, origin, tmp_path, run_cli):
    if kind == "aria2" and not HAVE_ARIA2:
        pytest.skip("no aria2c")
    origin.expect_request("/loop").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": "/loop"})
    )
    args = _sync_world(tmp_path, origin.url_for("/loop"))
    result = run_cli(*args, *([kind] if kind.startswith("--") else []))
    assert result.exit_code == 3, result
    assert "redirects" in _error_line(result.stderr)


def test_net_ctrl_c_waits_for_workers_inside_the_store(tmp_path, monkeypatch):
    """A worker still in SQLite/blake3 while the index closed and the interpreter finalised
    crashed with SIGSEGV (1 in ~10 Ctrl-C'd httpx syncs under load). After Ctrl-C no worker
    may still be inside the store when ``_fetch_all`` returns."""
    import _thread

    from comfylock.errors import Interrupted
    from comfylock.store.blobs import Store
    from comfylock.sync.apply import ApplyContext
    from comfylock.sync.fetching import fetch_all
    from comfylock.sync.plan import SyncPlan

    store = Store(tmp_path / "store").ensure()
    quick, stalled = b"quick bytes" * 100, b"never arrives"
    cancel_box: list[threading.Event] = []
    inside = threading.Event()

    class Fake:
        def fetch(self, urls, dest, expected, size, headers, progress=None):
            if urls[0].endswith("/quick"):
                dest.write_bytes(quick)
            else:  # a stalled download: it sees cancel only
                cancel_box[0].wait(10)
                raise Interrupted("download interrupted")

        def close(self):
            pass

    def factory(tmp_dir, jobs, cancel):
        cancel_box.append(cancel)
        return Fake(), None

    real_ingest = store.ingest

    def slow_ingest(tmp, expected, **kw):
        inside.set()
        _thread.interrupt_main()  # Ctrl-C arrives while this worker is in the store
        cancel_box[0].wait(10)
        time.sleep(0.3)  # still hashing / writing the index
        try:
            return real_ingest(tmp, expected, **kw)
        finally:
            inside.clear()

    monkeypatch.setattr(store, "ingest", slow_ingest)
    fetches = _url_fetches({"quick": quick, "stalled": stalled}, "example.invalid")
    plan = SyncPlan(fetch=fetches)
    ctx = ApplyContext(
        store=store, lock_path=str(tmp_path / "comfy.lock"), jobs=2, downloader_factory=factory
    )
    try:
        with pytest.raises(Interrupted):
            fetch_all(plan, ctx, [], [], {})
        assert not inside.is_set(), "a worker is still inside the store after Ctrl-C"
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["--no-aria2", "aria2"])
def test_net_stalled_sync_exits_3_and_keeps_the_partial_file(
    kind, origin, stop, tmp_path, run_cli, monkeypatch
):
    import os

    if kind == "aria2" and not HAVE_ARIA2:
        pytest.skip("no aria2c")
    monkeypatch.setenv("COMFYLOCK_STALL_SECONDS", "1")
    monkeypatch.setenv("COMFYLOCK_LOWEST_SPEED", "100")
    data = DATA[:50_000]

    def handler(request):
        def gen():
            yield data[:20_000]
            for _ in range(100):
                if stop.wait(0.1):
                    return
                yield b"x"

        return Response(gen(), headers={"Content-Length": str(len(data))}, direct_passthrough=True)

    origin.expect_request("/f").respond_with_handler(handler)
    args = _sync_world(tmp_path, origin.url_for("/f"))
    result = run_cli(*args, *([kind] if kind.startswith("--") else []))
    assert result.exit_code == 3, result
    assert "stalled" in _error_line(result.stderr)
    parts = list((Path(os.environ["COMFYLOCK_STORE"]) / "tmp").glob("*.part"))
    assert parts and parts[0].stat().st_size >= 20_000  # kept: the next sync resumes it


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


def test_a_prefetched_download_is_not_called_resumed(tmp_path):
    """aria2 gets every download when fetching begins (``prefetch``), so a small file can be
    complete in tmp/ before its worker looks: those bytes were fetched by this run. Only a
    partial file that was there before the run is "resumed" (the demo said "0 B, resumed:
    2.6 KiB were already here" for a file it had just downloaded)."""
    from comfylock.store.blobs import Store
    from comfylock.sync.apply import ApplyContext
    from comfylock.sync.fetching import fetch_all
    from comfylock.sync.plan import SyncPlan

    store = Store(tmp_path / "store").ensure()
    fresh, partial = b"fetched in full by this run" * 50, b"half of it was here before" * 50
    store.tmp_path(hashlib.sha256(partial).hexdigest()).write_bytes(partial[:600])
    contents = {"fresh": fresh, "partial": partial}

    class Prefetching:
        def prefetch(self, items):
            for urls, dest, _size in items:  # as fast as aria2 on loopback: done at once
                dest.write_bytes(contents[urls[0].rsplit("/", 1)[1]])

        def fetch(self, urls, dest, expected, size, headers, progress=None):
            dest.write_bytes(contents[urls[0].rsplit("/", 1)[1]])

        def close(self):
            pass

    class Recorder:
        def __init__(self) -> None:
            self.resumed: dict[str, int] = {}

        def task(self, label, total, resumed=0):
            self.resumed[label] = resumed
            return lambda n: None

        def finished(self, label, size):
            pass

    fetches = _url_fetches(contents, "127.0.0.1")
    recorder = Recorder()
    ctx = ApplyContext(
        store=store,
        lock_path=str(tmp_path / "comfy.lock"),
        jobs=2,
        downloader_factory=lambda tmp_dir, jobs, cancel: (Prefetching(), None),
        progress=recorder,
    )
    try:
        failures: list = []
        fetch_all(SyncPlan(fetch=fetches), ctx, failures, [], {})
        assert not failures, failures
        assert recorder.resumed == {"fresh": 0, "partial": 600}
        assert all(store.has(f.sha256) for f in fetches)
    finally:
        store.close()


def _url_fetches(contents: dict[str, bytes], host: str):
    """A plan's downloads of ``contents`` (name -> bytes), each from ``https://HOST/NAME``."""
    from comfylock.lock.structs import UrlSource
    from comfylock.sync.plan import Fetch

    return tuple(
        Fetch(
            reason="missing",
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            keys=(name,),
            sources=(UrlSource(url=f"https://{host}/{name}"),),
        )
        for name, data in contents.items()
    )
