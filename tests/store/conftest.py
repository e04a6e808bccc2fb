"""Fixtures of the store tests."""

from __future__ import annotations

import pytest

from comfylock.store.blobs import Store


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "store").ensure()
