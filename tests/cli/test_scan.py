from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import blake3
import pytest

from tests.support.syncutil import backdate_tree as _backdate_tree
from tests.support.syncutil import comfyui_root as _comfy


@pytest.fixture
def comfy(make_tree, tmp_path):
    """A ComfyUI root with two model files and an extra_model_paths.yaml adding a third."""
    make_tree(
        {
            "ComfyUI/models/checkpoints/sdxl/base.safetensors": b"checkpoint",
            "ComfyUI/models/loras/detail.safetensors": b"lora",
            "ComfyUI/custom_nodes/.keep": "",
            "shared/vae/ae.safetensors": b"vae",
            "ComfyUI/extra_model_paths.yaml": f"shared:\n  base_path: {tmp_path / 'shared'}\n  vae: vae\n",
        }
    )
    _backdate_tree(tmp_path)
    return tmp_path / "ComfyUI"


def test_scan_models_dir_prints_table_and_summary(run_cli, comfy):
    result = run_cli("scan", str(comfy / "models"))
    assert result.exit_code == 0, result
    assert "sdxl/base.safetensors" in result.stdout
    assert hashlib.sha256(b"lora").hexdigest()[:12] in result.stdout
    assert blake3.blake3(b"lora").hexdigest()[:12] in result.stdout
    assert "ae.safetensors" not in result.stdout  # a models dir: no YAML is consulted
    assert result.stdout.strip().splitlines()[-1] == "2 files, 14 B, 2 hashed, 0 from cache"


def test_second_scan_comes_from_cache(run_cli, comfy):
    assert run_cli("scan", str(comfy)).exit_code == 0
    result = run_cli("scan", str(comfy))
    assert result.exit_code == 0, result
    assert result.stdout.strip().splitlines()[-1] == "3 files, 17 B, 0 hashed, 3 from cache"


def test_comfyui_root_honours_extra_model_paths(run_cli, comfy, tmp_path):
    result = run_cli("scan", str(comfy), "--json")
    assert result.exit_code == 0, result
    doc = json.loads(result.stdout)
    names = [(f["folder"], f["name"]) for f in doc["files"]]
    assert names == [
        ("checkpoints", "sdxl/base.safetensors"),
        ("loras", "detail.safetensors"),
        ("vae", "ae.safetensors"),
    ]
    assert doc["files"][2]["path"] == str(tmp_path / "shared/vae/ae.safetensors")


def test_json_shape(run_cli, comfy):
    result = run_cli("scan", str(comfy / "models"), "--json")
    assert result.exit_code == 0, result
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert set(doc) == {"models_dir", "files", "hashed", "cached"}
    assert doc["models_dir"] == str(comfy / "models")
    assert (doc["hashed"], doc["cached"]) == (2, 0)
    lora = doc["files"][1]
    assert lora == {
        "folder": "loras",
        "name": "detail.safetensors",
        "path": str(comfy / "models/loras/detail.safetensors"),
        "size": 4,
        "sha256": hashlib.sha256(b"lora").hexdigest(),
        "blake3": blake3.blake3(b"lora").hexdigest(),
    }


def test_default_dir_from_models_dir_option(run_cli, comfy):
    result = run_cli("--models-dir", str(comfy / "models"), "scan", "--json")
    assert result.exit_code == 0, result
    assert len(json.loads(result.stdout)["files"]) == 2


def test_default_dir_from_comfyui_root_env(run_cli, comfy):
    result = run_cli("scan", "--json", env={"COMFYUI_ROOT": str(comfy)})
    assert result.exit_code == 0, result
    doc = json.loads(result.stdout)
    assert doc["models_dir"] == str(comfy / "models")
    assert len(doc["files"]) == 3  # the YAML's vae dir too


def test_no_dir_and_no_root_is_usage_error(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("scan")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "COMFYUI_ROOT" in lines[0]


def test_missing_dir_is_exit_2_one_line(run_cli, tmp_path):
    result = run_cli("scan", str(tmp_path / "absent"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "absent" in lines[0] and lines[0].startswith("error: ")


def test_missing_models_dir_option_is_exit_2(run_cli, tmp_path):
    result = run_cli("--models-dir", str(tmp_path / "absent"), "scan")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_quiet_prints_nothing(run_cli, comfy):
    result = run_cli("-q", "scan", str(comfy))
    assert result.exit_code == 0, result
    assert result.output == ""


def test_no_hash_lists_files_without_reading(run_cli, comfy):
    result = run_cli("scan", str(comfy), "--no-hash", "--json")
    assert result.exit_code == 0, result
    doc = json.loads(result.stdout)
    assert len(doc["files"]) == 3
    assert {f["sha256"] for f in doc["files"]} == {None}
    assert doc["hashed"] == 0


def test_no_progress_bar_when_stderr_is_not_a_tty(run_cli, comfy):
    result = run_cli("scan", str(comfy))
    assert result.exit_code == 0
    assert result.stderr == ""


def test_scan_module_imports_nothing_heavy():
    # `comfylock --help` lists the commands, importing each command module: keep them light.
    code = (
        "import sys, comfylock.commands.scan\n"
        "heavy = ['rich', 'blake3', 'sqlite3', 'msgspec', 'yaml', 'comfylock.machine.inventory']\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_dir_that_is_a_file_is_exit_2(run_cli, tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"x")
    result = run_cli("scan", str(tmp_path / "model.safetensors"))
    assert result.exit_code == 2
    assert "not a directory" in result.stderr


def test_scan_table_does_not_wrap_when_piped(run_cli, tmp_path):
    root = _comfy(tmp_path)
    long_name = "a_really_long_model_name_that_would_wrap_at_eighty_columns_v2.safetensors"
    (root / "models" / "loras").mkdir()
    (root / "models" / "loras" / long_name).write_bytes(b"lora")
    result = run_cli("--comfyui-root", str(root), "scan")
    assert result.exit_code == 0, result
    assert any(long_name in line for line in result.stdout.splitlines()), result.stdout
