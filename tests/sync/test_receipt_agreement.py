"""The no-op receipt and the full planner, side by side over a family of changes: whenever
the receipt answers, the full CLI (planning from scratch) gives the same exit code and the
same output. A receipt may always decline; it may never say something the planner would
not (issue 16: "the no-op answer is never wrong")."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from comfylock.sync import receipt
from tests.support.syncutil import delete_blob, remove_link, retarget_link, target_of


def _full(args: list[str]) -> tuple[int, str]:
    """The full CLI with the fast path off: what the planner says now."""
    from comfylock.cli import _run

    with CliRunner().isolation() as (out, _err, *_):
        code = _run(list(args), fast=False)
        sys.stdout.flush()
        return code, out.getvalue().decode()


def _fast(args: list[str], capsys) -> tuple[int | None, str]:
    capsys.readouterr()
    code = receipt.try_fast(list(args))
    return code, capsys.readouterr().out


def _linked(args: list[str], capsys) -> tuple[int | None, str]:
    """The link planner alone (``sync/linkplan.py``: the lock by its bytes, links observed)."""
    from comfylock.sync import linkplan

    capsys.readouterr()
    code = linkplan.answer(list(args))
    return code, capsys.readouterr().out


def _planned(args: list[str], capsys) -> tuple[int | None, str]:
    """The console script's planned path alone (no receipt, no click)."""
    from comfylock.__main__ import planned

    capsys.readouterr()
    code = planned(list(args))
    return code, capsys.readouterr().out


# --- the family of changes: each takes the world and changes one thing -----------------------


def _nothing(w):
    pass


def _replace_a_link_with_a_copy(w):
    target = target_of(w, w["models"][2])
    data = target.read_bytes()
    target.unlink()
    target.write_bytes(data)


def _same_lock_bytes(w):
    w["lock"].write_text(w["lock"].read_text())


def _edit_the_lock(w):
    text = w["lock"].read_text()
    w["lock"].write_text(text.replace('name = "vae.safetensors"', 'name = "vae2.safetensors"'))


def _behind_symlink(path: Path, w) -> Path:
    real = Path(w["tmp"]) / "elsewhere" / path.name
    real.parent.mkdir(exist_ok=True)
    shutil.move(path, real)
    path.symlink_to(real)
    return real


def _edit_the_lock_through_its_symlink(w):
    w["lock"].write_text(
        w["real_lock"].read_text().replace('"vae.safetensors"', '"vae2.safetensors"')
    )


def _point_the_lock_symlink_at_another_lock(w):
    other = Path(w["tmp"]) / "elsewhere" / "other.lock"
    other.write_text(w["real_lock"].read_text().replace('"vae.safetensors"', '"v3.safetensors"'))
    w["lock"].unlink()
    w["lock"].symlink_to(other)


def _broken_yaml(w):
    (w["root"] / "extra_model_paths.yaml").write_text("x: [\n")


def _yaml_is_default_elsewhere(w):
    far = Path(w["tmp"]) / "far" / "vae"
    far.mkdir(parents=True)
    (w["root"] / "extra_model_paths.yaml").write_text(f"x:\n  vae: {far}\n  is_default: true\n")


def _yaml_through_its_symlink(w):
    w["real_yaml"].write_text("x: [\n")


def _yaml_names_a_variable_that_changes(w):
    (w["root"] / "extra_model_paths.yaml").write_text("x:\n  base_path: $FAR_MODELS\n  vae: vae\n")


def _broken_config(w):
    (w["lock"].parent / "comfylock.toml").write_text("not = [toml\n")


def _broken_config_through_its_symlink(w):
    w["real_config"].write_text("not = [toml\n")


def _store_index_replaced(w):
    index = Path(os.environ["COMFYLOCK_STORE"]) / "index.sqlite"
    index.unlink()


def _folder_dir_becomes_a_symlink_out(w):
    vae = w["root"] / "models" / "vae"
    outside = Path(w["tmp"]) / "outside-vae"
    shutil.move(vae, outside)
    vae.symlink_to(outside)


def _subdir_becomes_a_symlink_out(w):
    sub = w["root"] / "models" / "checkpoints" / "SDXL"
    outside = Path(w["tmp"]) / "outside-sdxl"
    shutil.move(sub, outside)
    sub.symlink_to(outside)


def _root_marker_removed(w):
    (w["root"] / "custom_nodes").rmdir()


def _a_lock_nearer_the_working_directory(w):
    (w["cwd"] / "comfy.lock").write_text("version = 1\n")


