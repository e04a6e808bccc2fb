"""A team remote never holds bad bytes (issue 16, attacks 1 and 2).

``push`` hashes what it uploads while it streams and refuses (and quarantines) a store blob
whose bytes no longer match its name; what it uploads carries a proof the remote keeps
(S3's own sha256 checksum, and the sha256 as object metadata), compared on every HEAD; a
sync that rejects a remote's bytes records it, and a push replaces them.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from tests.support.remoteutil import BUCKET, blob_rel, s3_client, s3_keys
from tests.support.syncutil import stop_server


@pytest.fixture
def team(s3, monkeypatch, tmp_path) -> str:
    """A push remote named ``team`` under a prefix of this test's own (moto keeps one
    bucket's objects for the whole process)."""
    prefix = f"farm-{tmp_path.name}"
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/{prefix}")
    return prefix


def _store() -> Path:
    return Path(os.environ["COMFYLOCK_STORE"])


def _machine(tmp_path: Path, world: dict, name: str) -> list[str]:
    root = tmp_path / name / "ComfyUI"
    (root / "models").mkdir(parents=True)
    return [
        "--lock",
        str(world["lock"]),
        "--comfyui-root",
        str(root),
        "--store",
        str(tmp_path / name / "store"),
    ]


def _rot(blob: Path) -> None:
    """Flip one byte of a read-only store blob, as root writing through a models-tree symlink
    (ComfyUI in Docker) or bit rot would: same size, same name, other bytes."""
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    os.chmod(blob, 0o444)


def _remote_bytes(key: str) -> bytes:
    return s3_client().get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_push_refuses_a_rotten_store_blob_and_quarantines_it(world, team, run_cli, monkeypatch):
    assert run_cli(*world["args"], "sync").exit_code == 0
    bad = world["models"][0]
    _rot(_store() / blob_rel(bad.sha256))
    result = run_cli(*world["args"], "push")
    assert result.exit_code == 4, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "quarantine" in errors[0], result
    assert f"{team}/{blob_rel(bad.sha256)}" not in s3_keys(f"{team}/")
    assert (_store() / "quarantine" / bad.sha256).is_file()
    assert not (_store() / blob_rel(bad.sha256)).exists()
    pushed = {k.rsplit("/", 1)[1] for k in s3_keys(f"{team}/")}
    assert pushed == {m.sha256 for m in world["models"][1:]}
    status = run_cli(*world["args"], "status")
    assert "checkpoints/SDXL/base.safetensors" in status.stdout, status


