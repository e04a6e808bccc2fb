"""remotes/mirror.py: an ``https://`` mirror of the store's layout (nginx on loopback): synced from
with the origins gone; down, wrong bytes or a plain-http redirect fall back to the origins."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.imports import imported_in_child
from tests.support.remoteutil import blob_rel, free_port, nginx_serving
from tests.support.remoteutil import fresh_machine as _fresh_machine
from tests.support.remoteutil import installed as _installed
from tests.support.syncutil import loopback_server, stop_server


def test_sync_with_the_remote_down_uses_the_origins(world, run_cli, monkeypatch):
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=http://127.0.0.1:{free_port()}/x")
    result = run_cli(*world["args"], "sync")
    assert result.exit_code == 0, result
    assert "remote 'team'" in result.stderr and "unreachable" in result.stderr
    assert "fetching from the origins" in result.stderr
    _installed(world["args"], world)


def test_sync_from_an_nginx_mirror_with_origins_gone(world, run_cli, tmp_path, monkeypatch):
    assert run_cli(*world["args"], "sync").exit_code == 0
    mirror = tmp_path / "mirror"
    store = Path(os.environ["COMFYLOCK_STORE"])
    shutil.copytree(store / "blobs", mirror / "team" / "blobs")
    stop_server(world["server"])
    with nginx_serving(mirror, tmp_path / "nginx") as base:
        monkeypatch.setenv("COMFYLOCK_REMOTE", f"mirror={base}/team")
        fresh = _fresh_machine(tmp_path, world, "fresh")
        assert run_cli(*fresh, "status").stdout.count("from remote mirror") == 3
        result = run_cli(*fresh, "sync")
        assert result.exit_code == 0, result
        assert "Fetched 3 from team remotes" in result.stdout
        _installed(fresh, world)
        pushed = run_cli(*fresh, "push", "--remote", "mirror")
        assert pushed.exit_code == 2 and "read-only" in pushed.stderr, pushed


@pytest.mark.parametrize("downloader", ["aria2", "--no-aria2"])
def test_a_mirror_serving_wrong_bytes_falls_back_to_the_origins(
    world, run_cli, tmp_path, monkeypatch, downloader
):
    if downloader == "aria2" and shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    mirror = tmp_path / "mirror"
    for m in world["models"]:
        path = mirror / blob_rel(m.sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(len(m.data)))  # the right size, the wrong bytes
    with nginx_serving(mirror, tmp_path / "nginx") as base:
        monkeypatch.setenv("COMFYLOCK_REMOTE", f"bad={base}")
        extra = ["--no-aria2"] if downloader == "--no-aria2" else []
        result = run_cli(*world["args"], "sync", *extra)
    assert result.exit_code == 0, result
    assert result.stderr.count("remote bad served wrong bytes") == 3, result
    _installed(world["args"], world)


@pytest.mark.parametrize("downloader", ["aria2", "--no-aria2"])
def test_a_mirror_redirecting_to_plain_http_is_refused_and_origins_serve(
    world, run_cli, monkeypatch, downloader
):
    """A mirror's redirect is checked hop by hop like any source's (SPEC §6)."""
    if downloader == "aria2" and shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    from werkzeug import Response

    mirror = loopback_server()
    mirror.expect_request("/m/blobs", method="HEAD").respond_with_response(Response(status=200))
    mirror.no_handler_status_code = 302

    def redirect(request):
        return Response(status=302, headers={"Location": "http://mirror.example.com/blob"})

    import re

    mirror.expect_request(re.compile("/m/blobs/.*")).respond_with_handler(redirect)
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"cdn=http://127.0.0.1:{mirror.port}/m")
    extra = ["--no-aria2"] if downloader == "--no-aria2" else []
    try:
        result = run_cli(*world["args"], "sync", *extra)
    finally:
        stop_server(mirror)
    assert result.exit_code == 0, result
    assert result.stderr.count("remote cdn failed for") == 3, result
    assert "refusing to download over http from mirror.example.com" in result.stderr
    _installed(world["args"], world)


def test_a_sync_from_a_mirror_imports_no_http_library(world, run_cli, tmp_path):
    """The mirror's HEADs go over kept-alive connections of the standard library, and aria2c
    fetches the blobs (driven through aria2p): a remote-served sync pays for no httpx or
    boto3 import."""
    if shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    assert run_cli(*world["args"], "sync").exit_code == 0
    mirror = tmp_path / "mirror"
    shutil.copytree(Path(os.environ["COMFYLOCK_STORE"]) / "blobs", mirror / "team" / "blobs")
    stop_server(world["server"])
    with nginx_serving(mirror, tmp_path / "nginx") as base:
        args = [*_fresh_machine(tmp_path, world, "fresh"), "sync"]
        env = {**os.environ, "COMFYLOCK_REMOTE": f"mirror={base}/team"}
        out, rc, loaded = imported_in_child(args, ("httpx", "boto3", "botocore"), env=env)
    assert (rc, loaded) == (0, []), out
    assert "Fetched 3 from team remotes, 0 from origins" in out, out


def test_a_blob_the_mirror_lacks_is_asked_by_its_early_download_alone(
    world, run_cli, tmp_path, monkeypatch
):
    # aria2c asks the mirror for every missing blob from before the plan: that GET is the
    # probe (no HEAD each); the one it lacks comes from its origin, as quietly as a HEAD's
    # "not here" made it before
    if shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    from tests.support.syncutil import paths_in

    mirror = tmp_path / "mirror"
    lacking = world["models"][1]
    for m in world["models"]:
        if m is not lacking:
            path = mirror / blob_rel(m.sha256)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(m.data)
    with nginx_serving(mirror, tmp_path / "nginx") as base:
        monkeypatch.setenv("COMFYLOCK_REMOTE", f"team={base}")
        result = run_cli(*world["args"], "sync")
    assert result.exit_code == 0, result
    assert "Fetched 2 from team remotes, 1 from origins" in result.stdout, result
    assert "failed" not in result.stderr and "warning" not in result.stderr.lower(), result
    assert world["paths"]["hf"] in paths_in(world["server"])  # the lacking blob's origin
    assert world["paths"]["url"] not in paths_in(world["server"])
    _installed(world["args"], world)
