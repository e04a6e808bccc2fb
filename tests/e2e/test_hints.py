"""Every hint is a command that works when copied (issue 19).

Each scenario puts a studio project in a state a user meets, runs the command that reports
it, collects every `comfylock …` hint the output carries (``tests.support.hints``), runs
each hint as printed (a capitalised placeholder such as SOURCE filled with what only the
user can know), and then checks the hint did what it said: the command that complained
now passes. A hint with a placeholder nobody can fill, or one that fails, fails the test.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.support.fakes import civitai_file, civitai_model, fake_services
from tests.support.hints import hint_args, hints
from tests.support.syncutil import comfyui_root, empty_model_list, make_bare_repo

LORA = b"a lora only Civitai's search knows by its file name\n"
CKPT = b"a checkpoint on the studio's disk\n"
PACK_CLASS = "Fancy Sampler (hints)"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _civitai_model(mid: int, vid: int, name: str, kind: str, data: bytes) -> dict:
    files = [civitai_file(vid, name, size=len(data), sha256=_sha(data), primary=True)]
    return civitai_model(mid, name.split(".")[0], kind, [(vid, "v1", files)])


@pytest.fixture
def studio(tmp_path, monkeypatch):
    """A project (two models, one custom node class) with its ComfyUI, and loopback
    Civitai, hub and registry that know them."""
    project = tmp_path / "studio"
    (project / "workflows").mkdir(parents=True)
    nodes = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "base.safetensors"}},
        "2": {"class_type": "LoraLoader", "inputs": {"lora_name": "style.safetensors"}},
        "3": {"class_type": PACK_CLASS, "inputs": {}},
    }
    (project / "workflows" / "w.json").write_text(json.dumps(nodes))
    root = comfyui_root(project)
    (root / "models" / "checkpoints").mkdir()
    (root / "models" / "checkpoints" / "base.safetensors").write_bytes(CKPT)
    bare, _commits = make_bare_repo(tmp_path / "repos", "fancy-pack")
    empty_model_list(tmp_path, monkeypatch)
    with fake_services() as fakes:
        civitai, hub, registry = fakes.civitai, fakes.hub, fakes.registry
        civitai.add(_civitai_model(11, 21, "base.safetensors", "Checkpoint", CKPT))
        civitai.add(_civitai_model(12, 22, "style.safetensors", "LORA", LORA))
        civitai.downloads.update({21: CKPT, 22: LORA})
        registry.add_node("fancy-pack", str(bare), None, [PACK_CLASS])
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", civitai.base_url)
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        monkeypatch.setenv("COMFYLOCK_REGISTRY_URL", registry.base_url)
        monkeypatch.chdir(project)
        yield {"project": project, "root": root, "tmp": tmp_path}


def _follow(run_cli, output: str, fill: dict | None = None, expect: int = 0) -> list[str]:
    """Run every hint in ``output`` as printed; each must exit ``expect``. Returns them."""
    found = hints(output)
    assert found, f"no hint to follow in:\n{output}"
    for command in found:
        result = run_cli(*hint_args(command, fill))
        assert result.exit_code == expect, (command, result.output)
    return found


def test_after_an_offline_resolve_the_hint_pins_what_it_could_not_look_up(run_cli, studio):
    assert run_cli("--comfyui-root", "ComfyUI", "resolve", "--offline", "--allow-unresolved")
    check = run_cli("check")
    assert check.exit_code == 1, check
    assert _follow(run_cli, check.output) == ["comfylock resolve"]
    assert run_cli("check").exit_code == 0


def test_check_strict_hints_pin_each_weak_match_by_hand(run_cli, studio):
    assert run_cli("--comfyui-root", "ComfyUI", "resolve").exit_code == 0
    strict = run_cli("check", "--strict")
    assert strict.exit_code == 1 and "weak pin: loras/style.safetensors" in strict.stdout
    followed = _follow(run_cli, strict.output)
    assert followed == ["comfylock add civitai:12@22 --folder loras --name style.safetensors"]
    assert run_cli("check", "--strict").exit_code == 0


def test_an_unfound_model_hint_pins_it_once_the_source_is_known(run_cli, studio):
    (studio["project"] / "workflows" / "w.json").write_text(
        json.dumps(
            {"1": {"class_type": "VAELoader", "inputs": {"vae_name": "mystery.safetensors"}}}
        )
    )
    resolve = run_cli("resolve")
    assert resolve.exit_code == 1 and "mystery.safetensors" in resolve.stdout, resolve
    _follow(run_cli, resolve.output, fill={"SOURCE": "civitai:12@22"})
    assert run_cli("check").exit_code == 0


def test_a_hint_after_global_options_acts_on_the_same_project(run_cli, studio, tmp_path):
    """`sync --comfyui-root R` into a root with the user's own file: the `--force` hint
    names R too, so copied it acts on the same ComfyUI."""
    assert run_cli("--comfyui-root", "ComfyUI", "resolve").exit_code == 0
    box = comfyui_root(tmp_path / "box")
    own = box / "models" / "loras" / "style.safetensors"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"the user's own different file")
    sync = run_cli("sync", "--comfyui-root", str(box), "--no-nodes")
    assert sync.exit_code == 5, sync
    assert _follow(run_cli, sync.output) == [f"comfylock sync --force --comfyui-root {box}"]
    assert own.read_bytes() == LORA
    assert run_cli("status", "--comfyui-root", str(box), "--no-nodes").exit_code == 0


def test_a_missing_root_or_lock_hint_works_as_printed(run_cli, studio):
    no_lock = run_cli("check")
    assert no_lock.exit_code == 2, no_lock
    _follow(run_cli, no_lock.output, expect=0)
    assert (studio["project"] / "comfy.lock").is_file()
    no_root = run_cli("status")
    assert no_root.exit_code == 2, no_root
    assert _follow(run_cli, no_root.output) == ["comfylock status --comfyui-root ComfyUI"]


def test_usage_error_hints_work(run_cli, studio):
    assert run_cli("--comfyui-root", "ComfyUI", "resolve").exit_code == 0
    typo = run_cli("synk", "--comfyui-root", "ComfyUI")
    assert typo.exit_code == 2
    assert _follow(run_cli, typo.output) == [
        "comfylock sync --comfyui-root ComfyUI",
        "comfylock --help",
    ]
