"""The CLI's own words (issue 19): one ``error:`` form with one help pointer, a ``help``
command, ``inspect`` with no path reads the current directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.mark.parametrize(
    "args",
    [["synk"], ["sync", "--frob"], ["resolve", "--jobs"], ["--no-such-flag"], ["add"]],
    ids=["command", "option", "value", "global", "argument"],
)
def test_usage_errors_are_one_error_line_with_one_pointer(run_cli, args):
    result = run_cli(*args)
    assert result.exit_code == 2, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    assert "Error:" not in result.output and "Usage:" not in result.output
    assert lines[0].count("--help") == 1, lines


def test_suggests_the_command_it_meant(run_cli):
    result = run_cli("synk")
    assert "did you mean `comfylock sync`" in result.stderr.lower(), result.stderr


def test_help_command_prints_the_help(run_cli):
    top = run_cli("--help")
    result = run_cli("help")
    assert result.exit_code == 0, result
    assert result.stdout == top.stdout
    one = run_cli("help", "sync")
    assert one.exit_code == 0, one
    assert one.stdout == run_cli("sync", "--help").stdout
    bad = run_cli("help", "synk")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: "), bad


def test_inspect_without_a_path_reads_the_current_directory(run_cli, tmp_path, monkeypatch):
    shutil.copy(FIXTURES / "workflows" / "ui04_sdxl_basic.json", tmp_path / "a.json")
    monkeypatch.chdir(tmp_path)
    result = run_cli("inspect")
    assert result.exit_code == 0, result
    assert "a.json" in result.stdout
    assert result.stdout == run_cli("inspect", ".").stdout
