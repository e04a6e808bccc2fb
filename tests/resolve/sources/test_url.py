"""comfylock.resolve.sources.url: scheme policy and probing sizes without downloading."""

from __future__ import annotations

import pytest
from werkzeug.wrappers import Response

from comfylock.errors import AuthError, InputError, NotFoundError
from comfylock.resolve.sources.url import check_url, is_loopback, probe
from tests.support import fakes


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.3.4.5", "[::1]", "a.localhost"])
def test_loopback_hosts(host):
    assert is_loopback(host.strip("[]"))
    check_url(f"http://{host}:8080/x")


def test_scheme_policy():
    check_url("https://example.com/model.safetensors")
    check_url("http://mirror.lan/x", allow_http=["mirror.lan"])
    with pytest.raises(InputError) as info:
        check_url("http://mirror.lan/x")
    assert "allow-http" in info.value.hint and info.value.exit_code == 2
    for bad in ("ftp://example.com/x", "file:///etc/passwd", "example.com/x", "https:///x"):
        with pytest.raises(InputError):
            check_url(bad)


def test_http_error_message_redacts_token(monkeypatch):
    with pytest.raises(InputError) as info:
        check_url("http://example.com/x?token=SECRETSECRET")
    assert "SECRETSECRET" not in str(info.value)


def test_probe_head_size(server, client, no_wait):
    server.expect_request("/m.bin", method="HEAD").respond_with_data(
        b"x" * 1234, content_type="application/octet-stream"
    )
    info = probe(client, server.url_for("/m.bin"), retry=no_wait)
    assert info.size == 1234 and not info.is_html
    assert info.final_url == server.url_for("/m.bin")


def test_probe_falls_back_to_ranged_get(server, client, no_wait):
    server.expect_request("/m.bin", method="HEAD").respond_with_data("", status=405)

    def ranged(request):
        assert request.headers["Range"] == "bytes=0-0"
        return Response(b"x", status=206, headers={"Content-Range": "bytes 0-0/987654321"})

    server.expect_request("/m.bin", method="GET").respond_with_handler(ranged)
    info = probe(client, server.url_for("/m.bin"), retry=no_wait)
    assert info.size == 987654321
    assert [r.method for r, _ in server.log] == ["HEAD", "GET"]


def test_probe_follows_civitai_style_redirect_and_redacts(server, client, no_wait, monkeypatch):
    fake = fakes.FakeCivitai(server)
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", fake.base_url)
    monkeypatch.setenv("CIVITAI_API_KEY", "civ-SECRET-999999")
    info = probe(client, f"{fake.base_url}/api/download/models/2001", retry=no_wait)
    assert info.size == len(b"model-bytes")
    assert "/signed/2001/" in info.final_url
    assert "leaky" not in info.final_url and "civ-SECRET" not in info.final_url
    auth = [r.headers.get("Authorization") for r, _ in server.log]
    assert auth[0] == "Bearer civ-SECRET-999999"


def test_probe_login_page_is_html(server, client, no_wait):
    server.expect_request("/dl").respond_with_data(
        "<html>log in</html>", content_type="text/html; charset=utf-8"
    )
    assert probe(client, server.url_for("/dl"), retry=no_wait).is_html


def test_probe_errors(server, client, no_wait):
    server.expect_request("/gone").respond_with_data("", status=404)
    server.expect_request("/private").respond_with_data("", status=401)
    with pytest.raises(NotFoundError):
        probe(client, server.url_for("/gone"), retry=no_wait)
    with pytest.raises(AuthError):
        probe(client, server.url_for("/private"), retry=no_wait)


def test_redirect_to_plain_http_elsewhere_is_refused(server, client, no_wait):
    server.expect_request("/r").respond_with_data(
        "", status=302, headers={"Location": "http://example.invalid/file"}
    )
    with pytest.raises(InputError, match="example.invalid"):
        probe(client, server.url_for("/r"), retry=no_wait)
