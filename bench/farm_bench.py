"""Bench section: a farm of 20 machines syncing one lock through a team remote (SPEC §7, §8).

Every machine is a separate store, ComfyUI root and cache on this host. The origin is a
loopback server that caps each connection (25 MiB/s, as a CDN does) and counts requests and
bytes per file (``tests/support/origin.py``); the remote is moto's S3 server
(``moto_server``, a separate process) holding the store's layout.

* **cold**: the 20 machines start ``sync --push`` at once on an empty remote; they claim
  blobs before fetching them (``remotes/lease.py``), so the origin should send the lock's
  bytes about once in total (target: at most 1.5x). Then a machine is killed while it holds
  claims, and 19 others start at once: they finish after its leases expire.
* **warm**: the first machine runs ``sync --push``; the other 19 then run ``sync`` at once,
  from S3 and from an nginx mirror of it: the origin sends them nothing.

Run alone: ``.venv/bin/python bench/farm_bench.py`` (``make bench`` runs it with the rest).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BIN, DATA, Row, verdict
from sync_bench import RATE, _env, write_lock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.origin import capped_origin
from tests.support.remoteutil import free_port, nginx_exe, nginx_serving, serving_process

__all__ = ["section_farm"]

MIB = 1 << 20
MACHINES = 20
SIZES = [(1 + (i * 3) % 4) * MIB for i in range(20)]  # 1-4 MiB each, 50 MiB in all
BUCKET = "farm"
KEY_ID, SECRET = "AKIAFARMBENCH0000000", "farm-bench-secret-not-a-real-key"
TIMEOUT = 300


@contextlib.contextmanager
def _moto(run_dir: Path) -> Iterator[str]:
    """moto's S3 server in its own process on 127.0.0.1; stopped on exit."""
    port = free_port()
    log = run_dir / "moto.log"
    argv = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with (
        open(log, "wb") as out,
        serving_process(argv, port, log=log, stdout=out, stderr=subprocess.STDOUT) as base,
    ):
        yield base


def _models(root: Path) -> list[tuple[str, int, str]]:
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for i, size in enumerate(SIZES):
        path = root / f"model{i:02d}.safetensors"
        if not path.is_file() or path.stat().st_size != size:
            path.write_bytes(os.urandom(size))
        out.append((path.name, size, hashlib.sha256(path.read_bytes()).hexdigest()))
    return out


