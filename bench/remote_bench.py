"""Bench section: syncs a team remote serves, at model sizes and at LoRA sizes, against raw
``aria2c -x16`` fetching the same blobs from the same server (SPEC §7, issue 20).

Two remotes: an nginx mirror of the store's layout that caps every connection (25 MiB/s, as
a CDN does, so only parallel connections go faster), and moto's S3 server (presigned URLs).
The lock's own sources point at a port where nothing listens: every byte comes from the
remote. Each comfylock row is a whole ``comfylock sync`` into a fresh store and ComfyUI root
(start-up, plan, HEADs, aria2c, verification, links); each raw row is ``aria2c -x16 -s16
-k1M -j8`` on the same URLs, bytes unverified. Best of 3, the two alternating.

Run alone: ``.venv/bin/python bench/remote_bench.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BIN, DATA, Row, verdict
from sync_bench import MIB, RATE, _env, _random_file, capped_server, server_kind, write_lock

__all__ = ["section_remote"]

CASES = [("models", 2, 256 * MIB), ("LoRAs", 40, 4 * MIB)]
RUNS = 3
BUCKET = "bench"
TIMEOUT = 300


def _blobs(root: Path, count: int, size: int, tag: str) -> list[tuple[str, int, str]]:
    """``count`` random files of ``size`` in the store's layout under ``root/team``."""
    made = []
    for i in range(count):
        raw = DATA / "remote-raw" / f"{tag}{i:02d}.bin"
        sha = _random_file(raw, size)
        blob = root / "team" / "blobs" / "sha256" / sha[:2] / sha
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.hardlink_to(raw)
        made.append((f"{tag}{i:02d}.safetensors", size, sha))
    return made


def _rel(sha: str) -> str:
    return f"team/blobs/sha256/{sha[:2]}/{sha}"


def _sync(work: Path, files, env: dict[str, str]) -> tuple[float, int, str]:
    """One ``comfylock sync`` of a lock naming ``files`` (origins dead) into a fresh tree."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "ComfyUI" / "models").mkdir(parents=True)
    write_lock(work / "comfy.lock", files, "http://127.0.0.1:9")  # nothing listens there
    argv = [str(BIN / "comfylock"), "--lock", str(work / "comfy.lock")]
    argv += ["--comfyui-root", str(work / "ComfyUI"), "--store", str(work / "store"), "sync"]
    start = time.perf_counter()
    done = subprocess.run(
        argv,
        env={**env, "COMFYLOCK_CACHE_DIR": str(work / "cache")},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    took = time.perf_counter() - start
    shutil.rmtree(work, ignore_errors=True)
    ok = done.returncode == 0 and f"Fetched {len(files)} from team remotes, 0 from" in done.stdout
    why = "" if ok else (done.stderr.strip().splitlines() or done.stdout.splitlines() or [""])[-1]
    return took, 0 if ok else (done.returncode or 1), why


def _raw(urls: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / "list.txt").write_text("".join(f"{u}\n  out=f{i}\n" for i, u in enumerate(urls)))
    argv = ["aria2c", "--no-conf", "-q", "-x16", "-s16", "-k1M", "-j8"]
    argv += ["--file-allocation=falloc", "-i", "list.txt"]
    start = time.perf_counter()
    subprocess.run(argv, cwd=out, check=True, timeout=TIMEOUT)
    took = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return took


def _rows(sec: str, label: str, files, urls, env) -> list[Row]:
    total = sum(size for _, size, _ in files)
    mine, raw, bad = [], [], ""
    for _ in range(RUNS):
        raw.append(_raw(urls, DATA / "remote-work" / "raw"))
        t, code, why = _sync(DATA / "remote-work" / "cl", files, env)
        if code:
            bad = why
        else:
            mine.append(t)
    size = f"{len(files)} x {files[0][1] // MIB} MiB"
    ref = Row(sec, f"raw aria2c -x16 -j8, {label} ({size})", _rate(total, min(raw)))
    if not mine:
        return [ref, Row(sec, f"comfylock sync, {label}", "failed", note=bad[:100])]
    ratio = min(raw) / min(mine)
    return [
        ref,
        Row(
            sec,
            f"comfylock sync, {label} ({size}), fresh store",
            _rate(total, min(mine)),
            f"{ratio:.2f}x raw aria2c",
            ">= 0.90x",
            verdict(ratio >= 0.9),
            note=bad[:100],
        ),
    ]


def _rate(total: int, seconds: float) -> str:
    return f"{seconds:.2f} s  {total / seconds / 1e6:6.1f} MB/s"


def _mirror(root: Path, cases) -> list[Row]:
    sec = f"from a remote: nginx mirror, {RATE // MIB} MiB/s per connection ({server_kind()})"
    rows = []
    with capped_server(root) as base:
        env = _env(COMFYLOCK_REMOTE=f"cdn={base}/team")
        for label, files in cases:
            urls = [f"{base}/{_rel(sha)}" for _, _, sha in files]
            rows += _rows(sec, label, files, urls, env)
    return rows


def _s3(cases) -> list[Row]:
    sec = "from a remote: S3 (moto_server)"
    if not (BIN / "moto_server").exists():
        return [Row(sec, "skipped", "needs moto_server (moto[server])")]
    from farm_bench import KEY_ID, SECRET, _moto, _presigned_keys, _s3_env

    rows = []
    work = DATA / "remote-work"
    work.mkdir(parents=True, exist_ok=True)
    with _moto(work) as endpoint:
        import boto3

        client = boto3.session.Session(KEY_ID, SECRET, region_name="us-east-1").client(
            "s3", endpoint_url=endpoint
        )
        client.create_bucket(Bucket=BUCKET)
        env = _s3_env(endpoint, "team", bucket=BUCKET)
        for label, files in cases:
            for _, _, sha in files:
                raw = DATA / "remote-data" / _rel(sha)
                client.upload_file(str(raw), BUCKET, _rel(sha))
            urls = _presigned_keys(endpoint, BUCKET, [_rel(sha) for _, _, sha in files])
            rows += _rows(sec, label, files, urls, env)
    return rows


def section_remote() -> list[Row]:
    if shutil.which("aria2c") is None:
        return [Row("from a remote", "skipped", "needs aria2c")]
    root = DATA / "remote-data"
    cases = [(label, _blobs(root, n, size, label[:1].lower())) for label, n, size in CASES]
    return _mirror(root, cases) + _s3(cases)


if __name__ == "__main__":
    for row in section_remote():
        print(" | ".join(str(v) for v in vars(row).values()))
