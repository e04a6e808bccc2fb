"""One check for every path a lock can write (issue 16, attacks 5, 6 and 11): models and
snapshot files (and node packs' directories) obey the same normalisation, collision and
length rules when the lock is read, and the same containment when they are placed."""

from __future__ import annotations

import hashlib
import os

import pytest

from comfylock.errors import LockfileError
from comfylock.lock.file import loads
from tests.support.output import one_error_line
from tests.support.syncutil import (
    Model,
    comfyui_root,
    seed,
    seeded_lock,
    store_dir,
    tree_snapshot,
    write_lock,
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _model(folder: str, name: str, data: bytes) -> str:
    return (
        f'[[model]]\nfolder = "{folder}"\nname = "{name}"\nsize = {len(data)}\n'
        f'sha256 = "{_sha(data)}"\n'
    )


def _snapshot(dir: str, files: dict[str, bytes]) -> str:
    out = f'[[snapshot]]\nrepo = "owner/repo"\nrevision = "{"b" * 40}"\ndir = "{dir}"\n'
    for path, data in files.items():
        out += f'[[snapshot.file]]\npath = "{path}"\nsize = {len(data)}\nsha256 = "{_sha(data)}"\n'
    return out


def _lock(*parts: str) -> str:
    return "version = 1\n\n" + "\n".join(parts)


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param(
            (
                _model("LLM", "Florence-2/model.safetensors", b"a"),
                _snapshot("models/LLM/Florence-2", {"model.safetensors": b"b"}),
            ),
            id="a model and a snapshot file",
        ),
        pytest.param(
            (_snapshot("models/LLM/x", {"sub/w.bin": b"a", "sub\\\\w.bin": b"b"}),),
            id="sub/x and sub-backslash-x in one snapshot",
        ),
        pytest.param(
            (_model("vae", "sub/v.safetensors", b"a"), _model("vae", "sub\\\\v.safetensors", b"b")),
            id="two models, one with a backslash",
        ),
        pytest.param(
            (
                _snapshot("models/LLM/a", {"b/c.bin": b"a"}),
                _snapshot("models/LLM/a/b", {"c.bin": b"b"}),
            ),
            id="two snapshots, one inside the other",
        ),
        pytest.param(
            (
                _model("clip", "t5.safetensors", b"a"),
                _model("text_encoders", "t5.safetensors", b"b"),
            ),
            id="a legacy folder name and its canonical one",
        ),
        pytest.param(
            (
                _model("custom_nodes/pack/ckpts", "a/w.pth", b"a"),
                _snapshot("custom_nodes/pack/ckpts/a", {"w.pth": b"b"}),
            ),
            id="a file a node downloads into its pack's directory and a snapshot there",
        ),
        pytest.param(
            (
                _model("models/LLM/Florence-2", "model.safetensors", b"a"),
                _model("LLM", "Florence-2/model.safetensors", b"b"),
            ),
            id="a directory under models/ and the folder holding it",
        ),
    ],
)
def test_two_entries_writing_one_path_with_other_bytes_are_refused(parts):
    with pytest.raises(LockfileError, match="same path"):
        loads(_lock(*parts), source="comfy.lock")


def test_two_entries_writing_one_path_with_the_same_bytes_are_fine():
    loads(
        _lock(
            _model("LLM", "Florence-2/model.safetensors", b"same"),
            _snapshot("models/LLM/Florence-2", {"model.safetensors": b"same"}),
        )
    )


LEAF_MAX = 255 - len(".") - len(".comfylock-") - 8 - len(".tmp")


@pytest.mark.parametrize(
    "make",
    [
        lambda name: _model("loras", name, b"x"),
        lambda name: _model("loras", f"sub/{name}", b"x"),
        lambda name: _snapshot("models/LLM/x", {name: b"x"}),
        lambda name: _snapshot("models/LLM/x", {f"sub/{name}": b"x"}),
    ],
    ids=["model", "model in a subdir", "snapshot file", "snapshot file in a subdir"],
)
def test_a_file_name_leaves_room_for_the_temporary_name_beside_it(make):
    loads(_lock(make("n" * LEAF_MAX)))
    for length in (LEAF_MAX + 1, 240, 255):
        with pytest.raises(LockfileError, match="temporary"):
            loads(_lock(make("n" * length)))


