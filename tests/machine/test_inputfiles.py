"""machine.inputfiles: where an input file is on this machine, and where ComfyUI's input/ is."""

from __future__ import annotations

import hashlib
import os

from comfylock.lock.structs import FileSource, LockedModel
from comfylock.machine.inputfiles import candidates, find_copies, source_path
from comfylock.machine.modelpaths import load_model_paths


def test_candidates_in_the_order_resolve_asks(make_tree, tmp_path):
    make_tree(
        {
            "proj/wf/a.png": b"beside",
            "proj/wf/input/a.png": b"in input/ beside",
            "ComfyUI/input/a.png": b"root",
        }
    )
    got = candidates(tmp_path / "proj", tmp_path / "ComfyUI", "wf/x.json", "a.png")
    assert [(s.root, s.path) for s, _ in got] == [
        ("project", "wf/a.png"),
        ("project", "wf/input/a.png"),
        ("comfyui", "input/a.png"),
    ]
    assert candidates(tmp_path / "proj", None, "wf/x.json", "b.png") == []


def test_a_project_source_never_leaves_the_project(make_tree, tmp_path):
    make_tree({"secret": b"s", "proj/wf/.keep": ""})
    os.symlink(tmp_path / "secret", tmp_path / "proj" / "wf" / "a.png")
    assert source_path(FileSource(path="wf/a.png"), tmp_path / "proj", None) is None
    assert source_path(FileSource(path="../secret"), tmp_path / "proj", None) is None


def test_a_comfyui_input_link_is_the_users_and_counts(make_tree, tmp_path):
    make_tree({"store/blob": b"x", "ComfyUI/input/.keep": ""})
    os.symlink(tmp_path / "store" / "blob", tmp_path / "ComfyUI" / "input" / "a.png")
    source = FileSource(path="input/a.png", root="comfyui")
    assert source_path(source, tmp_path / "proj", tmp_path / "ComfyUI") is not None
    assert source_path(source, tmp_path / "proj", None) is None


def test_find_copies_checks_size_then_bytes(make_tree, tmp_path):
    make_tree({"proj/wf/a.png": b"right", "proj/wf/b.png": b"wrong"})
    sha = hashlib.sha256(b"right").hexdigest()
    models = [
        LockedModel(
            folder="input", name="a.png", size=5, sha256=sha, source=(FileSource(path="wf/a.png"),)
        ),
        LockedModel(
            folder="input",
            name="b.png",
            size=5,
            sha256="b" * 64,
            source=(FileSource(path="wf/b.png"),),
        ),
    ]
    found = find_copies(models, {sha: 5, "b" * 64: 5}, tmp_path / "proj", None, None)
    assert found == {sha: str(tmp_path / "proj" / "wf" / "a.png")}


def test_input_files_live_beside_models_in_the_comfyui_root(tmp_path):
    paths = load_model_paths(tmp_path / "ComfyUI")
    assert paths.target_dir("input") == tmp_path / "ComfyUI" / "input"
    assert paths.search_dirs("input") == (tmp_path / "ComfyUI" / "input",)
    only_models = load_model_paths(None, tmp_path / "models")
    assert only_models.target_dir("input") is None  # never <models>/input
