"""Resolving input files (SPEC §10): pinned by sha256 + size from the file beside the
workflow or the ComfyUI root's input/, never looked up online; absent, unresolved with the
reason; outputs never locked."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from comfylock.lock import file as lockfile
from comfylock.lock.structs import FileSource

PHOTO = b"\x89PNG a portrait"
MASK = b"\x89PNG a mask"


def _workflow(*values: str) -> str:
    nodes = [
        {"id": i, "type": "LoadImage", "mode": 0, "widgets_values": [v, "image"]}
        for i, v in enumerate(values, 1)
    ]
    return json.dumps({"nodes": nodes})


@pytest.fixture
def project(make_tree, tmp_path):
    """A project with one workflow, a ComfyUI root with an input/ folder."""
    make_tree(
        {
            "proj/workflows/portrait.json": _workflow(
                "portrait.png", "mask.png", "ComfyUI_00042_.png [output]"
            ),
            "proj/workflows/portrait.png": PHOTO,
            "ComfyUI/models/checkpoints/.keep": "",
            "ComfyUI/input/mask.png": MASK,
        }
    )
    return tmp_path


def _args(base):
    return ["--lock", str(base / "proj" / "comfy.lock"), "--comfyui-root", str(base / "ComfyUI")]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_resolve_pins_input_files_by_sha256_and_size(project, run_cli):
    result = run_cli(*_args(project), "resolve", "--offline")
    assert result.exit_code == 0, result
    lock = lockfile.load(project / "proj" / "comfy.lock")
    models = {m.key: m for m in lock.model}
    assert set(models) == {"input/portrait.png", "input/mask.png"}  # no [output] file
    photo, mask = models["input/portrait.png"], models["input/mask.png"]
    assert (photo.sha256, photo.size) == (_sha(PHOTO), len(PHOTO))
    assert photo.source == (FileSource(path="workflows/portrait.png"),)
    assert (mask.sha256, mask.size) == (_sha(MASK), len(MASK))
    assert mask.source == (FileSource(path="input/mask.png", root="comfyui"),)
    (wf,) = lock.workflow
    assert wf.models == ("input/mask.png", "input/portrait.png")
    assert str(project) not in (project / "proj" / "comfy.lock").read_text()  # no absolute path


def test_an_absent_input_file_is_unresolved_with_the_reason(project, run_cli):
    os.remove(project / "ComfyUI" / "input" / "mask.png")
    result = run_cli(*_args(project), "resolve", "--offline")
    assert result.exit_code == 1, result
    assert "input/mask.png: input file not found on this machine" in result.stdout
    assert "beside its workflow" in result.stdout  # the fix, not `comfylock add`
    written = run_cli(*_args(project), "resolve", "--offline", "--allow-unresolved")
    assert written.exit_code == 0, written
    (u,) = lockfile.load(project / "proj" / "comfy.lock").unresolved
    assert (u.folder, u.name) == ("input", "mask.png")
    assert "not beside the workflow (workflows/)" in u.reason
    assert "not in the ComfyUI root's input/" in u.reason


def test_the_file_beside_the_workflow_wins_and_its_new_bytes_are_pinned(project, run_cli):
    assert run_cli(*_args(project), "resolve", "--offline").exit_code == 0
    (project / "ComfyUI" / "input" / "portrait.png").write_bytes(b"someone else's")
    (project / "proj" / "workflows" / "portrait.png").write_bytes(b"a new take")
    check = run_cli(*_args(project), "resolve", "--offline", "--check")
    assert check.exit_code == 1, check  # the project's file changed: the lock is stale
    assert run_cli(*_args(project), "resolve", "--offline").exit_code == 0
    models = {m.key: m for m in lockfile.load(project / "proj" / "comfy.lock").model}
    assert models["input/portrait.png"].sha256 == _sha(b"a new take")


def test_a_kept_pin_survives_a_machine_without_the_file(project, run_cli, tmp_path):
    assert run_cli(*_args(project), "resolve", "--offline").exit_code == 0
    before = (project / "proj" / "comfy.lock").read_text()
    other = tmp_path / "other" / "ComfyUI"
    (other / "models").mkdir(parents=True)
    (other / "input").mkdir()
    (other / "input" / "mask.png").write_bytes(b"this machine's own mask")
    lock = ["--lock", str(project / "proj" / "comfy.lock"), "--comfyui-root", str(other)]
    result = run_cli(*lock, "resolve", "--offline", "--check")
    assert result.exit_code == 0, result
    assert (project / "proj" / "comfy.lock").read_text() == before


def test_two_workflows_with_different_files_of_one_name_conflict(make_tree, tmp_path, run_cli):
    make_tree(
        {
            "proj/a/one.json": _workflow("ref.png"),
            "proj/a/ref.png": b"first",
            "proj/b/two.json": _workflow("ref.png"),
            "proj/b/ref.png": b"second",
        }
    )
    result = run_cli("--lock", str(tmp_path / "proj" / "comfy.lock"), "resolve", "--offline")
    assert result.exit_code == 1, result
    assert "a/one.json" in result.stdout and "b/two.json" in result.stdout
    assert not (tmp_path / "proj" / "comfy.lock").exists()


def test_a_committed_symlink_out_of_the_project_is_never_pinned(make_tree, tmp_path, run_cli):
    """A project file is taken only inside the project: a link named like an image to a
    private file must not be hashed, pinned and pushed to a team remote."""
    make_tree({"secret/id_rsa": b"PRIVATE KEY", "proj/wf/w.json": _workflow("face.png")})
    os.symlink(tmp_path / "secret" / "id_rsa", tmp_path / "proj" / "wf" / "face.png")
    result = run_cli(
        "--lock",
        str(tmp_path / "proj" / "comfy.lock"),
        "resolve",
        "--offline",
        "--allow-unresolved",
    )
    assert result.exit_code == 0, result
    lock = lockfile.load(tmp_path / "proj" / "comfy.lock")
    assert lock.model == ()
    assert [u.name for u in lock.unresolved] == ["face.png"]


def test_input_files_are_never_asked_online(project, run_cli, server, monkeypatch):
    """No Civitai search, no known-models index: an input file is the project's own."""
    os.remove(project / "ComfyUI" / "input" / "mask.png")
    base = server.url_for("/").rstrip("/")
    for var in ("COMFYLOCK_CIVITAI_URL", "HF_ENDPOINT", "COMFYLOCK_MODEL_LIST_URL"):
        monkeypatch.setenv(var, base)
    result = run_cli(*_args(project), "resolve", "--allow-unresolved")
    assert result.exit_code == 0, result
    assert server.log == []
