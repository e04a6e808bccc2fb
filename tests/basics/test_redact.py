"""basics/redact.py: the one redaction of secrets."""

from __future__ import annotations

from comfylock.basics.redact import redact
from tests.support.fakes import CIVITAI_TOKEN as TOKEN


def test_redact_removes_tokens_query_params_and_bearer(monkeypatch):
    monkeypatch.setenv("CIVITAI_API_KEY", TOKEN)
    text = f"GET https://x.example/a?token={TOKEN}&b=1 Authorization: Bearer abc.def url https://u:pw@h.example/p {TOKEN}"
    out = redact(text)
    assert TOKEN not in out and "abc.def" not in out and "pw@" not in out
    assert "b=1" in out and "token=***" in out
