"""``comfylock cache stats|clear`` and the import hygiene of the network layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from comfylock.net.httpcache import open_cache
from comfylock.settings import make_settings


def _fill() -> None:
    with open_cache(make_settings()) as cache:
        cache.put(
            "GET",
            "https://civitai.example/api/v1/models?query=x",
            200,
            b'{"items": []}',
            kind="search",
        )
        cache.put(
            "GET",
            "https://civitai.example/api/v1/model-versions/1",
            200,
            b'{"id": 1}',
            kind="metadata",
        )
        cache.put(
            "GET", "https://civitai.example/api/v1/model-versions/2", 404, b"", kind="metadata"
        )


def test_stats_on_an_empty_cache(run_cli):
    result = run_cli("cache", "stats")
    assert result.exit_code == 0, result
    assert "entries: 0" in result.stdout


def test_stats_json_and_clear(run_cli):
    _fill()
    result = run_cli("cache", "stats", "--json")
    assert result.exit_code == 0, result
    data = json.loads(result.stdout)
    assert data["entries"] == 3 and data["negative"] == 1
    assert data["by_kind"] == {"metadata": 2, "search": 1}
    assert data["bytes"] > 0 and data["path"].endswith("http.sqlite")
    text = run_cli("cache", "stats").stdout
    assert "search: 1" in text and "metadata: 2" in text
    cleared = run_cli("cache", "clear")
    assert cleared.exit_code == 0 and "removed 3" in cleared.stdout
    assert json.loads(run_cli("cache", "stats", "--json").stdout)["entries"] == 0


def test_cache_is_registered_and_has_help(run_cli):
    from comfylock.cli import COMMANDS

    assert COMMANDS["cache"] == ("comfylock.commands.cache", "cache_cmd")
    result = run_cli("cache", "--help")
    assert result.exit_code == 0 and "stats" in result.stdout and "clear" in result.stdout


def test_cli_and_cache_command_do_not_import_httpx(tmp_path):
    code = (
        "import sys; from comfylock.cli import _run; "
        "rc = _run(['cache', 'stats']); "
        "import comfylock.net.http, comfylock.net.send, comfylock.net.endpoints, comfylock.net.httpcache; "
        "print(rc, 'httpx' in sys.modules)"
    )
    env = {**os.environ, "COMFYLOCK_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "0 False"
