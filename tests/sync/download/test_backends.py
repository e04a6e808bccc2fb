"""Both download backends (httpx, aria2) against hostile origins: tokens stay with their origin on
every hop, plain http elsewhere is refused, bodies are bounded by the locked size, stalls end."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug import Response

from comfylock.errors import InsecureUrlError, RemoteError
from comfylock.store.hashing import Expected
from tests.support.hostile import DATA, HAVE_ARIA2, TOKEN
from tests.support.hostile import endless as _endless
from tests.support.syncutil import (
    range_response,
)

BACKENDS = [
    "httpx",
    pytest.param("aria2", marks=pytest.mark.skipif(not HAVE_ARIA2, reason="no aria2c")),
]


EXP = Expected(size=len(DATA), sha256=hashlib.sha256(DATA).hexdigest())


def _downloader(kind: str, tmp_path: Path, allow_http=()):
    if kind == "aria2":
        from comfylock.sync.download.aria2_backend import Aria2Downloader

        return Aria2Downloader(
            tmp_dir=tmp_path / "tmp",
            jobs=2,
            executable=shutil.which("aria2c"),
            allow_http=allow_http,
        )
    from comfylock.sync.download.httpx_backend import HttpxDownloader

    return HttpxDownloader(allow_http=allow_http, sleep=lambda s: None)


def _auth_seen(server) -> list[str | None]:
    return [req.headers.get("Authorization") for req, _ in server.log]


def _fetch(kind: str, tmp_path: Path, url: str, size: int = len(DATA), headers=None) -> Path:
    """One download by backend ``kind`` into ``tmp/x.part``; the downloader is closed after."""
    d = _downloader(kind, tmp_path)
    dest = tmp_path / "tmp" / "x.part"
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        d.fetch([url], dest, EXP, size, headers or {})
    finally:
        d.close()
    return dest


@pytest.mark.parametrize("kind", BACKENDS)
def test_net_token_not_sent_elsewhere_after_a_503_then_redirect(kind, origin, elsewhere, tmp_path):
    answers = iter([Response(status=503)])

    def api(request):
        first = next(answers, None)
        if first is not None:
            return first
        return Response(status=302, headers={"Location": elsewhere.url_for("/cdn/file")})

    origin.expect_request("/api/download").respond_with_handler(api)
    elsewhere.expect_request("/cdn/file").respond_with_handler(lambda r: range_response(r, DATA))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    dest = _fetch(kind, tmp_path, origin.url_for("/api/download"), headers=bearer)
    assert dest.read_bytes() == DATA
    assert set(_auth_seen(origin)) == {f"Bearer {TOKEN}"}
    assert elsewhere.log and set(_auth_seen(elsewhere)) == {None}


@pytest.mark.parametrize("kind", BACKENDS)
def test_net_redirect_to_plain_http_elsewhere_after_a_503_is_refused(
    kind, origin, elsewhere, tmp_path
):
    """``[::ffff:127.0.0.1]`` is not a loopback name to the rule: plain http there is refused,
    and no request (let alone a token) reaches it."""
    answers = iter([Response(status=503)])
    mapped = f"http://[::ffff:127.0.0.1]:{elsewhere.port}/cdn/file"
    origin.expect_request("/api/download").respond_with_handler(
        lambda r: next(answers, None) or Response(status=302, headers={"Location": mapped})
    )
    elsewhere.expect_request("/cdn/file").respond_with_handler(lambda r: range_response(r, DATA))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with pytest.raises(InsecureUrlError):
        _fetch(kind, tmp_path, origin.url_for("/api/download"), headers=bearer)
    assert elsewhere.log == []


@pytest.mark.skipif(not HAVE_ARIA2, reason="no aria2c")
@pytest.mark.parametrize("token", [None, TOKEN])
def test_net_aria2_own_redirect_to_plain_http_is_not_followed(token, origin, elsewhere, tmp_path):
    """The probe sees the file; only aria2c's own requests are sent to plain http elsewhere."""

    def handler(request):
        if request.headers.get("User-Agent", "").startswith("aria2"):
            where = f"http://[::ffff:127.0.0.1]:{elsewhere.port}/evil"
            return Response(status=302, headers={"Location": where})
        return range_response(request, DATA)

    origin.expect_request("/f").respond_with_handler(handler)
    origin.expect_request("/api").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": origin.url_for("/f")})
    )
    elsewhere.expect_request("/evil").respond_with_handler(lambda r: range_response(r, DATA))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    dest = _fetch("aria2", tmp_path, origin.url_for("/api"), headers=headers)
    assert elsewhere.log == []  # aria2c's redirect to plain http went nowhere
    assert dest.read_bytes() == DATA  # the built-in downloader finished the file


@pytest.mark.parametrize("kind", BACKENDS)
def test_net_endless_body_stops_at_the_locked_size(kind, origin, stop, tmp_path):
    origin.expect_request("/f").respond_with_handler(_endless(stop))
    size = 1024 * 1024
    with pytest.raises(RemoteError, match="locked size"):
        _fetch(kind, tmp_path, origin.url_for("/f"), size)
    dest = tmp_path / "tmp" / "x.part"
    assert not dest.exists() or dest.stat().st_size <= size


def _drip(stop: threading.Event, every: float = 0.1, count: int = 400):
    def handler(request):
        def gen():
            for _ in range(count):
                if stop.wait(every):
                    return
                yield b"x"

        return Response(gen(), headers={"Content-Length": str(count)}, direct_passthrough=True)

    return handler


@pytest.mark.parametrize("kind", BACKENDS)
def test_net_stalled_transfer_fails_with_a_remote_error(kind, origin, stop, tmp_path, monkeypatch):
    monkeypatch.setenv("COMFYLOCK_STALL_SECONDS", "1")
    monkeypatch.setenv("COMFYLOCK_LOWEST_SPEED", "100")
    origin.expect_request("/f").respond_with_handler(_drip(stop))
    with pytest.raises(RemoteError, match="stalled"):
        _fetch(kind, tmp_path, origin.url_for("/f"), 400)