def _machine(work: Path, i: int, lock: Path, env: dict, *extra: str) -> subprocess.Popen:
    home = work / f"m{i:02d}"
    (home / "ComfyUI" / "models").mkdir(parents=True, exist_ok=True)
    argv = [str(BIN / "comfylock"), "-q", "--lock", str(lock)]
    argv += ["--comfyui-root", str(home / "ComfyUI"), "--store", str(home / "store")]
    return subprocess.Popen(
        [*argv, *extra],
        env={**env, "COMFYLOCK_CACHE_DIR": str(home / "cache")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(procs: list[subprocess.Popen]) -> list[str]:
    """Wait for all; the first stderr line of each that failed."""
    bad = []
    for p in procs:
        out, err = p.communicate(timeout=TIMEOUT)
        if p.returncode != 0:
            bad.append(f"exit {p.returncode}: {(err.strip().splitlines() or [''])[-1][:100]}")
    return bad


def _presigned_keys(endpoint: str, bucket: str, keys: list[str]) -> list[str]:
    """Presigned GET URLs of ``keys`` (boto3's own, for raw aria2c)."""
    import boto3
    from botocore.config import Config

    client = boto3.session.Session(KEY_ID, SECRET, region_name="us-east-1").client(
        "s3",
        endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    return [
        client.generate_presigned_url("get_object", {"Bucket": bucket, "Key": k}, ExpiresIn=3600)
        for k in keys
    ]


def _presigned(endpoint: str, models) -> list[str]:
    return _presigned_keys(endpoint, BUCKET, [f"team/{_rel(sha)}" for _, _, sha in models])


def _rel(sha: str) -> str:
    return f"blobs/sha256/{sha[:2]}/{sha}"


def _raw_many(urls: list[str], models, out: Path, n: int = MACHINES - 1) -> float:
    """``n`` raw aria2c runs at once, each fetching every blob: the farm's ceiling here."""
    shutil.rmtree(out, ignore_errors=True)
    lines = "".join(f"{url}\n  out={name}\n" for url, (name, _, _) in zip(urls, models))
    procs = []
    start = time.perf_counter()
    for i in range(n):
        run = out / f"r{i}"
        run.mkdir(parents=True)
        (run / "list.txt").write_text(lines)
        argv = ["aria2c", "-q", "-x16", "-s16", "-k1M", "-j8", "-i", "list.txt"]
        procs.append(subprocess.Popen(argv, cwd=run))
    for p in procs:
        p.wait(timeout=TIMEOUT)
    took = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return took


def _timed_machines(work: Path, ids, lock: Path, env: dict, *extra: str) -> tuple[float, list]:
    start = time.perf_counter()
    bad = _wait([_machine(work, i, lock, env, *extra) for i in ids])
    return time.perf_counter() - start, bad


def _farm_row(sec: str, what: str, farm: float, total: int, raw: float) -> Row:
    return Row(
        sec,
        f"machines 2-{MACHINES} at once from {what}",
        f"{farm:.2f} s wall",
        ratio=f"{raw / farm:.2f}x {MACHINES - 1} raw aria2c at once ({raw:.2f} s)",
        note=f"{(MACHINES - 1) * total / farm / 1e6:.0f} MB/s in all",
    )


def _mirror_rows(sec, work, models, lock, blobs: Path) -> tuple[list[Row], list[str]]:
    """The same farm from an nginx mirror of the remote (a team's CDN in front of it)."""
    if nginx_exe() is None:
        return [Row(sec, "nginx mirror", "skipped", note="nginx is not installed")], []
    mirror = work / "mirror"
    shutil.rmtree(mirror, ignore_errors=True)
    shutil.copytree(blobs, mirror / "team" / "blobs")  # how a team fills a CDN: copy blobs/
    total = sum(SIZES)
    machines = work / "machines"
    with nginx_serving(mirror, work / "nginx") as base:
        env = _env(COMFYLOCK_REMOTE=f"cdn={base}/team")
        farm, bad = _timed_machines(machines, range(30, 30 + MACHINES - 1), lock, env, "sync")
        urls = [f"{base}/team/{_rel(sha)}" for _, _, sha in models]
        raw_farm = _raw_many(urls, models, work / "raw")
    return [_farm_row(sec, "an nginx mirror", farm, total, raw_farm)], bad


def _s3_env(endpoint: str, prefix: str, *, bucket: str = BUCKET, **extra: str) -> dict[str, str]:
    """A machine's environment for the S3 remote ``team`` at ``s3://bucket/prefix``."""
    return _env(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        COMFYLOCK_REMOTE=f"team=s3://{bucket}/{prefix}",
        **extra,
    )


def _cold_rows(sec, work: Path, origin, lock: Path, endpoint: str, total: int) -> list[Row]:
    """20 machines at once on an empty remote, then a holder killed mid-claim."""
    machines = work / "cold"
    shutil.rmtree(machines, ignore_errors=True)
    before = sum(origin.sent.values())
    env = _s3_env(endpoint, "cold")
    wall, bad = _timed_machines(machines, range(MACHINES), lock, env, "sync", "--push")
    sent = (sum(origin.sent.values()) - before) / total
    rows = [
        Row(
            sec,
            f"cold: {MACHINES} machines at once, empty remote, sync --push",
            f"{wall:.2f} s wall",
            f"origin sent {sent:.2f}x the lock's bytes",
            "<= 1.5x, all verified",
            verdict(sent <= 1.5 and not bad),
            note=bad[0] if bad else f"{MACHINES} machines verified every model",
        )
    ]
    # A holder killed with its claims on the remote: the others take them over at expiry.
    lease = "5"
    env = _s3_env(endpoint, "killed", COMFYLOCK_LEASE_SECONDS=lease)
    shutil.rmtree(machines, ignore_errors=True)
    origin.rate = 256 * 1024  # the holder must still be fetching when it dies
    holder = _machine(machines, 0, lock, env, "sync", "--push", "--no-aria2")
    deadline = time.monotonic() + 60
    while not _leases(endpoint, "killed") and holder.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    origin.rate = RATE
    wall, bad = _timed_machines(machines, range(1, MACHINES), lock, env, "sync", "--push")
    left = _leases(endpoint, "killed")
    rows.append(
        Row(
            sec,
            f"cold: a holder killed mid-claim, then {MACHINES - 1} machines at once",
            f"{wall:.2f} s wall",
            f"leases live {lease} s",
            "all finish, all verified",
            verdict(not bad and not left),
            note=bad[0] if bad else f"its claims taken over at expiry; {len(left)} leases left",
        )
    )
    shutil.rmtree(machines, ignore_errors=True)
    return rows


def _leases(endpoint: str, prefix: str) -> list[str]:
    import boto3

    client = boto3.session.Session(KEY_ID, SECRET, region_name="us-east-1").client(
        "s3", endpoint_url=endpoint
    )
    found = client.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/leases/")
    return [o["Key"] for o in found.get("Contents", [])]


def section_farm() -> list[Row]:
    sec = "farm (20 machines, remote)"
    if shutil.which("aria2c") is None or not (BIN / "moto_server").exists():
        return [Row(sec, "skipped", "needs aria2c and moto_server (moto[server])")]
    work = DATA / "farm"
    machines = work / "machines"
    shutil.rmtree(machines, ignore_errors=True)
    machines.mkdir(parents=True)
    models = _models(work / "origin")
    total = sum(SIZES)
    with capped_origin(work / "origin", RATE) as origin, _moto(work) as endpoint:
        lock = work / "project" / "comfy.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        write_lock(lock, models, origin.base_url)
        import boto3

        boto3.session.Session(KEY_ID, SECRET, region_name="us-east-1").client(
            "s3", endpoint_url=endpoint
        ).create_bucket(Bucket=BUCKET)
        rows = _cold_rows(sec, work, origin, lock, endpoint, total)
        env = _s3_env(endpoint, "team")
        base_requests = sum(origin.requests.values())
        first, bad = _timed_machines(machines, [0], lock, env, "sync", "--push")
        first_requests = sum(origin.requests.values())
        farm, bad2 = _timed_machines(machines, range(1, MACHINES), lock, env, "sync")
        urls = _presigned(endpoint, models)
        raw_farm = _raw_many(urls, models, work / "raw")
        mirror_rows, bad4 = _mirror_rows(sec, work, models, lock, machines / "m00/store/blobs")
        after = sum(origin.requests.values())
    shutil.rmtree(machines, ignore_errors=True)
    bad += bad2 + bad4
    rows += [
        Row(
            sec,
            f"warm: origin requests from machines 2-{MACHINES} (S3 farm, mirror farm)",
            f"{after - first_requests}",
            target="0 (each blob served once)",
            verdict=verdict(after == first_requests and not bad),
            note=f"machine 1: {first_requests - base_requests} requests for {len(models)} blobs",
        ),
        Row(sec, "warm: machine 1, sync --push (origin -> store -> S3)", f"{first:.2f} s"),
        _farm_row(sec, "S3 (moto_server)", farm, total, raw_farm),
        *mirror_rows,
    ]
    if bad:
        rows.append(Row(sec, "failed syncs", f"{len(bad)}", note=bad[0]))
    return rows


if __name__ == "__main__":
    for row in section_farm():
        print(" | ".join(str(v) for v in vars(row).values()))
