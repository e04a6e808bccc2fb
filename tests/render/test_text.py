"""Control characters never reach the terminal raw (``pathsafe.printable`` through the renderers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.output import one_error_line as _one_error_line
from tests.support.syncutil import comfyui_root as _comfyui

_NASTY = "x\x1b]0;pwned\x07\x1b[2J\r\x9bz.safetensors"


_RAW = ("\x1b", "\x07", "\r", "\x9b")


def _no_raw_controls(text: str) -> None:
    for ch in _RAW:
        assert ch not in text, repr(text)


def test_fs_terminal_status_and_sync_escape_control_characters(tmp_path, run_cli):
    root = _comfyui(tmp_path)
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        'version = 1\n[[model]]\nfolder = "loras"\n'
        f'name = {json.dumps(_NASTY)}\nsize = 3\nsha256 = "{"a" * 64}"\n',
        encoding="utf-8",
    )
    args = ["--lock", str(lock), "--comfyui-root", str(root)]
    status = run_cli(*args, "status")
    assert status.exit_code == 0, status
    _no_raw_controls(status.output)
    assert "\\x1b]0;pwned\\x07" in status.stdout and "\\r" in status.stdout
    sync = run_cli(*args, "sync")  # no source: fails, naming the model
    assert sync.exit_code != 0
    _no_raw_controls(sync.output)
    as_json = run_cli(*args, "status", "--json")  # JSON stays exact
    assert _NASTY in json.loads(as_json.stdout)["link"][0]["target"]


def _nasty_workflow(tmp_path: Path) -> Path:
    wf = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": _NASTY}},
        "2": {"class_type": "Evil\x1b[31mNode", "inputs": {}},
    }
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf), encoding="utf-8")
    return path


def test_fs_terminal_inspect_and_report_escape_control_characters(tmp_path, run_cli):
    wf = _nasty_workflow(tmp_path)
    root = _comfyui(tmp_path)
    for args in (["inspect", str(wf)], ["--comfyui-root", str(root), "report", str(wf)]):
        result = run_cli(*args)
        assert result.exit_code in (0, 1), result
        _no_raw_controls(result.output)
        assert "\\x1b]0;pwned" in result.stdout
    inspected = json.loads(run_cli("inspect", "--json", str(wf)).stdout)
    assert inspected["workflows"][0]["models"][0]["name"] == _NASTY


def test_fs_terminal_error_lines_escape_control_characters(tmp_path, run_cli):
    result = run_cli("--lock", str(tmp_path / "a\x1b[2Jb.lock"), "status")
    assert result.exit_code == 2, result
    _no_raw_controls(result.stderr)
    assert "a\\x1b[2Jb.lock" in _one_error_line(result.stderr)


@pytest.mark.parametrize("mode", ["plain", "tty"])
def test_fs_terminal_progress_lines_escape_control_characters(mode, capsys):
    import io

    from comfylock.basics.progress import make_progress

    stream = io.StringIO()
    progress = make_progress(mode, stream)
    update = progress.task("loras/" + _NASTY + "[bold]", 10)
    update(10)
    progress.finished("loras/" + _NASTY + "[bold]", 10)
    progress.close()
    shown = stream.getvalue() + capsys.readouterr().err
    assert "fetched loras/x\\x1b]0;pwned" in shown
    assert "[bold]" in shown  # shown as text, not taken as rich markup
    for ch in ("\x07", "\r", "\x9b"):
        assert ch not in shown
    assert "\x1b]0;pwned" not in shown


def test_fs_printable_escapes_c0_c1_and_bidi_only():
    from comfylock.pathsafe import printable

    assert printable("ok/naïve ✓.safetensors") == "ok/naïve ✓.safetensors"
    assert printable("a\tb\nc\x00\x7f\x85\u202e") == "a\\tb\\nc\\x00\\x7f\\x85\\u202e"
    assert printable("l1\x1b\nl2", multiline=True) == "l1\\x1b\nl2"


def test_lines_text_escapes_each_line_and_joins_them():
    from comfylock.render.text import lines_text

    text = lines_text(["fetch  loras/a\x1b[2J.safetensors", "a value\nwith a newline"])
    assert text.count("\n") == 1  # a value's newline cannot forge a second line
    _no_raw_controls(text)
    assert text.startswith("fetch  loras/a") and text.endswith("with a newline")


def test_table_aligns_left_without_trailing_spaces():
    from comfylock.render.text import table

    rows = [["name", "size", ""], ["a-long-name.safetensors", "1.0 MiB", "ok"]]
    assert table(rows) == [
        "  name                     size",
        "  a-long-name.safetensors  1.0 MiB  ok",
    ]
    assert table([], indent="") == []
    assert table([["a", "b"]], indent="") == ["a  b"]
