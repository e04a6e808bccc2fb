"""machine/suggest.py: candidates for what nothing could pin, shown and never pinned by themselves."""

from __future__ import annotations

import json

from tests.support.syncutil import comfyui_root as _comfy
from tests.support.syncutil import empty_model_list as _empty_model_list
from tests.support.syncutil import vae_workflow as _vae_workflow


def test_suggestions_for_unresolved_then_add_takes_one(run_cli, tmp_path, monkeypatch):
    import hashlib

    from tests.support.fakes import FakeCivitai, LoopbackServer, civitai_file, civitai_model

    data = b"detail tweaker xl bytes"
    project = tmp_path / "sugg"
    wf = project / "workflows" / "w.json"
    wf.parent.mkdir(parents=True)
    wf.write_text(
        json.dumps(
            {
                "1": {
                    "class_type": "LoraLoader",
                    "inputs": {"lora_name": "detail_tweaker.safetensors", "strength_model": 1},
                }
            }
        )
    )
    root = _comfy(tmp_path)
    (root / "models" / "checkpoints").mkdir()
    (root / "models" / "checkpoints" / "detail_tweaker.safetensors").write_bytes(b"misplaced")
    _empty_model_list(tmp_path, monkeypatch)
    sha = hashlib.sha256(data).hexdigest()
    with LoopbackServer() as civ:
        civitai = FakeCivitai(civ)
        civitai.add(
            civitai_model(
                555,
                "Detail Tweaker XL",
                "LORA",
                [
                    (
                        777,
                        "v1",
                        [
                            civitai_file(
                                888,
                                "detail_tweaker_fp16.safetensors",
                                size=len(data),
                                sha256=sha,
                                primary=True,
                            )
                        ],
                    )
                ],
            )
        )
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", civitai.base_url)
        monkeypatch.chdir(project)
        result = run_cli("--comfyui-root", str(root), "resolve")
        assert result.exit_code == 1, result
        assert not (project / "comfy.lock").exists(), "a suggestion is never pinned by itself"
        command = "comfylock add civitai:555@777 --folder loras --name detail_tweaker.safetensors"
        assert command in result.stdout, result.stdout
        assert "checkpoints/detail_tweaker.safetensors on this machine" in result.stdout
        data_json = json.loads(run_cli("--comfyui-root", str(root), "resolve", "--json").stdout)
        (u,) = data_json["unresolved"]
        kinds = [s["kind"] for s in u["suggestions"]]
        assert kinds == ["local", "civitai"], u
        assert u["suggestions"][1]["command"] == command
        added = run_cli("--comfyui-root", str(root), *command.split()[1:])
        assert added.exit_code == 0, added
    lock = (project / "comfy.lock").read_text()
    assert sha in lock and "[[unresolved]]" not in lock


def test_report_suggests_a_local_copy_under_another_folder(run_cli, tmp_path):
    root = _comfy(tmp_path)
    (root / "models" / "checkpoints").mkdir()
    (root / "models" / "checkpoints" / "vae.safetensors").write_bytes(b"in the wrong folder")
    wf = _vae_workflow(tmp_path / "wf" / "w.json")
    result = run_cli("--comfyui-root", str(root), "report", "--json", str(wf))
    (missing,) = json.loads(result.stdout)["workflows"][0]["missing_models"]
    (s,) = missing["suggestions"]
    assert s["kind"] == "local" and "checkpoints/vae.safetensors" in s["detail"], s
    md = run_cli("--comfyui-root", str(root), "report", str(wf))
    assert "checkpoints/vae.safetensors on this machine" in md.stdout


def test_suggestions_include_hf_files_in_repos_the_lock_uses(run_cli, tmp_path, monkeypatch):
    from tests.support.fakes import FakeCivitai, FakeHub, LoopbackServer

    commit = "d" * 40
    project = tmp_path / "hfs"
    hf_url = "https://huggingface.co/org/vae/resolve/main/sdxl_vae.safetensors"
    (project / "workflows").mkdir(parents=True)
    (project / "workflows" / "a.json").write_text(
        json.dumps(
            {
                "nodes": [
                    {
                        "id": 1,
                        "type": "VAELoader",
                        "widgets_values": ["sdxl_vae.safetensors"],
                        "properties": {
                            "models": [
                                {"name": "sdxl_vae.safetensors", "directory": "vae", "url": hf_url}
                            ]
                        },
                    }
                ],
                "links": [],
            }
        )
    )
    _vae_workflow(project / "workflows" / "b.json", "sdxl_vae_fp16.safetensors")
    _empty_model_list(tmp_path, monkeypatch)
    with LoopbackServer() as civ, LoopbackServer() as hub_srv, LoopbackServer() as cdn:
        FakeCivitai(civ)
        hub = FakeHub(hub_srv, cdn)
        hub.add_file("org/vae", "sdxl_vae.safetensors", commit=commit, content="vae")
        hub.add_file("org/vae", "fp16/sdxl_vae_fp16.safetensors", commit=commit, content="vae16")
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", civ.url_for("/").rstrip("/"))
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        monkeypatch.chdir(project)
        result = run_cli("resolve", "--json")
    assert result.exit_code == 1, result
    (u,) = json.loads(result.stdout)["unresolved"]
    hf = [s for s in u["suggestions"] if s["kind"] == "huggingface"]
    assert hf and hf[0]["command"] == (
        f"comfylock add hf:org/vae@{commit}/fp16/sdxl_vae_fp16.safetensors "
        "--folder vae --name sdxl_vae_fp16.safetensors"
    ), u["suggestions"]


def test_a_different_models_name_is_never_suggested():
    """Issue 19: the base checkpoint offered as the refiner, a dev UNet as schnell, clip_l as
    clip_l_hidream. A suggestion says its evidence and is a variant of the same weights."""
    from comfylock.machine.suggest import Candidate, evidence, local_suggestions, rank_by_name

    wrong = [
        ("sd_xl_refiner_1.0.safetensors", "sd_xl_base_1.0.safetensors"),
        ("flux1-schnell-fp8.safetensors", "flux1-dev-fp8.safetensors"),
        ("clip_l_hidream.safetensors", "clip_l.safetensors"),
        ("detail_tweaker.safetensors", "detail_tweaker_xl.safetensors"),
    ]
    for want, other in wrong:
        assert evidence(want, other) is None, (want, other)
        cand = Candidate(kind="civitai", source="civitai:1@2", file_name=other, detail="x")
        assert rank_by_name("checkpoints", want, [cand]) == [], (want, other)

        class F:
            folder, name, sha256 = "diffusion_models", other, None

        assert local_suggestions("checkpoints", want, [F]) == [], (want, other)
    right = [
        ("sdxl_vae.safetensors", "sdxl_vae_fp16.safetensors", "same family"),
        ("flux1-dev.safetensors", "flux1-dev-fp8-e4m3fn.safetensors", "same family"),
        ("clip_l.safetensors", "clip_l.ckpt", "same name"),
    ]
    for want, other, why in right:
        assert evidence(want, other) == why, (want, other)
        cand = Candidate(kind="civitai", source="civitai:1@2", file_name=other, detail="x")
        (s,) = rank_by_name("vae", want, [cand])
        assert s.evidence == why and s.command.endswith(f"--name {want}")
