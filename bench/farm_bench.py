"""Bench section: a farm of 20 machines syncing one lock through a team remote (SPEC §7, §8).

Every machine is a separate store, ComfyUI root and cache on this host. The origin is the
bench's own loopback server, counting requests and bytes per file; the remote is moto's
S3 server (``moto_server``, a separate process) holding the store's layout. The first
machine runs ``sync --push``; then the other 19 run ``sync`` at once. Reported: how often
the origin served each blob in total (the goal is once), the wall time of the 19, and one
remote-served sync against raw ``aria2c -x16`` fetching the same presigned URLs.

Run alone: ``.venv/bin/python bench/farm_bench.py`` (``make bench`` runs it with the rest).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BIN, DATA, Row, verdict
from sync_bench import _CappedHandler, _CappedServer, _env

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.remoteutil import free_port, nginx_exe, nginx_serving, serving_process

__all__ = ["section_farm"]

MIB = 1 << 20
MACHINES = 20
SIZES = [(1 + (i * 3) % 4) * MIB for i in range(20)]  # 1-4 MiB each, 50 MiB in all
BUCKET = "farm"
KEY_ID, SECRET = "AKIAFARMBENCH0000000", "farm-bench-secret-not-a-real-key"
TIMEOUT = 300


class _CountingHandler(_CappedHandler):
    """The bench's file server, unpaced, counting GETs and bytes sent per file."""

    def do_GET(self) -> None:
        name = self.path.split("?", 1)[0].lstrip("/")
        with self.server.guard:
            self.server.requests[name] += 1
        super().do_GET()

    def _paced_send(self, fh, offset: int, count: int) -> None:
        name = self.path.split("?", 1)[0].lstrip("/")
        sent = 0
        try:
            while sent < count:
                n = os.sendfile(self.wfile.fileno(), fh.fileno(), offset + sent, count - sent)
                if n == 0:
                    return
                sent += n
        finally:
            with self.server.guard:
                self.server.sent[name] += sent


class _QuietServer(_CappedServer):
    def handle_error(self, request, client_address) -> None:
        pass  # aria2 drops connections it no longer needs: not worth a traceback


@contextlib.contextmanager
def _origin(root: Path) -> Iterator[_CappedServer]:
    srv = _QuietServer(("127.0.0.1", 0), _CountingHandler)
    srv.root, srv.rate, srv.stopping = root, 1 << 40, threading.Event()
    srv.requests, srv.sent, srv.guard = Counter(), Counter(), threading.Lock()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stopping.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


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


def _lock(path: Path, models, base: str) -> None:
    parts = ["version = 1\n"]
    for name, size, sha in models:
        parts.append(
            f'[[model]]\nfolder = "checkpoints"\nname = "{name}"\nsize = {size}\n'
            f'sha256 = "{sha}"\n[[model.source]]\ntype = "url"\nurl = "{base}/{name}"\n'
        )
    path.write_text("\n".join(parts), encoding="utf-8")


def _machine(work: Path, i: int, lock: Path, env: dict, *extra: str) -> subprocess.Popen:
    home = work / f"m{i:02d}"
    (home / "ComfyUI" / "models").mkdir(parents=True, exist_ok=True)
    argv = [str(BIN / "comfylock"), "-q", "--lock", str(lock)]
    argv += ["--comfyui-root", str(home / "ComfyUI"), "--store", str(home / "store"), "sync"]
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


