"""remotes/sigv4.py: presigned S3 URLs from the standard library, checked against AWS's
published example and against botocore's own signer."""

from __future__ import annotations

import calendar
import datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from comfylock.remotes.sigv4 import Credentials, encode_key, presign

# AWS's example ("Authenticating Requests: Using Query Parameters", Signature Version 4).
AWS_KEY, AWS_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
MAY_24_2013 = calendar.timegm((2013, 5, 24, 0, 0, 0))


def test_the_published_example_signs_to_the_published_signature():
    url = presign(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        Credentials(AWS_KEY, AWS_SECRET),
        "us-east-1",
        expires=86400,
        now=MAY_24_2013,
    )
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["X-Amz-Signature"] == (
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    assert query["X-Amz-Credential"] == f"{AWS_KEY}/20130524/us-east-1/s3/aws4_request"


def _botocore(method, url, creds, region, expires, headers):
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    request = AWSRequest(method=method, url=url, headers=headers)
    real = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: datetime.datetime(2013, 5, 24)
    try:
        signer = botocore.auth.S3SigV4QueryAuth(
            BotoCredentials(creds.access_key, creds.secret_key, creds.token),
            "s3",
            region,
            expires=expires,
        )
        signer.add_auth(request)
    finally:
        botocore.auth.get_current_datetime = real
    return dict(parse_qsl(urlsplit(request.url).query))["X-Amz-Signature"]


@pytest.mark.parametrize(
    ("method", "url", "headers", "params", "token"),
    [
        (
            "HEAD",
            "http://127.0.0.1:5000/bucket/team/blobs/sha256/ab/ab01",
            {"x-amz-checksum-mode": "ENABLED"},
            {},
            None,
        ),
        (
            "PUT",
            "https://s3.eu-west-1.amazonaws.com/b/leases/cd",
            {"If-None-Match": "*"},
            {},
            "session-token/x+y=",
        ),
        ("DELETE", "http://localhost:9000/b/k", {"If-Match": '"0a1b"'}, {}, None),
        ("GET", "http://127.0.0.1:5000/b", {}, {"list-type": "2", "prefix": "team/leases/"}, None),
    ],
)
def test_it_signs_as_botocore_does(method, url, headers, params, token):
    creds = Credentials("AKIDEXAMPLE", "secret/with+chars", token)
    mine = presign(
        method,
        url,
        creds,
        "eu-west-1",
        expires=600,
        headers=headers,
        params=params,
        now=MAY_24_2013,
    )
    query = dict(parse_qsl(urlsplit(mine).query))
    full = url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
    assert query["X-Amz-Signature"] == _botocore(method, full, creds, "eu-west-1", 600, headers)
    assert (query.get("X-Amz-Security-Token") is not None) == (token is not None)


def test_credentials_never_print_their_secret():
    creds = Credentials("AKIDEXAMPLE", "do-not-print-me", "nor-me")
    assert "do-not-print-me" not in repr(creds) and "nor-me" not in repr(creds)


def test_a_key_keeps_its_slashes_and_encodes_the_rest():
    assert encode_key("team/blobs/sha256/ab/x y+z") == "team/blobs/sha256/ab/x%20y%2Bz"
