"""resolve/handpin.py: ``comfylock add``."""

from __future__ import annotations

from pathlib import Path

from tests.support.hostile import TOKEN


def test_net_a_failing_add_does_not_print_the_token(origin, project, run_cli):
    origin.expect_request("/files/x.safetensors").respond_with_data(b"", status=404)
    project(origin.url_for("/files/other.safetensors"))
    url = origin.url_for("/files/x.safetensors") + f"?token={TOKEN}"
    result = run_cli("add", url, "--folder", "loras")
    assert result.exit_code != 0
    assert TOKEN not in result.stdout + result.stderr
    assert all(TOKEN not in p.read_text() for p in Path.cwd().glob("*.toml"))
