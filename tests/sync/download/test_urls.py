"""sync/download/urls.py: a lock's sources as concrete download URLs."""

from __future__ import annotations

import pytest

from comfylock.errors import UsageError
from comfylock.lock.structs import CivitaiSource, HuggingFaceSource, UrlSource
from comfylock.sync.download.urls import check_url, redact, source_urls, url_groups
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


def test_civitai_and_hf_urls_use_the_base_urls_at_fetch_time():
    env = {"COMFYLOCK_CIVITAI_URL": "http://127.0.0.1:9/", "HF_ENDPOINT": "http://127.0.0.1:8"}
    civ = CivitaiSource(
        version_id=5, url="https://civitai.com/api/download/models/5?type=Model&format=SafeTensor"
    )
    hf = HuggingFaceSource(repo="o/r", revision="a" * 40, path="sub dir/m.safetensors")
    urls = [u for u, _ in source_urls([civ, hf], env)]
    assert urls == [
        "http://127.0.0.1:9/api/download/models/5?type=Model&format=SafeTensor",
        f"http://127.0.0.1:8/o/r/resolve/{'a' * 40}/sub%20dir/m.safetensors",
    ]


def test_tokens_go_only_to_their_own_service():
    env = {
        "CIVITAI_API_KEY": "civ-secret",
        "HF_TOKEN": "hf-secret",
        "COMFYLOCK_CIVITAI_URL": "https://c.example",
        "HF_ENDPOINT": "https://h.example",
    }
    sources = [
        CivitaiSource(version_id=1),
        HuggingFaceSource(repo="o/r", revision="b" * 40, path="m"),
        UrlSource(url="https://u.example/m"),
    ]
    pairs = source_urls(sources, env)
    assert pairs[0][1] == {"Authorization": "Bearer civ-secret"}
    assert pairs[1][1] == {"Authorization": "Bearer hf-secret"}
    assert pairs[2][1] == {}
    assert all("secret" not in url for url, _ in pairs)
    groups = url_groups(sources, env)
    assert len(groups) == 3  # never one aria2 download mixing two services' headers


def test_http_only_for_loopback_and_allowed_hosts():
    assert (
        check_url("http://127.0.0.1:5/x")
        and check_url("http://[::1]:5/x")
        and check_url("http://localhost/x")
    )
    assert check_url("http://mirror.lan/x", allow_http=["mirror.lan"])
    with pytest.raises(UsageError):
        check_url("http://example.invalid/x")
    with pytest.raises(UsageError):
        check_url("ftp://127.0.0.1/x")


def test_redact_masks_credentials_in_queries():
    assert redact("https://x/y?token=abc&a=1") == "https://x/y?token=***&a=1"
    assert "s3cr3t" not in redact("https://cdn/x?X-Amz-Signature=s3cr3t")
    assert redact("https://me:pw@host:8443/x") == "https://***@host:8443/x"
