"""resolve/fetch.py: ``resolve --fetch`` has a size cap and the https-only rule on every hop."""

from __future__ import annotations

from pathlib import Path

from werkzeug import Response

from tests.support.hostile import endless as _endless
from tests.support.output import error_line as _error_line


def _blobs(store: Path) -> list[Path]:
    return sorted(p for p in (store / "blobs").rglob("*") if p.is_file()) if store.exists() else []


def test_net_resolve_fetch_has_a_size_cap(origin, project, stop, run_cli, monkeypatch, tmp_path):
    import os

    monkeypatch.setenv("COMFYLOCK_FETCH_MAX_BYTES", str(1024 * 1024))
    origin.expect_request("/files/canny.safetensors").respond_with_handler(_endless(stop))
    proj = project(origin.url_for("/files/canny.safetensors"))
    result = run_cli("resolve", "--fetch")
    assert result.exit_code == 3, result
    assert "larger than the --fetch limit" in _error_line(result.stderr)
    store = Path(os.environ["COMFYLOCK_STORE"])
    assert _blobs(store) == []
    assert all(p.stat().st_size <= 1024 * 1024 + 65536 for p in store.rglob("*.part"))
    assert not (proj / "comfy.lock").exists() or "canny" not in (proj / "comfy.lock").read_text()


def test_net_resolve_fetch_refuses_a_plain_http_hop(origin, elsewhere, project, run_cli):
    mapped = f"http://[::ffff:127.0.0.1]:{elsewhere.port}/files/canny.safetensors"
    origin.expect_request("/files/canny.safetensors").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": mapped})
    )
    elsewhere.expect_request("/files/canny.safetensors").respond_with_data(b"x" * 1000)
    project(origin.url_for("/files/canny.safetensors"))
    result = run_cli("resolve", "--fetch")
    assert result.exit_code == 2, result
    assert "refusing to download over http" in _error_line(result.stderr)
    assert elsewhere.log == []
