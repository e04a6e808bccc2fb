"""Every path that can print a URL goes through the one redaction, each tried with a real
presigned S3 URL (issue 16, hole a): the warning a remote that gives up after retries on 503
leaves, the error when the origins give up too, ``--json``, ``-v`` (tracebacks included), and
the progress lines; with aria2c and with the httpx downloader."""

from __future__ import annotations

import re
import shutil

import pytest
from werkzeug import Response

from tests.support.remoteutil import ACCESS_KEY, BUCKET, SECRET_KEY

_UNREDACTED = re.compile(r"(?i)x-amz-(signature|credential|security-token)=(?!\*\*\*)")


def _clean(*texts: str) -> None:
    for text in texts:
        assert SECRET_KEY not in text and ACCESS_KEY not in text, text
        assert not _UNREDACTED.search(text), text


@pytest.fixture
def presigning_s3(world, origin, monkeypatch):
    """An S3 endpoint on loopback that says it has every blob (HEAD 200, the right size) and
    answers every GET of a presigned URL with 503 (Retry-After: 0): the remote gives up after
    its retries."""
    seen: list[str] = []
    sizes = {m.sha256: len(m.data) for m in world["models"]}

    def handler(request):
        seen.append(request.full_path)
        if request.method == "HEAD":
            size = sizes.get(request.path.rsplit("/", 1)[-1], 0)
            return Response(status=200, headers={"Content-Length": str(size)})
        return Response("busy", status=503, headers={"Retry-After": "0"})

    origin.expect_request(re.compile(f"/{BUCKET}/team/blobs/.*")).respond_with_handler(handler)
    monkeypatch.setenv("AWS_ENDPOINT_URL", origin.url_for("/").rstrip("/"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"team=s3://{BUCKET}/team")
    return seen


BACKENDS = ["--no-aria2", "aria2"]


def _backend(kind: str) -> list[str]:
    if kind == "aria2" and shutil.which("aria2c") is None:
        pytest.skip("aria2c is not installed")
    return ["--no-aria2"] if kind == "--no-aria2" else []


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("extra", [[], ["-v"], ["--json"]], ids=["plain", "verbose", "json"])
def test_a_remote_giving_up_warns_without_its_presigned_url(
    world, presigning_s3, run_cli, kind, extra
):
    result = run_cli(*world["args"], *extra, "sync", *_backend(kind))
    assert result.exit_code == 0, result
    assert any("X-Amz-Signature" in p for p in presigning_s3), "the presigned URL was used"
    assert "remote team failed" in result.output, result
    _clean(result.stdout, result.stderr)


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("extra", [[], ["-v"]], ids=["plain", "verbose"])
def test_the_error_when_every_source_gives_up_carries_no_presigned_url(
    world, presigning_s3, run_cli, kind, extra
):
    origins = world["server"]  # the origins refuse: the remote's failure is the story
    origins.clear_all_handlers()
    origins.expect_request(re.compile(".*")).respond_with_data("gone", status=404)
    result = run_cli(*world["args"], *extra, "sync", *_backend(kind))
    assert result.exit_code == 3, result
    _clean(result.stdout, result.stderr)


def test_a_presigned_url_in_any_printed_text_is_redacted(capsys):
    """The edge itself: whatever the CLI prints, on either stream, is redacted once more."""
    from comfylock.basics.redact import redacting_streams

    url = (
        f"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
        f"{ACCESS_KEY}%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc123"
    )
    import sys

    with redacting_streams():
        print(f"warning: {url}")
        print(f"error: {url}", file=sys.stderr)
    out, err = capsys.readouterr()
    _clean(out, err)
