"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest

from tests.support.syncutil import make_world, serve_world


@pytest.fixture
def world(tmp_path, server, monkeypatch):
    w = make_world(tmp_path, server, monkeypatch)
    serve_world(w)
    return w
