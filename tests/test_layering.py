"""Layering rules of STYLE.md: the planner is pure, and a no-op sync imports nothing heavy."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "comfylock"
IO_MODULES = {
    "os",
    "io",
    "pathlib",
    "shutil",
    "subprocess",
    "socket",
    "sqlite3",
    "tempfile",
    "fcntl",
    "httpx",
    "aria2p",
    "requests",
    "urllib",
    "glob",
    "time",
    "threading",
}
PURE = ["plan.py", "planview.py", "workspace.py"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    return names


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_io(module):
    names = imported_modules(SRC / module)
    assert not {n.split(".")[0] for n in names} & IO_MODULES, names
    local = {n.lstrip(".") for n in names if n.startswith(".")}
    assert local <= {"structs", "workspace", "plan"}, local


def test_only_download_modules_import_network_libraries():
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        heavy = {n.split(".")[0] for n in imported_modules(path)} & {"httpx", "aria2p"}
        if (
            heavy
        ):  # http.py is the network edge sources/ and download/ share (client, retries, tokens)
            assert rel.startswith(("download/", "sources/")) or rel == "http.py", rel


def test_noop_sync_does_not_import_httpx_aria2p_or_rich(tmp_path):
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 1\n")
    code = (
        "import sys\n"
        "from comfylock.cli import _run\n"
        f"rc = _run(['--lock', {str(lock)!r}, '--comfyui-root', {str(root)!r}, 'sync'])\n"
        "bad = sorted(m for m in ('httpx', 'aria2p', 'rich', 'tomlkit') if m in sys.modules)\n"
        "print(rc, bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    )
    assert out.stdout.strip().endswith("0 []"), out


@pytest.mark.parametrize(
    "module",
    ["workflow.py", "embedded.py", "inference.py", "subgraphs.py", "report.py", "structs.py"],
)
def test_reader_and_renderers_import_no_io(module):
    """The reader takes bytes, renderers return strings: neither touches files or the network."""
    names = imported_modules(SRC / module) - {"urllib.parse"}  # string parsing only
    assert not {n.split(".")[0] for n in names} & IO_MODULES, names
