"""remotes/s3.py: an ``s3://`` remote (moto's S3 server on loopback): down, no credentials, expired
URLs, and no client library imported by a no-op sync."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.imports import imported_in_child
from tests.support.remoteutil import (
    ACCESS_KEY,
    BUCKET,
    SECRET_KEY,
    blob_rel,
    forget_credentials,
    free_port,
    fresh_machine,
    s3_client,
)
from tests.support.remoteutil import installed as _installed
from tests.support.remoteutil import no_secret as _no_secret
from tests.support.syncutil import loopback_server, stop_server


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


def test_credentials_missing_is_exit_3_with_a_hint(world, s3, run_cli, monkeypatch):
    forget_credentials(monkeypatch)
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"s3://{BUCKET}/x")
    assert run_cli(*world["args"], "sync").exit_code == 0  # sync falls back to the origins
    result = run_cli(*world["args"], "push")
    assert result.exit_code == 3, result
    assert "no AWS credentials" in result.stderr and "AWS_ACCESS_KEY_ID" in result.stderr
    assert "Traceback" not in result.output


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


@pytest.mark.parametrize("s3", ["wire"], indirect=True)  # keys in the environment only
def test_a_sync_from_s3_with_keys_in_the_environment_imports_no_boto3(world, s3, run_cli, tmp_path):
    """The requests a sync makes (HEAD, a presigned GET) are presigned by botocore's signer
    when the environment says everything (``s3wire``): no boto3 client, no service model."""
    assert os.environ.get("AWS_ACCESS_KEY_ID"), "the wire half of the fixture sets the keys"
    for m in world["models"]:
        s3_client().put_object(Bucket=BUCKET, Key=f"w/{blob_rel(m.sha256)}", Body=m.data)
    args = [*fresh_machine(tmp_path, world, "fresh"), "sync", "--no-aria2"]
    env = {**os.environ, "COMFYLOCK_REMOTE": f"team=s3://{BUCKET}/w"}
    heavy = ("boto3", "botocore.client", "botocore.loaders", "botocore.auth")
    out, rc, loaded = imported_in_child(args, heavy, env=env)
    assert (rc, loaded) == (0, ["botocore.auth"]), out
    assert "Fetched 3 from team remotes, 0 from origins" in out, out
    _no_secret(out)
