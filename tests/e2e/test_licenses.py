"""Licences end to end (SPEC §10): resolve records what each source publishes (a Hugging
Face card's licence and gate, Civitai's permission flags, base model and trained words),
``report --licenses`` lists every model's licence or "unknown", and ``check --deny-license``
fails naming the model and its licence. Against loopback fakes in the real APIs' shapes."""

from __future__ import annotations

import contextlib
import hashlib
import json

import pytest

from comfylock.lock import file as lockfile
from tests.support.fakes import FakeCivitai, FakeHub, LoopbackServer, civitai_file, civitai_model

HF_COMMIT = "0123456789abcdef0123456789abcdef01234567"
BASE = b"checkpoint bytes of base.safetensors"
INK = b"ink lora bytes"
WORKFLOW = {
    "nodes": [
        {
            "id": 1,
            "type": "CheckpointLoaderSimple",
            "mode": 0,
            "widgets_values": ["base.safetensors"],
        },
        {"id": 2, "type": "LoraLoader", "mode": 0, "widgets_values": ["ink.safetensors", 1, 1]},
        {
            "id": 3,
            "type": "VAELoader",
            "mode": 0,
            "widgets_values": ["ae.safetensors"],
            "properties": {
                "models": [
                    {
                        "name": "ae.safetensors",
                        "directory": "vae",
                        "url": "https://huggingface.co/org/flux-vae/resolve/main/ae.safetensors",
                    }
                ]
            },
        },
        {"id": 4, "type": "LoadImage", "mode": 0, "widgets_values": ["ref.png", "image"]},
    ]
}


def _model(model_id, version_id, file_id, name, data, type_):
    files = [
        civitai_file(
            file_id, name, size=len(data), sha256=hashlib.sha256(data).hexdigest(), primary=True
        )
    ]
    return civitai_model(model_id, name.split(".")[0], type_, [(version_id, "v1", files)])


@contextlib.contextmanager
def fakes():
    with LoopbackServer() as civ_srv, LoopbackServer() as hub_srv, LoopbackServer() as cdn_srv:
        civitai = FakeCivitai(civ_srv)
        base = civitai.add(_model(101, 201, 301, "base.safetensors", BASE, "Checkpoint"))
        base["allowCommercialUse"] = "Sell"  # the older answers' one word
        base["allowDerivatives"] = True
        base["allowDifferentLicense"] = False
        base["allowNoCredit"] = True
        ink = civitai.add(_model(102, 202, 302, "ink.safetensors", INK, "LORA"))
        ink["allowCommercialUse"] = []  # newer answers: a list; empty = no commercial use
        ink["allowNoCredit"] = False
        ink["modelVersions"][0]["trainedWords"] = ["inkpunk", " ink wash "]
        ink["modelVersions"][0]["baseModel"] = "SD 1.5"
        hub = FakeHub(hub_srv, cdn_srv)
        hub.add_file("org/flux-vae", "ae.safetensors", commit=HF_COMMIT, content="vae weights")
        hub.cards["org/flux-vae"] = {
            "gated": "manual",
            "cardData": {
                "license": "other",
                "license_name": "flux-1-dev-non-commercial-license",
                "base_model": ["black-forest-labs/FLUX.1-dev"],
            },
        }
        env = {"COMFYLOCK_CIVITAI_URL": civitai.base_url, "HF_ENDPOINT": hub.base_url}
        yield env, civ_srv, hub_srv


@pytest.fixture
def project(make_tree, tmp_path):
    make_tree(
        {
            "proj/workflows/ink.json": json.dumps(WORKFLOW),
            "proj/workflows/ref.png": b"a reference image",
            "ComfyUI/models/checkpoints/base.safetensors": BASE,
        }
    )
    return [
        "--lock",
        str(tmp_path / "proj" / "comfy.lock"),
        "--comfyui-root",
        str(tmp_path / "ComfyUI"),
    ]


@pytest.fixture
def resolved(project, run_cli, monkeypatch):
    with fakes() as (env, civ_srv, hub_srv):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = run_cli(*project, "resolve")
        assert result.exit_code == 0, result
        yield project, civ_srv, hub_srv


