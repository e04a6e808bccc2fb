"""The pack reader is pure: source text in, facts out. It imports nothing that touches files,
processes or the network (it never runs a pack's code either: ``ast`` only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_layering import IO_MODULES, SRC, imported_modules

MODULES = sorted((SRC / "packcode").glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_packcode_imports_no_io(path: Path):
    names = {n.split(".")[0] for n in imported_modules(path)} - {"urllib"}  # urllib.parse only
    assert not names & IO_MODULES, names
    assert "importlib" not in names and "runpy" not in names
