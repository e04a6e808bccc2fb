"""Team remotes (SPEC §8) against real servers on loopback: moto's S3 server and nginx.

The first machine syncs from the origins and pushes; a fresh machine (its own store and
ComfyUI root) then syncs with the origins gone, from the remote alone. Faults: a remote
that is down, lacks a blob, serves wrong bytes, hands out an expired URL, or has no
credentials. No secret may appear in any output, the lock or the config.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.remoteutil import (
    ACCESS_KEY,
    BUCKET,
    SECRET_KEY,
    blob_rel,
    free_port,
    moto_s3,
    nginx_serving,
    s3_client,
    s3_keys,
)
from tests.support.syncutil import loopback_server, make_world, paths_in, serve_world, stop_server


@pytest.fixture
def world(tmp_path, server, monkeypatch):
    w = make_world(tmp_path, server, monkeypatch, nodes=False)
    serve_world(w)
    return w


@pytest.fixture
def s3(monkeypatch):
    with moto_s3(monkeypatch) as endpoint:
        yield endpoint


def _fresh_machine(tmp_path: Path, world: dict, name: str) -> list[str]:
    """Another machine: its own ComfyUI root and store, the same lock."""
    root = tmp_path / name / "ComfyUI"
    (root / "models").mkdir(parents=True)
    store = tmp_path / name / "store"
    return ["--lock", str(world["lock"]), "--comfyui-root", str(root), "--store", str(store)]


def _installed(args: list[str], world: dict) -> None:
    root = Path(args[args.index("--comfyui-root") + 1])
    for m in world["models"]:
        target = root / "models" / m.folder / m.name
        assert target.read_bytes() == m.data, target


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET_KEY not in text
        assert ACCESS_KEY not in text
        assert "X-Amz-Signature=" not in text or "X-Amz-Signature=***" in text


def test_push_then_sync_from_s3_with_origins_gone(world, s3, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/farm")
    first = run_cli(*world["args"], "-v", "sync", "--push")
    assert first.exit_code == 0, first
    assert "team: pushed 3 blobs" in first.stdout
    assert s3_keys("farm/") == sorted(f"farm/{blob_rel(m.sha256)}" for m in world["models"])
    stop_server(world["server"])  # the origins are gone
    fresh = _fresh_machine(tmp_path, world, "fresh")
    status = run_cli(*fresh, "status")
    assert status.exit_code == 0, status
    assert status.stdout.count("from remote team") == 3, status
    second = run_cli(*fresh, "-v", "sync")
    assert second.exit_code == 0, second
    assert "Fetched 3 from team remotes, 0 from origins" in second.stdout
    _installed(fresh, world)
    _no_secret(first.output, second.output, status.output, world["lock"].read_text())


def test_push_command_heads_first_and_uploads_only_what_is_missing(
    world, s3, run_cli, tmp_path, monkeypatch
):
    (world["lock"].parent / "comfylock.toml").write_text(
        f'[[remote]]\nname = "team"\nurl = "s3://{BUCKET}/p"\npush = true\n'
    )
    assert run_cli(*world["args"], "sync").exit_code == 0
    one = world["models"][0]
    s3_client().put_object(Bucket=BUCKET, Key=f"p/{blob_rel(one.sha256)}", Body=one.data)
    pushed = run_cli(*world["args"], "push")
    assert pushed.exit_code == 0, pushed
    assert "team: pushed 2 blobs" in pushed.stdout and "1 already there" in pushed.stdout
    assert "pushed loras/detail.safetensors (117.2 KiB" in pushed.stderr  # progress lines
    again = run_cli(*world["args"], "push", "--remote", "team")
    assert "pushed 0 blobs" in again.stdout and "3 already there" in again.stdout
    _no_secret(pushed.output, again.output, (world["lock"].parent / "comfylock.toml").read_text())


def test_push_uses_multipart_for_big_blobs(world, s3, run_cli, monkeypatch):
    from comfylock.remotes import s3 as s3mod

    monkeypatch.setattr(s3mod, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    store = Path(os.environ["COMFYLOCK_STORE"])
    big = os.urandom(11 * 1024 * 1024)
    import hashlib

    sha = hashlib.sha256(big).hexdigest()
    from comfylock.remotes import RemoteSpec
    from comfylock.remotes.s3 import S3Remote
    from comfylock.remotes.upload import push_to
    from comfylock.store.blobs import Store
    from comfylock.store.hashing import Expected

    tmp = store / "tmp" / "big"
    Store(store).ensure()
    tmp.write_bytes(big)
    Store(store).ingest(tmp, Expected(size=len(big), sha256=sha))
    remote = S3Remote(RemoteSpec(name="t", url=f"s3://{BUCKET}/mp", push=True))

    class Ticks:
        def task(self, label, total):
            self.seen = []
            return self.seen.append

        def finished(self, label, size, verb="fetched"):
            self.done = (label, size, verb)

    ticks = Ticks()
    result = push_to(remote, Store(store), [(sha, len(big), "big")], ticks)
    assert result.uploaded == [sha]
    head = s3_client().head_object(Bucket=BUCKET, Key=f"mp/{blob_rel(sha)}")
    assert head["ContentLength"] == len(big)
    assert head["ETag"].strip('"').endswith("-3")  # three parts: a multipart upload
    assert ticks.seen[-1] == len(big) and ticks.done == ("big", len(big), "pushed")


def test_sync_with_the_remote_down_uses_the_origins(world, run_cli, monkeypatch):
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=http://127.0.0.1:{free_port()}/x")
    result = run_cli(*world["args"], "sync")
    assert result.exit_code == 0, result
    assert "remote 'team'" in result.stderr and "unreachable" in result.stderr
    assert "fetching from the origins" in result.stderr
    _installed(world["args"], world)


def test_sync_with_s3_down_uses_the_origins(world, run_cli, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"s3://{BUCKET}/x")
    result = run_cli(*world["args"], "-v", "sync")
    assert result.exit_code == 0, result
    assert "unreachable" in result.stderr
    _installed(world["args"], world)
    _no_secret(result.output)


def test_a_blob_the_remote_lacks_comes_from_its_origin_only(
    world, s3, run_cli, tmp_path, monkeypatch
):
    a, b, c = world["models"]
    for m in (a, c):
        s3_client().put_object(Bucket=BUCKET, Key=f"t/{blob_rel(m.sha256)}", Body=m.data)
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"s3://{BUCKET}/t")
    status = run_cli(*world["args"], "status")
    assert status.stdout.count("from remote env") == 2, status
    result = run_cli(*world["args"], "sync")
    assert result.exit_code == 0, result
    assert "Fetched 2 from team remotes, 1 from origins" in result.stdout
    seen = paths_in(world["server"])
    assert world["paths"]["hf"] in seen  # b's origin
    assert world["paths"]["url"] not in seen and world["paths"]["civitai"] not in seen
    _installed(world["args"], world)


def test_credentials_missing_is_exit_3_with_a_hint(world, s3, run_cli, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"s3://{BUCKET}/x")
    assert run_cli(*world["args"], "sync").exit_code == 0  # sync falls back to the origins
    result = run_cli(*world["args"], "push")
    assert result.exit_code == 3, result
    assert "no AWS credentials" in result.stderr and "AWS_ACCESS_KEY_ID" in result.stderr
    assert "Traceback" not in result.output


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
def test_an_expired_presigned_url_falls_back_to_the_origins(
    world, s3, run_cli, monkeypatch, downloader
):
    """moto accepts presigned URLs past their expiry, so the GET goes to a loopback server
    answering as S3 does then (403 AccessDenied, "Request has expired"); HEAD stays on moto.
    """
    if downloader == "aria2" and shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    from urllib.parse import urlsplit

    from werkzeug import Response

    from comfylock.remotes import s3 as s3mod

    for m in world["models"]:
        s3_client().put_object(Bucket=BUCKET, Key=f"e/{blob_rel(m.sha256)}", Body=m.data)
    expired = loopback_server()
    body = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    expired.expect_request("/" + BUCKET, method="GET").respond_with_response(
        Response(body, status=403)
    )
    expired.no_handler_status_code = 403
    real = s3mod.S3Remote.fetch_url

    def moved(self, sha256):
        url = urlsplit(real(self, sha256))
        assert "X-Amz-Signature=" in url.query
        return url._replace(netloc=f"127.0.0.1:{expired.port}").geturl()

    monkeypatch.setattr(s3mod.S3Remote, "fetch_url", moved)
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"s3://{BUCKET}/e")
    extra = ["--no-aria2"] if downloader == "--no-aria2" else []
    try:
        result = run_cli(*world["args"], "-v", "sync", *extra)
    finally:
        stop_server(expired)
    assert result.exit_code == 0, result
    assert result.stderr.count("remote env failed for") == 3, result
    assert "Fetched" not in result.stdout  # nothing came from the remote
    _installed(world["args"], world)
    _no_secret(result.output)


def test_a_copy_elsewhere_in_the_tree_is_adopted_not_downloaded(world, run_cli):
    """The machine is the first remote: the same checkpoint kept under another name."""
    base = world["models"][0]
    kept = world["root"] / "models" / "checkpoints" / "Anime" / "pony_v7.safetensors"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(base.data)
    os.utime(kept, (1_700_000_000, 1_700_000_000))  # an old file: its cache row is trusted
    before = kept.stat()
    assert run_cli("--comfyui-root", str(world["root"]), "scan").exit_code == 0  # hash cache
    status = run_cli(*world["args"], "status")
    assert "adopt     checkpoints/Anime/pony_v7.safetensors (same bytes as" in status.stdout
    assert "checkpoints/SDXL/base.safetensors (293.0 KiB) from" not in status.stdout
    result = run_cli(*world["args"], "sync")
    assert result.exit_code == 0, result
    seen = paths_in(world["server"])
    assert world["paths"]["civitai"] not in seen and world["paths"]["signed"] not in seen
    _installed(world["args"], world)
    after = kept.stat()  # the user's file: same inode, bytes, mode; not shared with the blob
    assert (after.st_ino, after.st_mode, after.st_nlink) == (
        before.st_ino,
        before.st_mode,
        before.st_nlink,
    )
    assert kept.read_bytes() == base.data


def test_a_file_the_hash_cache_does_not_know_is_not_hashed_by_sync(world, run_cli):
    """Only digests already cached count: sync never hashes the whole tree to look."""
    kept = world["root"] / "models" / "checkpoints" / "Anime" / "pony_v7.safetensors"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(world["models"][0].data)
    os.utime(kept, (1_700_000_000, 1_700_000_000))
    status = run_cli(*world["args"], "status")
    assert "adopt     " not in status.stdout and "from civitai" in status.stdout, status


def test_remotes_in_comfylock_toml_and_bad_ones(world, run_cli):
    toml = world["lock"].parent / "comfylock.toml"
    toml.write_text('[[remote]]\nname = "cdn"\nurl = "http://mirror.example.com/m"\n')
    result = run_cli(*world["args"], "status")
    assert result.exit_code == 2 and "refusing to download over http" in result.stderr, result
    toml.write_text('[[remote]]\nname = "x"\nurl = "ftp://host/m"\n')
    result = run_cli(*world["args"], "status")
    assert result.exit_code == 2 and "unsupported URL scheme" in result.stderr, result
    toml.write_text('[[remote]]\nname = "x"\nurl = "https://u:pw@host/m"\n')
    result = run_cli(*world["args"], "status")
    assert result.exit_code == 2 and "credentials" in result.stderr and "pw" not in result.stderr
    toml.write_text('[[remote]]\nname = "x"\nurl = "s3://b/p"\nsecret = "k"\n')
    result = run_cli(*world["args"], "status")
    assert result.exit_code == 2 and "secret" in result.stderr, result


def test_a_noop_sync_with_a_remote_imports_no_client_library(world, run_cli, tmp_path):
    import subprocess
    import sys

    assert run_cli(*world["args"], "sync").exit_code == 0
    code = (
        "import sys\n"
        "from comfylock.cli import _run\n"
        f"rc = _run({[*world['args'], 'sync']!r})\n"
        "print(rc, sorted(m for m in ('boto3', 'botocore', 'httpx') if m in sys.modules))\n"
    )
    env = {**os.environ, "COMFYLOCK_REMOTE": f"s3://{BUCKET}/p"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip().endswith("0 []"), out


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


def test_remote_health_says_which_remote_answers(world, s3, monkeypatch):
    from comfylock.project import Project
    from comfylock.remotes.health import remote_health
    from comfylock.settings import make_settings

    def health_now():
        project = Project(make_settings(lock=str(world["lock"])))
        return remote_health(project.remote_specs, project.allow_http)

    dead = f"http://127.0.0.1:{free_port()}/m"
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/p,cdn={dead}")
    health = health_now()
    assert [(h.name, h.ok) for h in health] == [("team", True), ("cdn", False)]
    assert "unreachable" in health[1].detail and health[0].push
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    health = health_now()
    assert not health[0].ok and "AWS_ACCESS_KEY_ID" in health[0].fix
    _no_secret(repr(health))


def test_doctor_shows_each_remote_and_whether_it_answers(world, s3, run_cli, monkeypatch):
    import json

    dead = f"http://127.0.0.1:{free_port()}/m"
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/p,cdn={dead}")
    result = run_cli(*world["args"], "doctor")
    assert result.exit_code == 1, result  # a remote that does not answer is a problem
    assert "remote team" in result.stdout and "remote cdn" in result.stdout
    data = json.loads(run_cli(*world["args"], "doctor", "--json").stdout)
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["remote team"]["ok"] and not checks["remote cdn"]["ok"]
    assert checks["AWS_SECRET_ACCESS_KEY"]["detail"] == "set"
    _no_secret(result.output, json.dumps(data))


def test_sync_push_without_credentials_syncs_then_says_the_push_failed(
    world, s3, run_cli, monkeypatch
):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/x")
    result = run_cli(*world["args"], "sync", "--push")
    assert result.exit_code == 3, result
    assert "synced, but the push failed: remote 'team'" in result.stderr
    assert "then run `comfylock push`" in result.stderr
    _installed(world["args"], world)
