"""An input file, the whole loop (SPEC §10): a workflow with a ``LoadImage``; resolve pins
the image from the ComfyUI root's input/ on the first machine, ``push`` uploads it to a team
remote (moto's S3 server on loopback), and a fresh machine's sync places it byte-identical
under its own input/. Outputs are never locked; secrets appear nowhere."""

from __future__ import annotations

import hashlib
import json
import struct
import zlib

import pytest

from comfylock.lock import file as lockfile
from tests.support.remoteutil import ACCESS_KEY, BUCKET, SECRET_KEY, blob_rel, moto_s3, s3_keys


def _png(width: int, height: int) -> bytes:
    """A real PNG without any workflow in it (a project's photo: discovery skips it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes((x * 7 + y) % 256 for x in range(width * 3)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


IMAGE = _png(64, 64)
WORKFLOW = {
    "nodes": [
        {"id": 1, "type": "LoadImage", "mode": 0, "widgets_values": ["faces/ada.png", "image"]},
        {"id": 2, "type": "LoadImage", "mode": 0, "widgets_values": ["x.png [output]", "image"]},
        {"id": 3, "type": "SaveImage", "mode": 0, "widgets_values": ["ComfyUI"]},
    ]
}


@pytest.fixture
def s3(monkeypatch):
    with moto_s3(monkeypatch) as endpoint:
        yield endpoint


def _machine(base, name: str, *, image: bool) -> list[str]:
    root = base / name / "ComfyUI"
    (root / "models").mkdir(parents=True)
    if image:
        (root / "input" / "faces").mkdir(parents=True)
        (root / "input" / "faces" / "ada.png").write_bytes(IMAGE)
    lock = base / "project" / "comfy.lock"
    return ["--lock", str(lock), "--comfyui-root", str(root), "--store", str(base / name / "store")]


def test_load_image_input_resolve_push_and_sync_on_a_fresh_machine(
    tmp_path, s3, run_cli, monkeypatch
):
    (tmp_path / "project" / "workflows").mkdir(parents=True)
    (tmp_path / "project" / "workflows" / "faces.json").write_text(json.dumps(WORKFLOW))
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/studio")
    first = _machine(tmp_path, "first", image=True)

    resolved = run_cli(*first, "resolve", "--offline")
    assert resolved.exit_code == 0, resolved
    lock = lockfile.load(tmp_path / "project" / "comfy.lock")
    (model,) = lock.model  # the [output] file is never locked
    sha = hashlib.sha256(IMAGE).hexdigest()
    assert (model.key, model.sha256, model.size) == ("input/faces/ada.png", sha, len(IMAGE))

    pushed = run_cli(*first, "push")  # straight after resolve: no sync on this machine
    assert pushed.exit_code == 0, pushed
    assert "team: pushed 1 blobs" in pushed.stdout
    assert s3_keys("studio/") == [f"studio/{blob_rel(sha)}"]

    fresh = _machine(tmp_path, "fresh", image=False)
    status = run_cli(*fresh, "status")
    assert "from remote team" in status.stdout, status
    synced = run_cli(*fresh, "sync")
    assert synced.exit_code == 0, synced
    placed = tmp_path / "fresh" / "ComfyUI" / "input" / "faces" / "ada.png"
    assert placed.read_bytes() == IMAGE
    assert not (tmp_path / "fresh" / "ComfyUI" / "models" / "input").exists()
    again = run_cli(*fresh, "sync")
    assert again.exit_code == 0 and "Already in sync" in again.stdout, again
    for text in (resolved.output, pushed.output, synced.output, lock_text(tmp_path)):
        assert SECRET_KEY not in text and ACCESS_KEY not in text


def lock_text(base) -> str:
    return (base / "project" / "comfy.lock").read_text()


def test_a_checkout_of_the_project_with_the_file_needs_no_remote(tmp_path, run_cli):
    """The file committed beside the workflow: any clone of the project has the bytes."""
    (tmp_path / "project" / "workflows").mkdir(parents=True)
    (tmp_path / "project" / "workflows" / "faces.json").write_text(json.dumps(WORKFLOW))
    (tmp_path / "project" / "workflows" / "faces").mkdir()
    (tmp_path / "project" / "workflows" / "faces" / "ada.png").write_bytes(IMAGE)
    first = _machine(tmp_path, "first", image=False)
    assert run_cli(*first, "resolve", "--offline").exit_code == 0
    fresh = _machine(tmp_path, "fresh", image=False)
    synced = run_cli(*fresh, "sync")
    assert synced.exit_code == 0, synced
    placed = tmp_path / "fresh" / "ComfyUI" / "input" / "faces" / "ada.png"
    assert placed.read_bytes() == IMAGE
    assert (tmp_path / "project" / "workflows" / "faces" / "ada.png").read_bytes() == IMAGE


def test_a_machine_without_the_file_or_a_remote_says_what_to_do(tmp_path, run_cli):
    (tmp_path / "project" / "workflows").mkdir(parents=True)
    (tmp_path / "project" / "workflows" / "faces.json").write_text(json.dumps(WORKFLOW))
    first = _machine(tmp_path, "first", image=True)
    assert run_cli(*first, "resolve", "--offline").exit_code == 0
    fresh = _machine(tmp_path, "fresh", image=False)
    synced = run_cli(*fresh, "sync")
    assert synced.exit_code == 3, synced
    assert "does not have the input file" in synced.stderr
    assert "comfylock push" in synced.stderr
    assert "Traceback" not in synced.output
    assert not (tmp_path / "fresh" / "ComfyUI" / "input" / "faces" / "ada.png").exists()


def test_only_a_models_dir_skips_input_files_with_a_warning(tmp_path, run_cli):
    (tmp_path / "project" / "workflows").mkdir(parents=True)
    (tmp_path / "project" / "workflows" / "faces.json").write_text(json.dumps(WORKFLOW))
    first = _machine(tmp_path, "first", image=True)
    assert run_cli(*first, "resolve", "--offline").exit_code == 0
    models = tmp_path / "models-only"
    models.mkdir()
    lock = str(tmp_path / "project" / "comfy.lock")
    synced = run_cli("--lock", lock, "--models-dir", str(models), "sync")
    assert synced.exit_code == 0, synced
    assert "input files skipped: no ComfyUI root" in synced.stderr
    assert list(models.iterdir()) == []