def test_a_rotten_big_blob_leaves_no_object_and_no_open_multipart_upload(s3, monkeypatch, tmp_path):
    from comfylock.errors import IntegrityError
    from comfylock.remotes import RemoteSpec
    from comfylock.remotes import s3 as s3mod
    from comfylock.store.blobs import Store
    from comfylock.store.hashing import Expected

    monkeypatch.setattr(s3mod, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    big = os.urandom(11 * 1024 * 1024)
    sha = hashlib.sha256(big).hexdigest()
    store = Store(_store()).ensure()
    (store.tmp_dir / "big").write_bytes(big)
    store.ingest(store.tmp_dir / "big", Expected(size=len(big), sha256=sha))
    _rot(store.blob_path(sha))
    prefix = f"rot-{tmp_path.name}"  # moto keeps one bucket's state for the whole process
    remote = s3mod.S3Remote(RemoteSpec(name="t", url=f"s3://{BUCKET}/{prefix}", push=True))
    with pytest.raises(IntegrityError):
        remote.upload(store.blob_path(sha), Expected(size=len(big), sha256=sha), lambda n: None)
    assert s3_keys(f"{prefix}/") == []
    assert not s3_client().list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads")


def test_push_hashes_while_it_uploads_and_never_reads_a_blob_twice(
    world, team, run_cli, monkeypatch
):
    from comfylock.store import hashing
    from tests.support.readcount import ReadCounter

    assert run_cli(*world["args"], "sync").exit_code == 0
    counter = ReadCounter()
    monkeypatch.setattr(hashing, "_open", counter)
    assert run_cli(*world["args"], "push").exit_code == 0
    assert counter.opened == [], "verified while streaming, not by a hash pass of its own"


def test_what_push_uploads_carries_its_sha256_for_the_next_head(world, team, run_cli, monkeypatch):
    assert run_cli(*world["args"], "sync", "--push").exit_code == 0
    for m in world["models"]:
        head = s3_client().head_object(
            Bucket=BUCKET, Key=f"{team}/{blob_rel(m.sha256)}", ChecksumMode="ENABLED"
        )
        assert head["Metadata"]["sha256"] == m.sha256
        assert base64.b64decode(head["ChecksumSHA256"]).hex() == m.sha256


def test_a_remote_copy_proven_wrong_on_head_is_replaced_by_push(world, team, run_cli, monkeypatch):
    assert run_cli(*world["args"], "sync").exit_code == 0
    one = world["models"][0]
    key = f"{team}/{blob_rel(one.sha256)}"
    # Wrong bytes whose S3 checksum (computed by the service) tells on them.
    s3_client().put_object(Bucket=BUCKET, Key=key, Body=b"x" * 10, ChecksumAlgorithm="SHA256")
    status = run_cli(*world["args"], "status")
    assert status.exit_code == 0
    pushed = run_cli(*world["args"], "push")
    assert pushed.exit_code == 0, pushed
    assert "pushed 3 blobs" in pushed.stdout, pushed
    assert _remote_bytes(key) == one.data


@pytest.mark.parametrize("how", ["metadata", "size"])
def test_a_remote_copy_whose_head_disagrees_is_not_used(
    world, team, run_cli, monkeypatch, tmp_path, how
):
    one = world["models"][0]
    key = f"{team}/{blob_rel(one.sha256)}"
    if how == "metadata":
        body, meta = one.data[::-1], {"sha256": hashlib.sha256(one.data[::-1]).hexdigest()}
    else:
        body, meta = one.data[:-1], {}
    s3_client().put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=meta)
    fresh = _machine(tmp_path, world, "fresh")
    status = run_cli(*fresh, "status")
    assert "from remote team" not in status.stdout, status
    synced = run_cli(*fresh, "sync", "--push")
    assert synced.exit_code == 0, synced
    assert "served wrong bytes" not in synced.stderr, "HEAD already told"
    assert _remote_bytes(key) == one.data


def test_a_sync_that_rejects_a_remotes_bytes_replaces_them_with_push(
    world, team, run_cli, monkeypatch, tmp_path
):
    one = world["models"][0]
    key = f"{team}/{blob_rel(one.sha256)}"
    # Wrong bytes of the right size, with no proof either way (another tool put them there).
    s3_client().put_object(Bucket=BUCKET, Key=key, Body=one.data[::-1])
    first = _machine(tmp_path, world, "first")
    synced = run_cli(*first, "sync", "--push")
    assert synced.exit_code == 0, synced
    assert "served wrong bytes" in synced.stderr
    assert _remote_bytes(key) == one.data, "sync --push replaced the bad copy"
    stop_server(world["server"])  # the origins are gone: the remote alone must do
    farm = _machine(tmp_path, world, "farm")
    assert run_cli(*farm, "sync").exit_code == 0


def test_a_rejection_recorded_by_sync_is_replaced_by_a_later_push(
    world, team, run_cli, monkeypatch, tmp_path
):
    one = world["models"][0]
    key = f"{team}/{blob_rel(one.sha256)}"
    s3_client().put_object(Bucket=BUCKET, Key=key, Body=one.data[::-1])
    assert run_cli(*world["args"], "sync").exit_code == 0  # rejects, records, uses the origin
    assert _remote_bytes(key) == one.data[::-1]
    pushed = run_cli(*world["args"], "push")
    assert pushed.exit_code == 0, pushed
    assert _remote_bytes(key) == one.data
    again = run_cli(*world["args"], "push")
    assert "pushed 0 blobs" in again.stdout, "replaced once, then trusted"
