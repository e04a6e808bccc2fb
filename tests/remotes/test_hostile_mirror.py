"""Held (issue 16): a hostile mirror costs a fallback to the origins, never a failed sync or a
hang, on both downloaders: it drips, truncates, sends an endless body, or redirects in a
loop; its HEAD says it has every blob, at the right size."""

from __future__ import annotations

import re
import shutil
import time

import pytest
from werkzeug import Response

from tests.support.remoteutil import installed
from tests.support.syncutil import loopback_server, paths_in, stop_server


def _drip(data: bytes, stop):
    def gen():
        yield data[:100]
        for _ in range(600):
            if stop.wait(0.1):
                return
            yield b"\0"

    return Response(gen(), headers={"Content-Length": str(len(data))}, direct_passthrough=True)


def _truncated(data: bytes, stop):
    """A partial copy: a short file, served whole (its own, shorter Content-Length)."""
    return Response(data[: len(data) // 3], headers={"Content-Length": str(len(data) // 3)})


def _endless(data: bytes, stop):
    def gen():
        while not stop.is_set():
            yield b"\0" * 65536

    return Response(
        gen(), headers={"Content-Type": "application/octet-stream"}, direct_passthrough=True
    )


def _redirect_loop(data: bytes, stop):
    return Response(status=302, headers={"Location": "/m/loop"})


HOSTILE = {"drip": _drip, "truncated": _truncated, "endless": _endless, "redirect": _redirect_loop}


@pytest.mark.parametrize("downloader", ["aria2", "--no-aria2"])
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_mirror_falls_back_to_the_origins(
    world, run_cli, monkeypatch, stop, downloader, kind
):
    if downloader == "aria2" and shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    monkeypatch.setenv("COMFYLOCK_STALL_SECONDS", "1")
    monkeypatch.setenv("COMFYLOCK_LOWEST_SPEED", "20000")
    blobs = {m.sha256: m.data for m in world["models"]}
    mirror = loopback_server()

    def handler(request):
        data = blobs.get(request.path.rsplit("/", 1)[-1], b"")
        if request.method == "HEAD":
            return Response(status=200, headers={"Content-Length": str(len(data))})
        return HOSTILE[kind](data, stop)

    mirror.expect_request(re.compile("/m/.*")).respond_with_handler(handler)
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"evil=http://127.0.0.1:{mirror.port}/m")
    extra = ["--no-aria2"] if downloader == "--no-aria2" else []
    started = time.monotonic()
    try:
        result = run_cli(*world["args"], "sync", *extra)
    finally:
        stop.set()
        stop_server(mirror)
    assert result.exit_code == 0, result
    assert "from remote evil" in result.stdout, "the mirror was asked first"
    assert result.stderr.count("remote evil") >= 1, result
    seen = paths_in(world["server"])
    assert all(world["paths"][k] in seen for k in ("signed", "hf", "url")), "the origins served"
    installed(world["args"], world)
    assert time.monotonic() - started < 120
