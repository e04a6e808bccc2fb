from __future__ import annotations

import json
import os
import re
import subprocess

from tests.support.paths import FIXTURES
from tests.support.syncutil import comfyui_root as _comfy
from tests.support.syncutil import url_lock as _url_lock
from tests.support.syncutil import vae_workflow as _vae_workflow

WF = str(FIXTURES / "workflows" / "api_prompt.json")


def _root(make_tree):
    return (
        make_tree(
            {
                "comfy/models/checkpoints/v1-5-pruned-emaonly.ckpt": b"x",
                "comfy/models/clip/clip_l.safetensors": b"x",  # legacy dir of text_encoders
                "elsewhere/loras/epiNoiseoffset_v2.safetensors": b"x",
                "comfy/extra_model_paths.yaml": "mine:\n  base_path: ../elsewhere\n  loras: loras\n",
                "comfy/custom_nodes/pack/__init__.py": 'NODE_CLASS_MAPPINGS = {"MysteryCustomNode": object}\n',
            }
        )
        / "comfy"
    )


def test_report_json_lists_only_what_is_missing(run_cli, make_tree):
    root = _root(make_tree)
    result = run_cli("--comfyui-root", str(root), "report", "--format", "json", WF)
    assert result.exit_code == 1, result
    (wf,) = json.loads(result.stdout)["workflows"]
    missing = {f"{m['folder']}/{m['name']}" for m in wf["missing_models"]}
    assert "checkpoints/v1-5-pruned-emaonly.ckpt" not in missing
    assert "text_encoders/clip_l.safetensors" not in missing, "models/clip is a text_encoders dir"
    assert "loras/epiNoiseoffset_v2.safetensors" not in missing, (
        "extra_model_paths.yaml is honoured"
    )
    assert "diffusion_models/flux1-dev.safetensors" in missing
    flux = next(m for m in wf["missing_models"] if m["name"] == "flux1-dev.safetensors")
    assert flux["expected_path"].endswith("models/diffusion_models/flux1-dev.safetensors"), (
        "diffusion_models goes to its own dir, not the legacy unet/ (SPEC §5)"
    )
    assert wf["missing_nodes"] == [], "MysteryCustomNode is registered by an installed pack"


def test_report_markdown_and_nothing_missing(run_cli, make_tree):
    root = (
        make_tree(
            {"c/models/checkpoints/sd_xl_base_1.0.safetensors": b"x", "c/custom_nodes/.keep": ""}
        )
        / "c"
    )
    wf = (
        make_tree(
            {
                "w.json": json.dumps(
                    {
                        "1": {
                            "class_type": "CheckpointLoaderSimple",
                            "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"},
                        }
                    }
                )
            }
        )
        / "w.json"
    )
    result = run_cli("--comfyui-root", str(root), "report", "--format", "markdown", str(wf))
    assert result.exit_code == 0, result
    assert "Everything this workflow needs is installed." in result.stdout
    text = run_cli("--comfyui-root", str(root), "report", str(wf))
    assert text.exit_code == 0 and "everything it needs is installed" in text.stdout


def test_report_is_text_for_a_terminal_and_markdown_when_asked(run_cli, tmp_path):
    """Issue 19: a terminal got raw Markdown tables with absolute paths."""
    from tests.support.syncutil import comfyui_root, vae_workflow

    root = comfyui_root(tmp_path)
    wf = vae_workflow(tmp_path / "wf" / "w.json")
    text = run_cli("--comfyui-root", str(root), "report", str(wf))
    assert text.exit_code == 1, text
    assert "|" not in text.stdout and "**" not in text.stdout, text.stdout
    assert "vae/vae.safetensors" in text.stdout
    assert str(root / "models" / "vae") not in text.stdout, "rows are relative to the models root"
    md = run_cli("--comfyui-root", str(root), "report", "--format", "markdown", str(wf))
    assert "| folder | name | node | expected path | url |" in md.stdout


def test_report_needs_a_root(run_cli):
    result = run_cli("report", WF)
    assert result.exit_code == 2 and "--comfyui-root" in result.stderr


def test_report_script_reads_tokens_at_run_time(run_cli, make_tree, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_SECRET_DO_NOT_LEAK")
    root = make_tree({"c/models/.keep": ""}) / "c"
    result = run_cli(
        "--comfyui-root",
        str(root),
        "report",
        "--format",
        "script",
        str(FIXTURES / "workflows" / "ui1_nested_subgraphs.json"),
    )
    assert result.exit_code == 1
    script = result.stdout
    assert "hf_SECRET_DO_NOT_LEAK" not in script
    # the token is read by name when the script runs (``with_token … HF_TOKEN``)
    assert re.search(r"^with_token .* HF_TOKEN$", script, re.M) and "aria2c" in script
    check = subprocess.run(
        ["bash", "-n"], input=script, text=True, capture_output=True, env=os.environ
    )
    assert check.returncode == 0, check.stderr


def test_report_script_turns_hub_blob_pages_into_file_urls(run_cli, make_tree):
    root = make_tree({"c/models/.keep": ""}) / "c"
    result = run_cli(
        "--comfyui-root",
        str(root),
        "report",
        "--format",
        "script",
        str(FIXTURES / "workflows" / "ui1_nested_subgraphs.json"),
    )
    assert "/blob/" not in result.stdout
    assert "resolve/main/split_files/vae/wan_2.1_vae.safetensors" in result.stdout


def test_report_script_downloads_what_the_lock_pins(tmp_path, server, run_cli):
    lock, model = _url_lock(tmp_path, server, "vae", "vae.safetensors", b"v" * 32)
    wf = _vae_workflow(tmp_path / "project" / "workflows" / "w.json")
    root = _comfy(tmp_path)
    args = ("--lock", str(lock), "--comfyui-root", str(root), "report")
    script = run_cli(*args, "--format", "script", str(wf))
    assert script.exit_code == 1, script
    assert server.url_for("/files/vae.safetensors") in script.stdout
    # the script queues it with the pinned sha256, which becomes aria2c's checksum option
    queued = [ln for ln in script.stdout.splitlines() if ln.startswith("queue ")]
    assert len(queued) == 1 and queued[0].endswith(f" - {model.sha256}"), script.stdout
    assert "checksum=sha-256=%s" in script.stdout
    assert "nothing to download" not in script.stdout
    data = json.loads(run_cli(*args, "--json", str(wf)).stdout)
    (missing,) = data["workflows"][0]["missing_models"]
    assert missing["sha256"] == model.sha256 and missing["url"].endswith("/files/vae.safetensors")
