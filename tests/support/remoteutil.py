"""Real remotes on loopback for the remote tests: moto's S3 server and an nginx mirror."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

# Fake credentials a test can grep for: none may appear in any output, lock or config.
ACCESS_KEY = "AKIAREMOTETESTKEY042"
SECRET_KEY = "remote-test-secret-key-do-not-leak-8c1f"
BUCKET = "team-models"


def nginx_exe() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).is_file()), None
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_CONF = """daemon off;
{user}
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {run}/access.log;
  client_body_temp_path {run}/tmp; proxy_temp_path {run}/tmp; fastcgi_temp_path {run}/tmp;
  uwsgi_temp_path {run}/tmp; scgi_temp_path {run}/tmp;
  default_type application/octet-stream;
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
"""


@contextlib.contextmanager
def nginx_serving(root: Path, run_dir: Path) -> Iterator[str]:
    """nginx on a random loopback port serving ``root``; stopped on exit."""
    exe = nginx_exe()
    if exe is None:
        pytest.skip("nginx is not installed (Debian package nginx-light; make test installs it)")
    (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = run_dir / "nginx.conf"
    # NOTE: as root, nginx's workers drop to nobody, who cannot read pytest's 0700 tmp dirs.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(_CONF.format(run=run_dir, port=port, root=root, user=user))
    argv = [exe, "-c", str(conf), "-p", str(run_dir)]
    with serving_process(argv, port, log=run_dir / "error.log") as base:
        yield base


@contextlib.contextmanager
def serving_process(argv: list[str], port: int, *, log: Path, seconds: float = 30, **popen):
    """Start a server process, wait until it listens on 127.0.0.1:``port``, yield its base
    URL, and stop it (SIGTERM, then SIGKILL) on exit. ``log``: named if it does not start."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    proc = subprocess.Popen(argv, **popen)
    try:
        deadline = time.monotonic() + seconds
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{Path(argv[0]).name} did not start (see {log})")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def moto_s3(monkeypatch, via: str = "wire", home: Path | None = None) -> Iterator[str]:
    """moto's S3 wire-protocol server on loopback, the endpoint in the env. ``via``:
    "wire", credentials in the environment (comfylock's own S3 requests answer, no boto3);
    "boto3", credentials in a profile of a shared credentials file under ``home`` (the
    standard chain only boto3 reads)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # NOTE: moto keeps its buckets in this process across servers: every test starts empty
        urllib.request.urlopen(
            urllib.request.Request(f"{endpoint}/moto-api/reset", b"", method="POST")
        )
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        if via == "boto3":
            assert home is not None, "a profile needs a home for its credentials file"
            creds = home / "aws-credentials"
            creds.write_text(
                f"[farm]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
            )
            monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
            monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
            monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
            monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config-none"))
            monkeypatch.setenv("AWS_PROFILE", "farm")
        else:
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        s3_client().create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def forget_credentials(monkeypatch) -> None:
    """No AWS credentials anywhere this run looks: neither the environment's nor a profile."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def s3_client():
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client("s3", config=Config(s3={"addressing_style": "path"}))


def s3_keys(prefix: str = "") -> list[str]:
    found = s3_client().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in found.get("Contents", []))


def blob_rel(sha: str) -> str:
    return f"blobs/sha256/{sha[:2]}/{sha}"


def fresh_machine(tmp_path: Path, world: dict, name: str) -> list[str]:
    """Another machine: its own ComfyUI root and store, the same lock."""
    root = tmp_path / name / "ComfyUI"
    (root / "models").mkdir(parents=True)
    store = tmp_path / name / "store"
    return ["--lock", str(world["lock"]), "--comfyui-root", str(root), "--store", str(store)]


def installed(args: list[str], world: dict) -> None:
    root = Path(args[args.index("--comfyui-root") + 1])
    for m in world["models"]:
        target = root / "models" / m.folder / m.name
        assert target.read_bytes() == m.data, target


def no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET_KEY not in text
        assert ACCESS_KEY not in text
        assert "X-Amz-Signature=" not in text or "X-Amz-Signature=***" in text