def test_resolve_records_what_each_source_publishes(resolved, tmp_path):
    lock = lockfile.load(tmp_path / "proj" / "comfy.lock")
    models = {m.key: m for m in lock.model}
    base, ink = models["checkpoints/base.safetensors"], models["loras/ink.safetensors"]
    vae = models["vae/ae.safetensors"]
    assert base.allow_commercial_use == ("Sell",)
    assert (base.allow_derivatives, base.allow_different_license, base.allow_no_credit) == (
        True,
        False,
        True,
    )
    assert base.base_model == "SDXL 1.0" and base.license is None
    assert ink.allow_commercial_use == () and ink.allow_no_credit is False
    assert ink.trained_words == ("inkpunk", "ink wash") and ink.base_model == "SD 1.5"
    assert vae.license == "flux-1-dev-non-commercial-license"
    assert vae.gated == "manual" and vae.base_model == "black-forest-labs/FLUX.1-dev"
    assert models["input/ref.png"].license is None  # the project's own image: no licence
    text = (tmp_path / "proj" / "comfy.lock").read_text()
    assert 'license = "flux-1-dev-non-commercial-license"' in text
    assert "allow-commercial-use = []" in text and 'trained-words = ["inkpunk", "ink wash"]' in text


def test_report_licenses_lists_each_model_or_unknown(resolved, run_cli):
    project, *_ = resolved
    md = run_cli(*project, "report", "--licenses", "--format", "markdown")
    assert md.exit_code == 0, md
    text = run_cli(*project, "report", "--licenses")  # for a terminal: no Markdown table
    assert text.exit_code == 0 and "| `" not in text.stdout, text
    assert (
        "vae/ae.safetensors" in text.stdout and "flux-1-dev-non-commercial-license" in text.stdout
    )
    rows = [line for line in md.stdout.splitlines() if line.startswith("| `")]
    assert len(rows) == 3  # three models; the input image is no model
    by_key = {r.split("`")[1]: r for r in rows}
    assert "| flux-1-dev-non-commercial-license (gated: manual) |" in by_key["vae/ae.safetensors"]
    assert "| unknown | commercial use: Sell;" in by_key["checkpoints/base.safetensors"]
    assert "| unknown | commercial use: none; credit required |" in by_key["loras/ink.safetensors"]
    assert "3 models: 2 unknown, 1 flux-1-dev-non-commercial-license." in md.stdout
    doc = json.loads(run_cli(*project, "report", "--licenses", "--json").stdout)
    (wf,) = doc["workflows"]
    assert wf["path"] == "workflows/ink.json"
    assert {m["key"]: m["license"] for m in wf["models"]} == {
        "checkpoints/base.safetensors": "unknown",
        "loras/ink.safetensors": "unknown",
        "vae/ae.safetensors": "flux-1-dev-non-commercial-license",
    }
    assert doc["licenses"] == {"flux-1-dev-non-commercial-license": 1, "unknown": 2}


def test_check_deny_license_fails_naming_the_model_and_licence(resolved, run_cli):
    project, *_ = resolved
    assert run_cli(*project, "check").exit_code == 0
    denied = run_cli(*project, "check", "--deny-license", "FLUX-1-dev-non-commercial-*")
    assert denied.exit_code == 1, denied
    assert (
        "denied licence: vae/ae.safetensors is under flux-1-dev-non-commercial-license"
        in denied.stdout
    )
    unknown = run_cli(*project, "check", "--deny-license", "unknown", "--json")
    assert unknown.exit_code == 1
    doc = json.loads(unknown.stdout)
    assert {d["key"] for d in doc["denied"]} == {
        "checkpoints/base.safetensors",
        "loras/ink.safetensors",
    }
    assert doc["ok"] is False
    assert run_cli(*project, "check", "--deny-license", "cc-by-nc-4.0").exit_code == 0


def test_a_second_resolve_asks_nothing_again(resolved, run_cli):
    project, civ_srv, hub_srv = resolved
    civ_srv.clear_log()
    hub_srv.clear_log()
    again = run_cli(*project, "resolve", "--refresh")
    assert again.exit_code == 0, again
    asked = [r.path for r, _ in [*civ_srv.log, *hub_srv.log]]
    assert not [p for p in asked if "/revision/" in p or p.startswith("/api/v1/models/")], asked


def test_offline_resolve_keeps_what_the_lock_records(resolved, run_cli, tmp_path):
    project, *_ = resolved
    before = (tmp_path / "proj" / "comfy.lock").read_text()
    check = run_cli(*project, "resolve", "--offline", "--check")
    assert check.exit_code == 0, check
    assert (tmp_path / "proj" / "comfy.lock").read_text() == before
