"""remotes/upload.py: ``push`` and ``sync --push`` to a team remote (moto's S3 on loopback)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.remoteutil import BUCKET, blob_rel, forget_credentials, s3_client, s3_keys
from tests.support.remoteutil import fresh_machine as _fresh_machine
from tests.support.remoteutil import installed as _installed
from tests.support.remoteutil import no_secret as _no_secret
from tests.support.syncutil import stop_server


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


def test_sync_push_without_credentials_syncs_then_says_the_push_failed(
    world, s3, run_cli, monkeypatch
):
    forget_credentials(monkeypatch)
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/x")
    result = run_cli(*world["args"], "sync", "--push")
    assert result.exit_code == 3, result
    assert "synced, but the push failed: remote 'team'" in result.stderr
    assert "then run `comfylock push" in result.stderr
    _installed(world["args"], world)
