"""A cold farm (SPEC §7, issue 20): many machines start ``sync --push`` at once on an empty S3
remote (moto's server on loopback); a machine claims a blob before it fetches it, pushes it
once verified, and the others take it from the remote. The origin (each connection capped,
as a CDN caps it) serves the set about once in total, split across the machines, and a
machine killed while holding claims only delays its blobs until their leases expire."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.origin import capped_origin
from tests.support.remoteutil import ACCESS_KEY, BUCKET, SECRET_KEY, moto_s3, s3_client, s3_keys

MACHINES = 20
BLOBS = 8
SIZE = 192 * 1024


@pytest.fixture
def s3(monkeypatch):
    with moto_s3(monkeypatch) as endpoint:
        yield endpoint


@pytest.fixture
def farm(tmp_path, s3):
    """The origin's files, a lock naming them, and the environment every machine shares."""
    blobs = tmp_path / "origin"
    blobs.mkdir()
    files = []
    for i in range(BLOBS):
        data = hashlib.sha256(b"%d" % i).digest() * (SIZE // 32)
        (blobs / f"m{i}.safetensors").write_bytes(data)
        files.append((f"m{i}.safetensors", data))
    env = {
        **os.environ,
        "COMFYLOCK_REMOTE": f"team=s3://{BUCKET}/farm",
        "COMFYLOCK_LEASE_SECONDS": "30",  # the killed holder's test shortens it
    }
    return {"tmp": tmp_path, "origin": blobs, "files": files, "env": env}


def _lock(farm, base: str) -> Path:
    parts = ["version = 1\n"]
    for name, data in farm["files"]:
        parts.append(
            f'[[model]]\nfolder = "loras"\nname = "{name}"\nsize = {len(data)}\n'
            f'sha256 = "{hashlib.sha256(data).hexdigest()}"\n'
            f'[[model.source]]\ntype = "url"\nurl = "{base}/{name}"\n'
        )
    path = farm["tmp"] / "project" / "comfy.lock"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(parts))
    return path


def _machine(farm, lock: Path, i: int, *extra: str) -> subprocess.Popen:
    home = farm["tmp"] / f"m{i:02d}"
    (home / "ComfyUI" / "models").mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "comfylock", "--lock", str(lock)]
    argv += ["--comfyui-root", str(home / "ComfyUI"), "--store", str(home / "store")]
    env = {**farm["env"], "COMFYLOCK_CACHE_DIR": str(home / "cache")}
    return subprocess.Popen(
        [*argv, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(procs: list[subprocess.Popen], seconds: float = 240) -> list[str]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=seconds)
        assert p.returncode == 0, (p.args, stdout, stderr)
        out.append(stdout + stderr)
    return out


def _verified(farm, i: int) -> None:
    for name, data in farm["files"]:
        target = farm["tmp"] / f"m{i:02d}" / "ComfyUI" / "models" / "loras" / name
        assert target.read_bytes() == data, target


def _no_secret(*texts: str, holders: tuple[str, ...] = ()) -> None:
    for text in texts:
        assert SECRET_KEY not in text and ACCESS_KEY not in text, text
        assert "X-Amz-Signature=" not in text or "X-Amz-Signature=***" in text, text
        assert not [h for h in holders if h in text], text


def _holders() -> tuple[str, ...]:
    """The holder ids (a run's lease secret) written in the leases on the remote now."""
    import json

    client = s3_client()
    bodies = [
        client.get_object(Bucket=BUCKET, Key=k)["Body"].read()
        for k in s3_keys("farm/")
        if "/leases/" in k
    ]
    return tuple({json.loads(b)["holder"] for b in bodies})


def test_twenty_machines_at_once_fetch_the_set_from_the_origin_about_once(farm):
    total = BLOBS * SIZE
    with capped_origin(farm["origin"], rate=4 << 20) as origin:
        lock = _lock(farm, origin.base_url)
        procs = [_machine(farm, lock, i, "sync", "--push") for i in range(MACHINES)]
        outputs = _finish(procs)
        sent = sum(origin.sent.values())
    for i in range(MACHINES):
        _verified(farm, i)
    assert sent <= 1.5 * total, f"the origin sent {sent / total:.2f}x the lock's bytes"
    blobs = [k for k in s3_keys("farm/") if "/blobs/" in k]
    assert len(blobs) == BLOBS and not [k for k in s3_keys("farm/") if "/leases/" in k]
    _no_secret(*outputs)


def test_a_machine_killed_holding_claims_delays_its_blobs_only_until_they_expire(farm):
    farm["env"]["COMFYLOCK_LEASE_SECONDS"] = "3"
    with capped_origin(farm["origin"], rate=16 * 1024) as origin:
        lock = _lock(farm, origin.base_url)
        holder = _machine(farm, lock, 0, "sync", "--push", "--no-aria2")
        deadline = time.monotonic() + 60
        while not [k for k in s3_keys("farm/") if "/leases/" in k]:
            assert holder.poll() is None and time.monotonic() < deadline, "no claim was made"
            time.sleep(0.05)
        holder.send_signal(signal.SIGKILL)  # no release: its leases stay until they expire
        holder.wait()
        holders = _holders()
        assert holders and all(len(h) >= 16 for h in holders), holders
        status = _machine(farm, lock, 1, "status")
        waiting = _finish([status])[0]
        assert "once another machine pushes it" in waiting, waiting
        origin.rate = 64 << 20  # the rest need not crawl
        started = time.monotonic()
        outputs = _finish([_machine(farm, lock, i, "sync", "--push") for i in (2, 3, 4)], 120)
        took = time.monotonic() - started
        requests = dict(origin.requests)
    for i in (2, 3, 4):
        _verified(farm, i)
    assert took < 60, f"the others took {took:.0f} s"
    # the killed holder's partial download, then one machine's: the others waited for it
    assert max(requests.values()) <= 2, requests
    assert not [k for k in s3_keys("farm/") if "/leases/" in k]
    _no_secret(waiting, *outputs, holders=holders)