def _presigned(endpoint: str, models) -> list[str]:
    import boto3
    from botocore.config import Config

    client = boto3.session.Session(KEY_ID, SECRET, region_name="us-east-1").client(
        "s3",
        endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    return [
        client.generate_presigned_url(
            "get_object", {"Bucket": BUCKET, "Key": f"team/{_rel(sha)}"}, ExpiresIn=3600
        )
        for _, _, sha in models
    ]


def _rel(sha: str) -> str:
    return f"blobs/sha256/{sha[:2]}/{sha}"


def _raw_aria2c(urls: list[str], models, out: Path) -> float:
    """Raw ``aria2c -x16 -j8`` fetching the same blobs from the same server."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    lines = [f"{url}\n  out={name}\n" for url, (name, _, _) in zip(urls, models)]
    (out / "list.txt").write_text("".join(lines))
    argv = ["aria2c", "-q", "-x16", "-s16", "-k1M", "-j8", "--file-allocation=falloc"]
    start = time.perf_counter()
    subprocess.run([*argv, "-i", "list.txt"], cwd=out, check=True, timeout=TIMEOUT)
    took = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return took


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


def _one_vs_raw(sec: str, what: str, one: float, raw: float, total: int, n: int) -> Row:
    return Row(
        sec,
        f"one sync from {what} ({n} blobs, {total // MIB} MiB, --jobs 8)",
        f"{one:.2f} s",
        ratio=f"{raw / one:.2f}x raw aria2c -x16 -j8 ({raw:.2f} s)",
        target=">= 0.90x",
        verdict=verdict(raw / one >= 0.9),
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
        farm, bad = _timed_machines(machines, range(30, 30 + MACHINES - 1), lock, env)
        one, bad2 = _timed_machines(machines, [60], lock, env, "--jobs", "8")
        urls = [f"{base}/team/{_rel(sha)}" for _, _, sha in models]
        raw = _raw_aria2c(urls, models, work / "raw")
        raw_farm = _raw_many(urls, models, work / "raw")
    rows = [
        _farm_row(sec, "an nginx mirror", farm, total, raw_farm),
        _one_vs_raw(sec, "the nginx mirror", one, raw, total, len(models)),
    ]
    return rows, bad + bad2


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
    with _origin(work / "origin") as origin, _moto(work) as endpoint:
        lock = work / "project" / "comfy.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        _lock(lock, models, f"http://127.0.0.1:{origin.server_address[1]}")
        env = _env(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID=KEY_ID,
            AWS_SECRET_ACCESS_KEY=SECRET,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            COMFYLOCK_REMOTE=f"team=s3://{BUCKET}/team",
        )
        import boto3

        boto3.session.Session(KEY_ID, SECRET, region_name="us-east-1").client(
            "s3", endpoint_url=endpoint
        ).create_bucket(Bucket=BUCKET)
        first, bad = _timed_machines(machines, [0], lock, env, "--push")
        first_requests = sum(origin.requests.values())
        farm, bad2 = _timed_machines(machines, range(1, MACHINES), lock, env)
        one, bad3 = _timed_machines(machines, [MACHINES], lock, env, "--jobs", "8")
        urls = _presigned(endpoint, models)
        raw = _raw_aria2c(urls, models, work / "raw")
        raw_farm = _raw_many(urls, models, work / "raw")
        mirror_rows, bad4 = _mirror_rows(sec, work, models, lock, machines / "m00/store/blobs")
        after = sum(origin.requests.values())
        served = [origin.sent[name] / size for name, size, _ in models]
        requests = [origin.requests[name] for name, _, _ in models]
    shutil.rmtree(machines, ignore_errors=True)
    bad += bad2 + bad3 + bad4
    rows = [
        Row(
            sec,
            "origin: requests from machines 2-22 (S3 farm, mirror farm, single runs)",
            f"{after - first_requests}",
            target="0 (each blob served once)",
            verdict=verdict(after == first_requests and not bad),
            note=f"machine 1: {min(requests)}-{max(requests)} ranged GETs per blob, "
            f"{min(served):.2f}-{max(served):.2f}x its size sent",
        ),
        Row(sec, "machine 1: sync --push (origin -> store -> S3)", f"{first:.2f} s"),
        _farm_row(sec, "S3 (moto_server)", farm, total, raw_farm),
        _one_vs_raw(sec, "S3 (moto_server)", one, raw, total, len(models)),
        *mirror_rows,
    ]
    if bad:
        rows.append(Row(sec, "failed syncs", f"{len(bad)}", note=bad[0]))
    return rows


if __name__ == "__main__":
    for row in section_farm():
        print(" | ".join(str(v) for v in vars(row).values()))
