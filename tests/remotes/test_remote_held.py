"""Held (issue 16): S3 credentials and presigned signatures appear nowhere — no output on
either downloader, no file comfylock wrote — and a push killed in the middle of a multipart
upload leaves nothing a sync would take, then the next push puts the right bytes there."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.remoteutil import (
    ACCESS_KEY,
    BUCKET,
    SECRET_KEY,
    blob_rel,
    fresh_machine,
    s3_client,
)
from tests.support.syncutil import Model, seed, write_lock

_UNREDACTED = re.compile(rb"(?i)x-amz-(signature|credential|security-token)=(?!\*\*\*)")


def _leaks(data: bytes) -> list[str]:
    found = []
    for secret in (ACCESS_KEY.encode(), SECRET_KEY.encode()):
        if secret in data:
            found.append(secret.decode())
    if _UNREDACTED.search(data):
        found.append("an unredacted presigned parameter")
    return found


@pytest.mark.parametrize("downloader", ["aria2", "--no-aria2"])
def test_s3_credentials_and_signatures_appear_in_no_output_and_no_file(
    world, s3, run_cli, tmp_path, monkeypatch, downloader
):
    if downloader == "aria2":
        import shutil

        if shutil.which("aria2c") is None:
            pytest.skip("aria2c is not installed")
    extra = ["--no-aria2"] if downloader == "--no-aria2" else []
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/held-{tmp_path.name}")
    outputs = [run_cli(*world["args"], "-v", "sync", "--push", *extra)]
    fresh = fresh_machine(tmp_path, world, "fresh")
    for args in (["status"], ["-v", "sync", *extra], ["--json", "status"], ["push"], ["doctor"]):
        outputs.append(run_cli(*fresh, *args))
    assert outputs[0].exit_code == 0 and outputs[2].exit_code == 0, outputs
    assert "Fetched 3 from team remotes" in outputs[2].stdout, outputs[2]
    for result in outputs:
        assert not _leaks(result.output.encode()), result
    written = [
        tmp_path,
        Path(os.environ["COMFYLOCK_CACHE_DIR"]),
        Path(os.environ["COMFYLOCK_STORE"]),
    ]
    for base in written:
        for path in base.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert not _leaks(path.read_bytes()), path


def test_a_push_killed_in_the_middle_of_a_multipart_upload_resumes_to_the_right_bytes(
    s3, tmp_path, monkeypatch
):
    """Multipart starts at 64 MiB: a 70 MiB blob is two parts. The push is killed while the
    first part is on its way; the object must not exist (an unfinished multipart upload is
    not an object), and the next push uploads it whole."""
    big = Model("checkpoints", "big.safetensors", os.urandom(70 * 1024 * 1024), with_blake3=False)
    seed(tmp_path, big.data)
    lock = write_lock(tmp_path / "comfy.lock", [big])
    prefix = f"kill-{tmp_path.name}"
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/{prefix}")
    key = f"{prefix}/{blob_rel(big.sha256)}"
    cmd = [sys.executable, "-m", "comfylock", "--lock", str(lock), "push"]
    client = s3_client()
    for _attempt in range(3):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        caught = False
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            uploads = client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads")
            if uploads:
                proc.send_signal(signal.SIGKILL)
                caught = True
                break
            time.sleep(0.01)
        proc.communicate(timeout=60)
        if caught:
            break
        client.delete_object(Bucket=BUCKET, Key=key)  # finished before we looked: again
    assert caught, "the push never showed a multipart upload in flight"
    with pytest.raises(Exception) as gone:
        client.head_object(Bucket=BUCKET, Key=key)
    assert "404" in str(gone.value) or "Not Found" in str(gone.value)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "pushed 1 blobs" in again.stdout, again.stdout
    body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == big.sha256
