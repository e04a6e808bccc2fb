"""The httpx backend and URL building, against a real loopback server."""

from __future__ import annotations

import hashlib

import pytest
from werkzeug import Response

from comfylock.errors import AuthError, RemoteError
from comfylock.store.hashing import Expected
from comfylock.sync.download.httpx_backend import HttpxDownloader, retry_after
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
