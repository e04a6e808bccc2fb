"""net/limits.py: bounds on what the network may make us hold."""

from __future__ import annotations

import gzip

import pytest

from comfylock.errors import RemoteError


def _gzip_bomb(size: int) -> bytes:
    import io

    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        gz.write(b'{"items": [')
        block = b" " * (1024 * 1024)
        for _ in range(size // len(block)):
            gz.write(block)
        gz.write(b"]}")
    return buf.getvalue()


def test_net_api_answer_is_capped_after_decoding(origin, run_cli, monkeypatch):
    from comfylock.net.limits import API_MAX_BYTES
    from comfylock.net.send import make_client, send

    body = _gzip_bomb(API_MAX_BYTES + 4 * 1024 * 1024)
    origin.expect_request("/api").respond_with_data(
        body, headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )
    with make_client() as client, pytest.raises(RemoteError, match="larger than"):
        send(client, "GET", origin.url_for("/api"))
