"""Custom nodes, the long tail, end to end: a pack outside the shipped table but installed in
the ComfyUI root, a repo id a node downloads (CogVideo), a label a pack maps to a repo, and a
checkpoint a node keeps in its own directory: each is read from the installed pack's code,
locked, and synced onto an empty machine through the store (fake hub on loopback, the packs
cloned from local git repositories)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import tomllib

from tests.support.fakes import FakeHub, LoopbackServer
from tests.support.nodepacks import install_pack, pack_repo

C1 = "1111111111111111111111111111111111111111"
COG = {
    "model_index.json": ('{"_class_name": "CogVideoXPipeline"}', False),
    "transformer/diffusion_pytorch_model.safetensors": ("transformer weights " * 30, True),
}
VL = {
    "model.safetensors": ("vl weights " * 20, True),
    "config.json": ('{"arch": "fake-vl"}', False),
    "README.md": ("# not wanted by the node's allow-patterns", False),
}
LOCAL_CKPT = "local checkpoint bytes " * 10


def _api(class_type: str, **inputs) -> dict:
    return {"1": {"class_type": class_type, "inputs": inputs}}


@pytest.fixture
def world(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    (proj / "workflows").mkdir(parents=True)
    workflows = {
        "cog.json": _api("DownloadAndLoadFakeCogModel", model="THUDM/CogVideoX-5b"),
        "vl.json": _api("FakeVLLoader", model_name="Fake-VL-2B", prompt="describe"),
        "local.json": _api("FakeLocalCheckpointLoader", ckpt="fake-local-v1.safetensors"),
    }
    for name, data in workflows.items():
        (proj / "workflows" / name).write_text(json.dumps(data))
    studio = tmp_path / "studio" / "ComfyUI"
    (studio / "models").mkdir(parents=True)
    repos = {}
    for name in ("FakeDownloadPack", "FakeLocalPack"):
        bare, commit = pack_repo(tmp_path, name)
        install_pack(studio, name, commit=commit, remote=str(bare))
        repos[name] = (bare, commit)
    with LoopbackServer() as hub_srv, LoopbackServer() as cdn_srv:
        hub = FakeHub(hub_srv, cdn_srv)
        for repo, files in (("THUDM/CogVideoX-5b", COG), ("fakeorg/Fake-VL-2B-Instruct", VL)):
            for path, (content, lfs) in files.items():
                hub.add_file(repo, path, commit=C1, content=content, lfs=lfs)
        hub.add_file(
            "fakeorg/local-ckpts", "fake-local-v1.safetensors", commit=C1, content=LOCAL_CKPT
        )
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        monkeypatch.chdir(proj)
        yield {"proj": proj, "studio": studio, "hub": hub, "repos": repos, "tmp": tmp_path}


def _lock(world) -> dict:
    return tomllib.loads((world["proj"] / "comfy.lock").read_text())


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_installed_packs_lock_every_download(world, run_cli):
    result = run_cli("--comfyui-root", str(world["studio"]), "resolve")
    assert result.exit_code == 0, result
    lock = _lock(world)
    snaps = {s["dir"]: s for s in lock["snapshot"]}
    cog = snaps["models/CogVideo/CogVideoX-5b"]
    assert cog["repo"] == "THUDM/CogVideoX-5b" and cog["revision"] == C1
    assert {f["path"] for f in cog["file"]} == set(COG)
    vl = snaps["models/LLM/Fake-VL/Fake-VL-2B-Instruct"]
    assert vl["allow"] == ["*.json", "*.safetensors"]
    assert {f["path"] for f in vl["file"]} == {"model.safetensors", "config.json"}
    (model,) = lock["model"]
    assert (model["folder"], model["name"]) == (
        "custom_nodes/FakeLocalPack/checkpoints",
        "fake-local-v1.safetensors",
    )
    assert model["sha256"] == _sha(LOCAL_CKPT)
    assert model["source"][0]["repo"] == "fakeorg/local-ckpts"
    packs = {n["id"]: n for n in lock["node"]}
    assert packs["comfyui-fake-local"]["commit"] == world["repos"]["FakeLocalPack"][1]
    # the facts came from the installed packs: recorded, so a machine without them agrees
    read_from = {c["name"]: c["read-from"] for c in lock["class"]}
    assert read_from["FakeLocalCheckpointLoader"].startswith("installed pack at ")
    check = run_cli("check")  # no ComfyUI root here (a CI runner): the lock's facts answer
    assert check.exit_code == 0, check


def test_a_fresh_machine_syncs_them_through_the_store(world, run_cli):
    assert run_cli("--comfyui-root", str(world["studio"]), "resolve").exit_code == 0
    box = world["tmp"] / "gpu-box" / "ComfyUI"
    (box / "models").mkdir(parents=True)
    (box / "custom_nodes").mkdir()
    result = run_cli("--comfyui-root", str(box), "sync", "--no-aria2")
    assert result.exit_code == 0, result
    cog = box / "models" / "CogVideo" / "CogVideoX-5b"
    for path, (content, _lfs) in COG.items():
        assert (cog / path).read_text() == content
    vl = box / "models" / "LLM" / "Fake-VL" / "Fake-VL-2B-Instruct"
    assert (vl / "config.json").exists() and not (vl / "README.md").exists()
    ckpt = box / "custom_nodes" / "FakeLocalPack" / "checkpoints" / "fake-local-v1.safetensors"
    assert ckpt.read_text() == LOCAL_CKPT  # inside the cloned pack, through the store
    assert os.path.realpath(ckpt).startswith(os.environ["COMFYLOCK_STORE"])
    assert (box / "custom_nodes" / "FakeLocalPack" / "__init__.py").is_file()
    again = run_cli("--comfyui-root", str(box), "sync", "--no-aria2")
    assert again.exit_code == 0 and "Already in sync" in again.output, again
    assert run_cli("--comfyui-root", str(box), "check", "--installed").exit_code == 0


def test_a_pack_outside_the_table_resolves_its_folders_offline(world, run_cli):
    (world["proj"] / "workflows" / "audio.json").write_text(
        json.dumps(_api("FakeAudioLoader", model="speech.safetensors", vae="ae.safetensors"))
    )
    for folder, name in (("fakeaudio", "speech.safetensors"), ("vae", "ae.safetensors")):
        (world["studio"] / "models" / folder).mkdir(parents=True, exist_ok=True)
        (world["studio"] / "models" / folder / name).write_text(f"{name} bytes")
    shown = run_cli(
        "--comfyui-root", str(world["studio"]), "inspect", "--json", "workflows/audio.json"
    )
    assert shown.exit_code == 0, shown
    data = json.loads(shown.stdout)
    (wf,) = data["workflows"]
    assert {(m["folder"], m["name"]) for m in wf["models"]} == {
        ("fakeaudio", "speech.safetensors"),
        ("vae", "ae.safetensors"),
    }
    (node,) = wf["nodes"]
    assert node["knowledge"].startswith("installed pack at ")
    result = run_cli(
        "--comfyui-root",
        str(world["studio"]),
        "resolve",
        "--offline",
        "--allow-unresolved",
        "workflows/audio.json",
    )
    assert result.exit_code == 0, result
    lock = _lock(world)
    # offline, a local file has its folder and bytes but no source yet: listed, not dropped
    assert lock["workflow"][0]["models"] == ["fakeaudio/speech.safetensors", "vae/ae.safetensors"]
    assert {(u["folder"], u["name"]) for u in lock["unresolved"]} == {
        ("fakeaudio", "speech.safetensors"),
        ("vae", "ae.safetensors"),
    }
    assert _sha("speech.safetensors bytes")[:12] in lock["unresolved"][0]["reason"]
    # the pack is pinned offline to the commit installed here
    assert lock["node"][0]["commit"] == world["repos"]["FakeLocalPack"][1]


def test_a_file_listed_from_two_folders_is_locked_where_this_machine_has_it(world, run_cli):
    (world["proj"] / "workflows" / "sel.json").write_text(
        json.dumps(_api("FakeModelSelector", model_name="umt5.safetensors"))
    )
    root = ["--comfyui-root", str(world["studio"])]
    shown = json.loads(run_cli(*root, "inspect", "--json", "workflows/sel.json").stdout)
    (ref,) = shown["workflows"][0]["models"]
    assert ref["folder"] is None and "diffusion_models, text_encoders" in ref["reason"]
    (world["studio"] / "models" / "text_encoders").mkdir(parents=True)
    (world["studio"] / "models" / "text_encoders" / "umt5.safetensors").write_text("te bytes")
    result = run_cli(*root, "resolve", "--offline", "--allow-unresolved", "workflows/sel.json")
    assert result.exit_code == 0, result
    lock = _lock(world)
    assert lock["workflow"][0]["models"] == ["text_encoders/umt5.safetensors"]
    (u,) = lock["unresolved"]  # offline: placed and hashed, no source yet
    assert (u["folder"], u["name"]) == ("text_encoders", "umt5.safetensors")


def test_a_download_the_table_cannot_place_fails_check_never_silent(world, run_cli):
    for name in ("cog.json", "vl.json", "local.json"):
        (world["proj"] / "workflows" / name).unlink()
    (world["proj"] / "workflows" / "opaque.json").write_text(
        json.dumps(_api("FakeOpaqueDownloader", model="fakeorg/opaque-1"))
    )
    result = run_cli("--comfyui-root", str(world["studio"]), "resolve")
    assert result.exit_code == 1, result
    assert "opaque-1" in result.output and "cannot tell" in result.output
    pinned = run_cli("--comfyui-root", str(world["studio"]), "resolve", "--allow-unresolved")
    assert pinned.exit_code == 0, pinned
    check = run_cli("check")
    assert check.exit_code == 1, check
    assert "opaque-1" in check.output


def test_a_pack_local_file_can_be_pinned_by_hand(world, run_cli):
    for name in ("cog.json", "vl.json"):
        (world["proj"] / "workflows" / name).unlink()
    folder = "custom_nodes/FakeLocalPack/checkpoints"
    result = run_cli(
        "--comfyui-root",
        str(world["studio"]),
        "add",
        "hf:fakeorg/local-ckpts/fake-local-v1.safetensors",
        "--folder",
        folder,
        "--name",
        "fake-local-v1.safetensors",
    )
    assert result.exit_code == 0, result
    (model,) = _lock(world)["model"]
    assert (model["folder"], model["sha256"]) == (folder, _sha(LOCAL_CKPT))
    toml = (world["proj"] / "comfylock.toml").read_text()
    assert f"{folder}/fake-local-v1.safetensors" in toml
    # a directory outside the ComfyUI root's models/ and custom_nodes/ is still refused
    bad = run_cli("add", "hf:fakeorg/local-ckpts/x.safetensors", "--folder", "etc/x")
    assert bad.exit_code == 2 and "custom_nodes/PACK/DIR" in bad.output


ANNOTATOR = "annotator weights " * 12


def test_weights_a_node_downloads_whatever_its_values_are_locked_and_synced(world, run_cli):
    # a preprocessor fetches its annotator on first use; no widget names the file
    for name in ("cog.json", "vl.json", "local.json"):
        (world["proj"] / "workflows" / name).unlink()
    lineart = _api("FakeLineArt", coarse="disable", resolution=512)
    (world["proj"] / "workflows" / "lineart.json").write_text(json.dumps(lineart))
    world["hub"].add_file("fakeorg/Annotators", "sk_model.pth", commit=C1, content=ANNOTATOR)
    result = run_cli("--comfyui-root", str(world["studio"]), "resolve")
    assert result.exit_code == 0, result
    (model,) = _lock(world)["model"]  # the coarse file is behind a switch that is off
    folder = "custom_nodes/FakeDownloadPack/ckpts/fakeorg/Annotators"
    assert (model["folder"], model["name"]) == (folder, "sk_model.pth")
    assert model["sha256"] == _sha(ANNOTATOR)
    assert run_cli("check").exit_code == 0
    box = world["tmp"] / "gpu-box" / "ComfyUI"
    (box / "models").mkdir(parents=True)
    (box / "custom_nodes").mkdir()
    synced = run_cli("--comfyui-root", str(box), "sync", "--no-aria2")
    assert synced.exit_code == 0, synced
    assert (box / folder / "sk_model.pth").read_text() == ANNOTATOR
