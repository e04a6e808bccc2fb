"""Hostile origins for the trust tests: a payload and a token, endless bodies, workflows that
name a URL, a sync of one URL-sourced model."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
from pathlib import Path

from werkzeug import Response

from tests.support.syncutil import (
    payload,
)

HAVE_ARIA2 = shutil.which("aria2c") is not None


DATA = payload(21, 2 * 1024 * 1024 + 17)


TOKEN = "tok-s3cr3t-4242"


def endless(stop: threading.Event, limit: int = 256 * 1024 * 1024):
    def handler(request):
        def gen():
            sent = 0
            block = b"\0" * 65536
            while sent < limit and not stop.is_set():
                yield block
                sent += len(block)

        return Response(
            gen(), headers={"Content-Type": "application/octet-stream"}, direct_passthrough=True
        )

    return handler


def url_workflow(url: str, name: str = "canny.safetensors") -> dict:
    return {
        "nodes": [
            {
                "id": 1,
                "type": "ControlNetLoader",
                "mode": 0,
                "widgets_values": [name],
                "properties": {"models": [{"name": name, "directory": "controlnet", "url": url}]},
            }
        ],
        "links": [],
        "version": 0.4,
    }


def sync_args(tmp_path: Path, url: str, nodes=()) -> list[str]:
    from tests.support.syncutil import Model, url_source, write_lock

    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "custom_nodes").mkdir(exist_ok=True)
    model = Model("loras", "x.safetensors", DATA[:50_000], [url_source(url)] if url else [])
    lock = write_lock(tmp_path / "comfy.lock", [model], list(nodes))
    return ["--lock", str(lock), "--comfyui-root", str(root), "sync"]


class SilentHost:
    """What ``silent_host`` yields: its ``port``, and every connection it ``accepted``."""

    def __init__(self, port: int, accepted: list) -> None:
        self.port, self.accepted = port, accepted


@contextlib.contextmanager
def silent_host():
    """A loopback TCP port that accepts every connection and never answers a byte (a host
    behind a broken proxy, a dead TLS terminator; or a proxy that shows whether anything
    tried the network): yields a ``SilentHost``; closed on exit."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)  # NOTE: close() does not wake a thread blocked in accept()
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield SilentHost(listener.getsockname()[1], held)
    finally:
        done.set()
        thread.join(5)
        listener.close()
        for conn in held:
            conn.close()
