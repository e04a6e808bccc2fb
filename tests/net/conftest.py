"""Fixtures of the network tests."""

from __future__ import annotations

import pytest

from comfylock.net.httpcache import HttpCache


@pytest.fixture
def cache(tmp_path):
    with HttpCache(tmp_path / "http.sqlite") as c:
        yield c
