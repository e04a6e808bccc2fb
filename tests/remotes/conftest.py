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


@pytest.fixture(params=["wire", "boto3"])
def s3(monkeypatch, request, tmp_path_factory):
    """moto's S3 server, reached both ways an S3 remote talks: comfylock's own presigned
    requests (keys in the environment) and boto3 (keys in a profile)."""
    home = tmp_path_factory.mktemp("aws")
    with moto_s3(monkeypatch, via=request.param, home=home) as endpoint:
        yield endpoint
