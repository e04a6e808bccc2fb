"""net/http.py: JSON over HTTP for the service clients: the response cache, single flight, retries,
auth errors that name their token, tokens only to their own service."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
from werkzeug.wrappers import Response

from comfylock.errors import AuthError, RemoteError
from comfylock.net.concurrency import map_concurrent
from comfylock.net.endpoints import Endpoints
from comfylock.net.http import SingleFlight, request_json
from comfylock.net.httpcache import HttpCache
from comfylock.net.send import Retry
from tests.support.fakes import CIVITAI_TOKEN as TOKEN
from tests.support.fakes import Sleeps

HF_TOKEN = "hf_SECRET_token_abcdefghij"


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps) -> Retry:
    return Retry(sleep=sleeps, rng=lambda: 0.5)


def test_json_ok_then_cache_hit_makes_no_second_request(server, client, cache):
    server.expect_request("/data").respond_with_json({"a": "1"})
    url = server.url_for("/data")
    assert request_json(client, "GET", url, cache=cache) == {"a": "1"}
    assert request_json(client, "GET", url, cache=cache) == {"a": "1"}
    assert len(server.log) == 1
    assert (cache.hits, cache.misses) == (1, 1)


def test_refresh_bypasses_read_but_writes(server, client, cache):
    answers = iter([{"v": 1}, {"v": 2}])
    server.expect_request("/d").respond_with_handler(
        lambda r: Response(__import__("json").dumps(next(answers)), content_type="application/json")
    )
    url = server.url_for("/d")
    assert request_json(client, "GET", url, cache=cache) == {"v": 1}
    assert request_json(client, "GET", url, cache=cache, refresh=True) == {"v": 2}
    assert request_json(client, "GET", url, cache=cache) == {"v": 2}
    assert len(server.log) == 2


def test_ttl_expiry_and_negative_answers(server, client, tmp_path):
    now = [1000.0]
    server.expect_request("/gone").respond_with_json({"error": "Model not found"}, status=404)
    server.expect_request("/meta").respond_with_json({"ok": True})
    with HttpCache(tmp_path / "c.sqlite", clock=lambda: now[0]) as cache:
        gone, meta = server.url_for("/gone"), server.url_for("/meta")
        assert request_json(client, "GET", gone, cache=cache) is None
        assert request_json(client, "GET", meta, cache=cache, ttl=7 * 86400) == {"ok": True}
        now[0] += 1800  # fresh for both
        assert request_json(client, "GET", gone, cache=cache) is None
        assert request_json(client, "GET", meta, cache=cache, ttl=7 * 86400) == {"ok": True}
        assert len(server.log) == 2
        now[0] += 3600  # the 404 is stale after an hour; metadata still fresh
        assert request_json(client, "GET", gone, cache=cache) is None
        assert request_json(client, "GET", meta, cache=cache, ttl=7 * 86400) == {"ok": True}
        assert len(server.log) == 3
        stats = cache.stats()
        assert stats.entries == 2 and stats.negative == 1 and stats.by_kind == {"metadata": 2}


def test_429_storm_then_success_honours_retry_after(server, client, retry, sleeps):
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) <= 3:
            return Response("slow down", status=429, headers={"Retry-After": "7"})
        return Response('{"ok": true}', content_type="application/json")

    server.expect_request("/busy").respond_with_handler(handler)
    assert request_json(client, "GET", server.url_for("/busy"), retry=retry) == {"ok": True}
    assert len(calls) == 4
    assert sleeps == [7.0, 7.0, 7.0]


@pytest.mark.parametrize("status", [429, 503, 500])
def test_persistent_failure_is_remote_error_exit_3(server, client, retry, sleeps, status):
    server.expect_request("/x").respond_with_data("no", status=status)
    url = server.url_for("/x")
    with pytest.raises(RemoteError) as info:
        request_json(client, "GET", url, retry=retry)
    assert info.value.exit_code == 3
    assert str(info.value.message).startswith(f"GET {url}: {status} ")
    assert info.value.message.endswith("after 5 tries")
    assert "\n" not in str(info.value)
    assert len(server.log) == 5 and len(sleeps) == 4


def test_persistent_429_message_is_one_clear_line(server, client, retry):
    server.expect_request("/x").respond_with_data("no", status=429)
    url = server.url_for("/x")
    with pytest.raises(RemoteError) as info:
        request_json(client, "GET", url, retry=retry)
    assert info.value.message == f"GET {url}: 429 Too Many Requests after 5 tries"


def test_timeouts_are_retried_then_remote_error(retry, sleeps):
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    transport = httpx.MockTransport(handler)
    with httpx.Client(transport=transport) as client, pytest.raises(RemoteError) as info:
        request_json(client, "GET", "https://example.invalid/x", retry=retry)
    assert len(calls) == 5 and len(sleeps) == 4
    assert "timed out after 5 tries" in info.value.message
    assert info.value.exit_code == 3


def test_connection_refused_is_remote_error(client, retry):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RemoteError, match="connection failed"):
        request_json(client, "GET", f"http://127.0.0.1:{port}/x", retry=retry)


def test_401_is_auth_error_with_civitai_hint(server, client, monkeypatch):
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", server.url_for("/"))
    server.expect_request("/api/v1/models").respond_with_json({"error": "Unauthorized"}, status=401)
    with pytest.raises(AuthError) as info:
        request_json(client, "GET", server.url_for("/api/v1/models"))
    assert info.value.exit_code == 3
    assert "CIVITAI_API_KEY" in info.value.hint


def test_403_on_hf_names_hf_token(server, client, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.url_for("/"))
    server.expect_request("/api/models/x/y").respond_with_data("", status=403)
    with pytest.raises(AuthError, match="HF_TOKEN"):
        request_json(client, "GET", server.url_for("/api/models/x/y"))


def test_404_returns_none(server, client):
    server.expect_request("/nope").respond_with_json({"error": "Model not found"}, status=404)
    assert request_json(client, "GET", server.url_for("/nope")) is None


def test_token_goes_only_to_its_own_service(server, cdn, client, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_KEY", TOKEN)
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", server.url_for("/civitai"))
    server.expect_request("/civitai/api/x").respond_with_data(
        "", status=302, headers={"Location": cdn.url_for("/elsewhere")}
    )
    server.expect_request("/other").respond_with_json({})
    cdn.expect_request("/elsewhere").respond_with_json({"ok": 1})
    assert request_json(client, "GET", server.url_for("/civitai/api/x")) == {"ok": 1}
    assert request_json(client, "GET", server.url_for("/other")) == {}
    seen = {req.path: req.headers.get("Authorization") for req, _ in server.log + cdn.log}
    assert seen == {"/civitai/api/x": f"Bearer {TOKEN}", "/elsewhere": None, "/other": None}


def test_token_never_in_cache_errors_or_reprs(server, client, cache, monkeypatch, retry):
    monkeypatch.setenv("CIVITAI_API_KEY", TOKEN)
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", server.url_for("/"))
    server.expect_request("/ok").respond_with_json({"fine": True})
    server.expect_request("/down").respond_with_data("", status=503)
    server.expect_request("/denied").respond_with_json({"error": "Unauthorized"}, status=401)
    request_json(client, "GET", server.url_for("/ok") + f"?token={TOKEN}", cache=cache)
    messages = []
    for path in ("/down", "/denied"):
        with pytest.raises(RemoteError) as info:
            request_json(
                client, "GET", server.url_for(path) + f"?token={TOKEN}", cache=cache, retry=retry
            )
        messages.append(str(info.value))
    cache.close()
    blob = b"".join(p.read_bytes() for p in cache.path.parent.iterdir() if p.is_file())
    assert TOKEN.encode() not in blob
    assert all(TOKEN not in m for m in messages)
    assert all(TOKEN not in repr(x) for x in (cache, client, Endpoints.from_env(), retry))
    assert (
        server.log[0][0].headers["Authorization"] == f"Bearer {TOKEN}"
    )  # it was sent, as a header


def test_single_flight_shares_one_request(server, client):
    flight = SingleFlight()
    released = threading.Event()

    def handler(request):
        deadline = time.monotonic() + 10
        while flight.waiting < 7 and time.monotonic() < deadline:
            time.sleep(0.005)
        released.set()
        return Response('{"n": 1}', content_type="application/json")

    server.expect_request("/slow").respond_with_handler(handler)
    url = server.url_for("/slow")
    results = map_concurrent(
        lambda i: request_json(client, "GET", url, inflight=flight), range(8), workers=8
    )
    assert results == [{"n": 1}] * 8
    assert released.is_set() and len(server.log) == 1