def test_a_directory_component_may_use_the_whole_255_bytes():
    loads(_lock(_model("loras", f"{'d' * 255}/x.safetensors", b"x")))
    loads(_lock(_snapshot(f"models/LLM/{'d' * 255}", {"a.bin": b"x"})))
    with pytest.raises(LockfileError):
        loads(_lock(_model("loras", f"{'d' * 256}/x.safetensors", b"x")))


def test_the_longest_name_the_lock_allows_is_placed(tmp_path, run_cli):
    root = comfyui_root(tmp_path)
    name = "n" * (LEAF_MAX - len(".safetensors")) + ".safetensors"
    lock = seeded_lock(tmp_path, [Model("loras", name, b"long name")])
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert result.exit_code == 0, result
    assert (root / "models" / "loras" / name).read_bytes() == b"long name"


def test_a_name_with_no_room_for_its_temporary_name_is_exit_2_not_6(tmp_path, run_cli):
    root = comfyui_root(tmp_path)
    lock = seeded_lock(tmp_path, [Model("loras", "n" * 240, b"too long")])
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert result.exit_code == 2, result
    assert "temporary" in one_error_line(result.stderr)


# --- containment on disk: a snapshot is placed like a model, or not at all -------------------


def _escape(tmp_path):
    """``models/vae/shared -> <outside>`` (a user's own directory link, e.g. to $HOME)."""
    root = comfyui_root(tmp_path)
    outside = tmp_path / "home"
    (outside / "docs").mkdir(parents=True)
    (outside / "docs" / "thesis.txt").write_text("the user's own")
    (root / "models" / "vae").mkdir()
    os.symlink(outside, root / "models" / "vae" / "shared")
    return root, outside


@pytest.mark.parametrize("command", [["sync"], ["sync", "--force"], ["status"]])
def test_a_snapshot_dir_through_a_directory_symlink_out_is_refused_like_a_model(
    tmp_path, run_cli, command
):
    root, outside = _escape(tmp_path)
    data = b"planted"
    seed(tmp_path, data)
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        _lock(_snapshot("models/vae/shared/docs", {"thesis.txt": data, "new.bin": data}))
    )
    before = tree_snapshot(outside)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), *command)
    assert result.exit_code == 2, result
    assert "outside the models tree" in one_error_line(result.stderr)
    assert tree_snapshot(outside) == before
    # the same path as a [[model]] gets the same answer
    write_lock(lock, [Model("vae", "shared/docs/new.bin", data)])
    model = run_cli("--lock", str(lock), "--comfyui-root", str(root), *command)
    assert model.exit_code == 2 and "outside the models tree" in model.stderr, model
    assert tree_snapshot(outside) == before
    assert not (store_dir() / "displaced").exists()


def test_a_snapshot_under_a_folder_on_another_disk_is_still_placed(tmp_path, run_cli):
    """``models/LLM -> /mnt/big/llm`` where LLM is a folder ComfyUI knows (a root of its
    own, as for models) keeps working."""
    root = comfyui_root(tmp_path)
    big = tmp_path / "big" / "diffusers"
    big.mkdir(parents=True)
    os.symlink(big, root / "models" / "diffusers")
    data = b"weights"
    seed(tmp_path, data)
    lock = tmp_path / "comfy.lock"
    lock.write_text(_lock(_snapshot("models/diffusers/sd15", {"unet/w.bin": data})))
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert result.exit_code == 0, result
    assert (big / "sd15" / "unet" / "w.bin").read_bytes() == data


def test_a_model_and_a_snapshot_file_this_machines_yaml_brings_together_are_refused(
    tmp_path, run_cli
):
    """Apart in ComfyUI's default layout, at one path here (extra_model_paths.yaml)."""
    root = comfyui_root(tmp_path)
    shared = root / "models" / "LLM" / "Florence-2"
    shared.mkdir(parents=True)
    (root / "extra_model_paths.yaml").write_text(f"x:\n  vae: {shared}\n  is_default: true\n")
    seed(tmp_path, b"a")
    seed(tmp_path, b"b")
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        _lock(
            _model("vae", "model.safetensors", b"a"),
            _snapshot("models/LLM/Florence-2", {"model.safetensors": b"b"}),
        )
    )
    before = tree_snapshot(root)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert result.exit_code == 2, result
    assert "both placed at" in one_error_line(result.stderr)
    assert tree_snapshot(root) == before
