"""sync/download/urls.py: a lock's sources as concrete download URLs."""

from __future__ import annotations

import pytest

from tests.support.hostile import sync_args as _sync_world
from tests.support.output import error_line as _error_line


@pytest.mark.parametrize(
    "url",
    [
        "https://example.invalid/a\\\\b.safetensors",  # one backslash once TOML reads it
        "https://example.invalid/a\\nb.safetensors",  # a newline
        "https://example.invalid/a\\b.safetensors",  # a backspace
        "https://[::1/x.safetensors",
    ],
)
def test_net_malformed_lock_urls_exit_2(url, tmp_path, run_cli):
    result = run_cli(*_sync_world(tmp_path, url), "--no-aria2")
    assert result.exit_code == 2, result
    # the lock's own validation or the URL rule, whichever sees it first: one line, exit 2
    assert "URL" in _error_line(result.stderr)
