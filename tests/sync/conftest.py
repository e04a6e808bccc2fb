"""Fixtures of the sync tests."""

from __future__ import annotations

import pytest

from comfylock.sync import receipt
from tests.support.syncutil import make_world, serve_world


@pytest.fixture
def synced(tmp_path, server, monkeypatch, run_cli):
    """A world synced once (no node packs); receipts may vouch for files changed just now
    (the 2 s racy window is what the receipt's own test checks)."""
    world = make_world(tmp_path, server, monkeypatch, nodes=False)
    serve_world(world)
    first = run_cli(*world["args"], "sync", "--no-aria2")
    assert first.exit_code == 0, first
    monkeypatch.setattr(receipt, "_RACY_NS", 0)
    return world
