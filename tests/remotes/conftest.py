"""Fixtures of the remote tests: a served world without node packs, moto's S3 server."""

from __future__ import annotations

import pytest

from tests.support.remoteutil import moto_s3
from tests.support.syncutil import make_world, serve_world


@pytest.fixture
def world(tmp_path, server, monkeypatch):
    w = make_world(tmp_path, server, monkeypatch, nodes=False)
    serve_world(w)
    return w


@pytest.fixture
def s3(monkeypatch):
    with moto_s3(monkeypatch) as endpoint:
        yield endpoint
