from __future__ import annotations

import json

from tests.support.paths import FIXTURES


def test_inspect_json_shape(run_cli):
    result = run_cli("inspect", "--json", str(FIXTURES / "workflows" / "ui1_nested_subgraphs.json"))
    assert result.exit_code == 0, result
    data = json.loads(result.stdout)
    (wf,) = data["workflows"]
    assert set(wf) == {"path", "format", "models", "nodes", "problems"}
    for model in wf["models"]:
        assert {"folder", "name", "node_id", "node_type", "input", "active"} <= set(model)
    vae = next(m for m in wf["models"] if m["name"] == "wan_2.1_vae.safetensors")
    assert vae["url"].startswith("https://huggingface.co/") and len(vae["sha256"]) == 64
    custom = [n for n in wf["nodes"] if not n["core"]]
    assert custom[0]["cnr_id"] == "comfyui-gguf" and custom[0]["ver"] == "1.2.3"


def test_inspect_directory_lists_skipped_files(run_cli):
    result = run_cli("inspect", "--json", str(FIXTURES / "workflows"))
    assert result.exit_code == 0, result
    data = json.loads(result.stdout)
    expected = json.loads((FIXTURES / "workflows" / "EXPECTED.json").read_text())
    # a directory walk considers .json/.png/.webp only (SPEC §2); other containers are read
    # when named explicitly
    assert len(data["workflows"]) == len(
        [n for n in expected if n.endswith((".json", ".png", ".webp"))]
    )
    inactive = [m for w in data["workflows"] for m in w["models"] if not m["active"]]
    assert inactive


def test_inspect_human_output(run_cli):
    result = run_cli("inspect", str(FIXTURES / "workflows" / "ui04_sdxl_basic.json"))
    assert result.exit_code == 0
    assert "checkpoints/sd_xl_base_1.0.safetensors" in result.stdout
    assert "inactive" in result.stdout


def test_errors_are_one_line_exit_2(run_cli, tmp_path):
    cases = [
        str(FIXTURES / "broken" / "broken.json"),
        str(FIXTURES / "broken" / "truncated.png"),
        str(FIXTURES / "broken" / "no_workflow.png"),
        str(tmp_path / "does-not-exist.json"),
        str(tmp_path),  # an empty directory: no workflows
    ]
    for path in cases:
        result = run_cli("inspect", path)
        assert result.exit_code == 2, (path, result)
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(errors) == 1 and errors[0].startswith("error: "), result
        assert "Traceback" not in result.output


def test_directory_with_a_broken_file_reports_the_rest(run_cli):
    result = run_cli("inspect", "--json", str(FIXTURES / "broken"))
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert {e["path"].rsplit("/", 1)[-1] for e in data["errors"]} == {
        "broken.json",
        "truncated.png",
    }


def test_flac_and_safetensors_are_read_when_named(run_cli):
    files = [
        str(FIXTURES / "workflows" / n)
        for n in ("audio_comments.flac", "latent_metadata.safetensors")
    ]
    result = run_cli("inspect", "--json", *files)
    assert result.exit_code == 0, result
    assert all(w["models"] for w in json.loads(result.stdout)["workflows"])
