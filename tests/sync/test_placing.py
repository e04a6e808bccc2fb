"""sync/placing.py: ``--force`` displaces a user's file and never loses one."""

from __future__ import annotations

from pathlib import Path

from tests.support.syncutil import (
    Model,
    write_lock,
)
from tests.support.syncutil import comfyui_root as _comfyui
from tests.support.syncutil import seed as _seed
from tests.support.syncutil import seeded_lock as _seeded_lock
from tests.support.syncutil import store_dir as _store


def _displaced_files() -> dict[bytes, Path]:
    found = [p for p in (_store() / "displaced").rglob("*") if p.is_file()]
    return {p.read_bytes(): p for p in found}


def test_fs_force_keeps_two_files_of_one_name_from_two_extra_model_paths_dirs(tmp_path, run_cli):
    """Two extra_model_paths.yaml dirs each hold a user's ``x.safetensors``: before, both
    were displaced to ``displaced/<second>/x.safetensors`` and one was lost."""
    root = _comfyui(tmp_path)
    loras, ckpts = tmp_path / "disk-a" / "loras", tmp_path / "disk-b" / "ckpts"
    (root / "extra_model_paths.yaml").write_text(
        f"mine:\n  loras: {loras}\n  checkpoints: {ckpts}\n  is_default: true\n"
    )
    for d, text in ((loras, b"user lora"), (ckpts, b"user checkpoint")):
        d.mkdir(parents=True)
        (d / "x.safetensors").write_bytes(text)
    locked = [
        Model("loras", "x.safetensors", b"L" * 64),
        Model("checkpoints", "x.safetensors", b"C" * 64),
    ]
    lock = _seeded_lock(tmp_path, locked)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync", "--force")
    assert result.exit_code == 0, result
    assert (loras / "x.safetensors").read_bytes() == b"L" * 64
    assert (ckpts / "x.safetensors").read_bytes() == b"C" * 64
    kept = _displaced_files()
    assert set(kept) == {b"user lora", b"user checkpoint"}
    # the whole original path is kept, so the user can tell which was which
    assert str(kept[b"user lora"]).endswith(str(loras / "x.safetensors"))
    # issue 19: "moved aside 1" said nothing of where; each place is printed
    for path in kept.values():
        assert f"moved aside (--force): {path}" in result.stdout, result.stdout


def test_fs_force_in_two_comfyui_roots_on_one_store_keeps_both_files(tmp_path, run_cli):
    """Two roots sharing one store, forced within one second: one displaced dir per run."""
    model = Model("loras", "detail.safetensors", b"locked bytes" * 8)
    _seed(tmp_path, model.data)
    roots = []
    for name in ("one", "two"):
        root = _comfyui(tmp_path / name)
        target = root / "models" / "loras" / "detail.safetensors"
        target.parent.mkdir(parents=True)
        target.write_bytes(f"the {name} user's own lora".encode())
        lock = write_lock(tmp_path / name / "comfy.lock", [model])
        roots.append(["--lock", str(lock), "--comfyui-root", str(root)])
    for args in roots:
        result = run_cli(*args, "sync", "--force")
        assert result.exit_code == 0, result
    assert set(_displaced_files()) == {b"the one user's own lora", b"the two user's own lora"}
    runs = list((_store() / "displaced").iterdir())
    assert len(runs) == 2 and all("." in r.name and "-" in r.name for r in runs)
