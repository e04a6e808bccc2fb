"""Fixtures of the resolve tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.hostile import url_workflow as _url_workflow


@pytest.fixture
def project(tmp_path, monkeypatch, origin):
    """A project dir (cwd) whose Civitai finds nothing by name; write ``w.json`` into it."""
    import json

    proj = tmp_path / "proj"
    proj.mkdir()
    origin.expect_request("/civitai/api/v1/models").respond_with_json({"items": [], "metadata": {}})
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", origin.url_for("/civitai").rstrip("/"))
    monkeypatch.setenv("HF_ENDPOINT", origin.url_for("/hf").rstrip("/"))
    monkeypatch.setenv("COMFYLOCK_RETRIES", "1")
    monkeypatch.chdir(proj)

    def write(url: str, name: str = "canny.safetensors") -> Path:
        (proj / "w.json").write_text(json.dumps(_url_workflow(url, name)))
        return proj

    return write