def _a_config_nearer_the_working_directory(w):
    (w["cwd"] / "comfylock.toml").write_text("")


def _the_store_moved(w):
    os.environ["COMFYLOCK_STORE"] = str(Path(w["tmp"]) / "another-store")


CHANGES = [
    _nothing,
    retarget_link,
    remove_link,
    _replace_a_link_with_a_copy,
    delete_blob,
    _same_lock_bytes,
    _edit_the_lock,
    _edit_the_lock_through_its_symlink,
    _point_the_lock_symlink_at_another_lock,
    _yaml_is_default_elsewhere,
    _broken_yaml,
    _yaml_through_its_symlink,
    _yaml_names_a_variable_that_changes,
    _broken_config,
    _broken_config_through_its_symlink,
    _store_index_replaced,
    _folder_dir_becomes_a_symlink_out,
    _subdir_becomes_a_symlink_out,
    _root_marker_removed,
    _a_lock_nearer_the_working_directory,
    _a_config_nearer_the_working_directory,
    _the_store_moved,
]
_SYMLINKED = {
    _edit_the_lock_through_its_symlink: "lock",
    _point_the_lock_symlink_at_another_lock: "lock",
    _yaml_through_its_symlink: "yaml",
    _broken_config_through_its_symlink: "config",
}


@pytest.fixture
def world(synced, tmp_path, monkeypatch):
    w = synced
    w["tmp"] = str(tmp_path)
    w["cwd"] = w["lock"].parent / "workflows"
    w["cwd"].mkdir()
    monkeypatch.chdir(w["cwd"])
    monkeypatch.setenv("FAR_MODELS", str(tmp_path / "far-a"))
    monkeypatch.setenv("COMFYLOCK_STORE", os.environ["COMFYLOCK_STORE"])  # restored after
    return w


def _prepare(w, change, monkeypatch, command) -> list[str]:
    args = ["--comfyui-root", str(w["root"]), command]
    which = _SYMLINKED.get(change)
    if which == "lock":
        w["real_lock"] = _behind_symlink(w["lock"], w)
    if which == "yaml":
        (w["root"] / "extra_model_paths.yaml").write_text("x:\n  upscale_models: /nowhere\n")
        w["real_yaml"] = _behind_symlink(w["root"] / "extra_model_paths.yaml", w)
    if which == "config":
        (w["lock"].parent / "comfylock.toml").write_text("")
        w["real_config"] = _behind_symlink(w["lock"].parent / "comfylock.toml", w)
    if change is _yaml_names_a_variable_that_changes:
        (Path(w["tmp"]) / "far-a" / "vae").mkdir(parents=True)
        (Path(w["tmp"]) / "far-b" / "vae").mkdir(parents=True)
        _yaml_names_a_variable_that_changes(w)
    return args


def _change(w, change, monkeypatch) -> None:
    if change is _yaml_names_a_variable_that_changes:
        monkeypatch.setenv("FAR_MODELS", str(Path(w["tmp"]) / "far-b"))
    else:
        change(w)


# Three answers come before the full CLI: the receipt (``sync/receipt.py``: signatures,
# nothing planned), the link planner (``sync/linkplan.py``: the lock by its bytes, every link
# observed) and the console script's planned path (``__main__.planned``: the plan made
# without click). Each may decline (the full CLI runs); none may say what the full CLI would
# not. With nothing to do the link planner and the planned path must answer themselves, also
# for a lock rewritten with the same bytes (whose new signature the receipt cannot vouch for).
_ANSWERED = {
    "receipt": {_nothing},
    "linkplan": {_nothing, _same_lock_bytes},
    "planned": {_nothing, _same_lock_bytes},
}
_ANSWER = {"receipt": _fast, "linkplan": _linked, "planned": _planned}


@pytest.mark.parametrize("answer", ["receipt", "linkplan", "planned"])
@pytest.mark.parametrize("command", ["status", "sync"])
@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.__name__.strip("_"))
def test_a_fast_answer_never_says_what_the_full_cli_would_not(
    world, capsys, monkeypatch, change, command, answer
):
    w = world
    args = _prepare(w, change, monkeypatch, command)
    before = _full(args)
    assert before[0] == 0 and "Already in sync" in before[1], before
    if answer == "receipt":
        assert _fast(args, capsys) == before, "an unchanged tree is answered by the receipt"
    _change(w, change, monkeypatch)
    fast = _ANSWER[answer](args, capsys)
    full = _full(args)
    if fast[0] is not None:
        assert fast == full, f"the {answer} said {fast}, the full CLI {full}"
    if change in _ANSWERED[answer]:
        assert fast == before
