"""net/endpoints.py: where each service lives and whose token goes where."""

from __future__ import annotations

from comfylock.net.endpoints import Endpoints, is_under


def test_endpoints_defaults_and_env(monkeypatch):
    assert Endpoints.from_env().hf == "https://huggingface.co"
    assert Endpoints.from_env().model_list is None
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/hub/")
    monkeypatch.setenv("COMFYLOCK_NODE_MAP_URL", "/tmp/map.json")
    ep = Endpoints.from_env()
    assert ep.hf == "http://127.0.0.1:9/hub"
    assert ep.node_map == "/tmp/map.json"


def test_is_under_checks_origin_and_path():
    assert is_under("https://civitai.com/api/v1/x", "https://civitai.com")
    assert is_under("http://127.0.0.1:80/hub/a", "http://127.0.0.1/hub")
    assert not is_under("http://127.0.0.1/hubx/a", "http://127.0.0.1/hub")
    assert not is_under("https://civitai.com.evil.example/api", "https://civitai.com")
    assert not is_under("http://civitai.com/api", "https://civitai.com")
