"""The httpx backend and URL building, against a real loopback server."""

from __future__ import annotations

import hashlib

import pytest
from werkzeug import Response

from comfylock.errors import AuthError, RemoteError, UsageError
from comfylock.lock.structs import CivitaiSource, HuggingFaceSource, UrlSource
from comfylock.store.hashing import Expected
from comfylock.sync.download.httpx_backend import HttpxDownloader, retry_after
from comfylock.sync.download.urls import check_url, redact, source_urls, url_groups
from tests.support.syncutil import payload, range_response

DATA = payload(7, 200_000)
EXP = Expected(size=len(DATA), sha256=hashlib.sha256(DATA).hexdigest())


@pytest.fixture
def downloader():
    sleeps: list[float] = []
    d = HttpxDownloader(sleep=sleeps.append, retries=3)
    d.sleeps = sleeps
    yield d
    d.close()


def test_resumes_from_the_tmp_file_with_range(server, downloader, tmp_path):
    seen = []
    server.expect_request("/f").respond_with_handler(
        lambda r: (seen.append(r.headers.get("Range")), range_response(r, DATA))[1]
    )
    dest = tmp_path / "x.part"
    dest.write_bytes(DATA[:50_000])
    downloader.fetch([server.url_for("/f")], dest, EXP, len(DATA), {})
    assert dest.read_bytes() == DATA and seen == ["bytes=50000-"]


def test_restarts_when_a_range_gets_200(server, downloader, tmp_path):
    server.expect_request("/f").respond_with_handler(
        lambda r: range_response(r, DATA, honour_range=False)
    )
    dest = tmp_path / "x.part"
    dest.write_bytes(b"garbage" * 10)
    downloader.fetch([server.url_for("/f")], dest, EXP, len(DATA), {})
    assert dest.read_bytes() == DATA


def test_retry_after_is_honoured(server, downloader, tmp_path):
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            return Response("busy", status=503, headers={"Retry-After": "7"})
        return range_response(request, DATA)

    server.expect_request("/f").respond_with_handler(handler)
    downloader.fetch([server.url_for("/f")], tmp_path / "x.part", EXP, len(DATA), {})
    assert sum(downloader.sleeps) == pytest.approx(7, abs=0.5)


def test_gives_up_after_retries_with_a_remote_error(server, downloader, tmp_path):
    server.expect_request("/f").respond_with_data("no", status=429, headers={"Retry-After": "0"})
    with pytest.raises(RemoteError, match="gave up"):
        downloader.fetch([server.url_for("/f")], tmp_path / "x.part", EXP, len(DATA), {})


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(b"", "application/octet-stream"), (b"<html>Sign in</html>", "text/html; charset=utf-8")],
)
def test_an_empty_or_html_200_is_refused(server, downloader, tmp_path, body, ctype):
    server.expect_request("/f").respond_with_data(body, status=200, content_type=ctype)
    with pytest.raises(RemoteError):
        downloader.fetch([server.url_for("/f")], tmp_path / "x.part", EXP, len(DATA), {})


def test_falls_back_to_the_next_url(server, downloader, tmp_path):
    server.expect_request("/gone").respond_with_data("", status=404)
    server.expect_request("/f").respond_with_handler(lambda r: range_response(r, DATA))
    dest = tmp_path / "x.part"
    downloader.fetch([server.url_for("/gone"), server.url_for("/f")], dest, EXP, len(DATA), {})
    assert dest.read_bytes() == DATA


def test_401_is_an_auth_error(server, downloader, tmp_path):
    server.expect_request("/f").respond_with_data("", status=401)
    with pytest.raises(AuthError):
        downloader.fetch([server.url_for("/f")], tmp_path / "x.part", EXP, len(DATA), {})


def test_more_bytes_than_locked_is_refused(server, downloader, tmp_path):
    server.expect_request("/f").respond_with_handler(lambda r: range_response(r, DATA + b"extra"))
    with pytest.raises(RemoteError, match="more bytes"):
        downloader.fetch([server.url_for("/f")], tmp_path / "x.part", EXP, len(DATA), {})


def test_retry_after_parsing():
    assert retry_after("3") == 3
    assert retry_after("9999") == 60
    assert retry_after(None) is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0


# --- URLs -----------------------------------------------------------------------------------


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
