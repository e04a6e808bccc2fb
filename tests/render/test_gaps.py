"""render/gaps.py: the generated download script is safe to run."""

from __future__ import annotations

from pathlib import Path

from tests.support.hostile import TOKEN
from tests.support.hostile import url_workflow as _url_workflow


def _script(run_cli, tmp_path, workflow: dict) -> tuple[str, Path]:
    import json

    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True, exist_ok=True)
    wf = tmp_path / "w.json"
    wf.write_text(json.dumps(workflow))
    result = run_cli("--comfyui-root", str(root), "report", "--format", "script", str(wf))
    assert result.exit_code == 1, result
    return result.stdout, root


def _run_script(script: str, tmp_path: Path) -> tuple[str, str]:
    """Run the script with fake aria2c/curl that record their input; returns (aria2 input,
    curl argv)."""
    import os
    import stat
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "record"
    fake_aria2 = bin_dir / "aria2c"
    fake_aria2.write_text(
        '#!/bin/sh\nfor a in "$@"; do case "$a" in --input-file=*) cat "${a#--input-file=}" >> '
        f'"{record}.aria2";; esac; done\n'
    )
    fake_curl = bin_dir / "curl"
    fake_curl.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{record}.curl"\n')
    for exe in (fake_aria2, fake_curl):
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "HF_TOKEN": TOKEN}
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    read = lambda p: p.read_text() if p.exists() else ""  # noqa: E731
    return read(Path(f"{record}.aria2")), read(Path(f"{record}.curl"))


def test_net_script_refuses_a_newline_in_a_url(run_cli, tmp_path):
    evil = "https://example.com/a.safetensors\n  dir=/tmp/outside\n  out=evil"
    wf = _url_workflow(evil)
    wf["nodes"].append(
        _url_workflow("https://example.com/ok.safetensors", "ok.safetensors")["nodes"][0]
        | {"id": 2}
    )
    script, root = _script(run_cli, tmp_path, wf)
    aria2_input, _ = _run_script(script, tmp_path)
    assert "outside" not in aria2_input and "evil" not in aria2_input
    entries = [ln for ln in aria2_input.splitlines() if ln.startswith("  dir=")]
    assert entries == [f"  dir={root / 'models' / 'controlnet'}"]  # the good one only
    assert "skipped controlnet/canny.safetensors" in script


def test_net_script_quotes_names_and_keeps_tokens_off_aria2(run_cli, tmp_path):
    wf = _url_workflow(
        f"https://huggingface.co/o/r/resolve/main/a'b $(touch pwned).safetensors?token={TOKEN}",
        "a'b $(touch pwned).safetensors",
    )
    script, root = _script(run_cli, tmp_path, wf)
    assert TOKEN not in script
    aria2_input, curl_args = _run_script(script, tmp_path)
    assert not list(tmp_path.rglob("pwned"))
    assert "Authorization" not in aria2_input and TOKEN not in aria2_input
    args = curl_args.splitlines()
    assert "--proto-redir" in args and "=https" in args  # never a plain-http hop
    assert args[-1] == "https://huggingface.co/o/r/resolve/main/a'b $(touch pwned).safetensors"
    assert not any(TOKEN in a for a in args)  # the token is in a 0600 header file, not argv
