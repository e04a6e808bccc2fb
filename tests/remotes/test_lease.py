"""remotes/lease.py and the S3 remote's lease objects, on moto's S3 server (both ways an S3
remote talks): one claim wins, a changed lease refuses a stale writer, expiry is the
server's clock, and status says which blobs another machine holds."""

from __future__ import annotations

import pytest

from comfylock.remotes import RemoteSpec
from comfylock.remotes.lease import (
    LEASE_SECONDS,
    Lease,
    decode_body,
    encode_body,
    lease_key,
    lease_seconds,
)
from comfylock.remotes.s3 import S3Remote
from tests.support.remoteutil import BUCKET, fresh_machine, no_secret, s3_keys

SHA = "ab" * 32


@pytest.fixture
def remote(s3):
    r = S3Remote(RemoteSpec(name="team", url=f"s3://{BUCKET}/farm", push=True))
    yield r
    r.close()


def test_one_claim_wins_and_the_other_is_refused(remote):
    mine = remote.claim(SHA, "holder-a", 30)
    assert mine is not None and mine.etag and mine.holder == "holder-a"
    assert remote.claim(SHA, "holder-b", 30) is None
    assert s3_keys("farm/") == [f"farm/leases/{SHA}"]
    seen = remote.read_lease(SHA)
    assert (seen.holder, seen.seconds, seen.etag) == ("holder-a", 30, mine.etag)


def test_the_listing_shows_each_lease_with_the_servers_time(remote):
    remote.claim(SHA, "holder-a", 30)
    listed, now = remote.leases()
    assert list(listed) == [SHA]
    etag, modified = listed[SHA]
    assert etag == remote.read_lease(SHA).etag
    assert now is not None and modified is not None and abs(now - modified) < 60


def test_a_take_over_needs_the_lease_as_it_was(remote):
    first = remote.claim(SHA, "holder-a", 30)
    second = remote.take_over(first, "holder-b", 30)
    assert second is not None and remote.read_lease(SHA).holder == "holder-b"
    assert remote.take_over(first, "holder-c", 30) is None  # first's ETag is stale
    assert remote.read_lease(SHA).holder == "holder-b"


def test_a_release_deletes_only_the_lease_it_names(remote):
    first = remote.claim(SHA, "holder-a", 30)
    second = remote.take_over(first, "holder-b", 30)
    remote.release(first)  # stale: the lease is someone else's now
    assert remote.read_lease(SHA).holder == "holder-b"
    remote.release(second)
    assert remote.read_lease(SHA) is None and remote.leases()[0] == {}
    assert remote.claim(SHA, "holder-c", 30) is not None  # free again


def test_expiry_is_last_modified_plus_seconds_on_the_servers_clock():
    lease = Lease(sha256=SHA, etag='"x"', modified=1000.0, seconds=60)
    assert not lease.is_expired(1059.0) and lease.is_expired(1060.0)
    assert not lease.is_expired(None)  # no server time: never judged expired
    assert SHA not in repr(lease) and "holder" not in repr(lease)


def test_a_body_that_is_not_a_lease_is_none():
    assert decode_body(encode_body("h", 45)) == ("h", 45)
    for bad in (
        b"",
        b"{}",
        b"[1]",
        b'{"holder": 1, "seconds": 3}',
        b'{"holder": "h", "seconds": true}',
    ):
        assert decode_body(bad) is None


def test_lease_seconds_come_from_the_environment_with_a_floor():
    assert lease_seconds({}) == LEASE_SECONDS
    assert lease_seconds({"COMFYLOCK_LEASE_SECONDS": "5"}) == 5
    assert lease_seconds({"COMFYLOCK_LEASE_SECONDS": "0"}) == 2
    assert lease_seconds({"COMFYLOCK_LEASE_SECONDS": "soon"}) == LEASE_SECONDS


def test_the_key_sits_beside_the_blobs():
    assert lease_key("team/x/", SHA) == f"team/x/leases/{SHA}"
    assert lease_key("", SHA) == f"leases/{SHA}"


def test_status_and_dry_run_say_which_blobs_come_from_an_origin_and_which_from_the_remote(
    world, s3, run_cli, tmp_path
):
    """Another machine holds a claim on one blob: this one expects it from the remote, and
    (with --push) claims the others and fetches them from their origins."""
    held, *rest = world["models"]
    other = S3Remote(RemoteSpec(name="team", url=f"s3://{BUCKET}/farm", push=True))
    try:
        other.claim(held.sha256, "another-machines-holder-id", 60)
    finally:
        other.close()
    args = fresh_machine(tmp_path, world, "fresh")
    env = {"COMFYLOCK_REMOTE": f"team=s3://{BUCKET}/farm"}
    for cmd in (["status"], ["sync", "--push", "--dry-run"]):
        result = run_cli(*args, *cmd, env=env)
        lines = result.output.splitlines()
        awaited = [ln for ln in lines if held.name in ln]
        assert awaited and "from remote team once another machine pushes it" in awaited[0], lines
        for m in rest:
            line = next(ln for ln in lines if m.name in ln and ln.startswith("fetch"))
            assert "remote team" not in line, line
            if "--push" in cmd:
                assert "claimed on team, then pushed there" in line, line
        assert "another-machines-holder-id" not in result.output
        no_secret(result.output)
    assert s3_keys("farm/") == [f"farm/leases/{held.sha256}"]  # a dry run claims nothing


def test_the_wire_listing_reads_every_page(monkeypatch, tmp_path_factory):
    # ListObjectsV2 answers at most a page of keys: the continuation token is followed
    from tests.support.remoteutil import moto_s3

    with moto_s3(monkeypatch, via="wire", home=tmp_path_factory.mktemp("aws")):
        remote = S3Remote(RemoteSpec(name="team", url=f"s3://{BUCKET}/farm", push=True))
        try:
            shas = [f"{i:02x}" * 32 for i in range(5)]
            for sha in shas:
                assert remote.claim(sha, "holder-a", 30) is not None
            wire = remote._wire
            assert wire is not None  # keys in the environment: the presigned requests
            pages = []
            send = wire.request
            monkeypatch.setattr(wire, "request", lambda *a, **k: pages.append(1) or send(*a, **k))
            found, now = wire.listing(lease_key("farm", ""), page=2)
            assert len(pages) == 3  # 2 + 2 + 1
            assert sorted(k.rsplit("/", 1)[-1] for k, _, _ in found) == shas
            assert now is not None and all(modified is not None for _, _, modified in found)
            assert sorted(remote.leases()[0]) == shas
        finally:
            remote.close()
