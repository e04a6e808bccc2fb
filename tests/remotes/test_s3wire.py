"""remotes/s3wire.py: the URLs a sync sends to S3 without a boto3 client are the ones boto3's
own client presigns (botocore's signer, the same addressing, region and expiry)."""

from __future__ import annotations

import datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from comfylock.remotes.s3wire import S3Wire, encode_key

KEY, SECRET = "AKIDEXAMPLE", "secret/with+chars"
FROZEN = datetime.datetime(2013, 5, 24, 0, 0, 0)


@pytest.fixture
def frozen_clock(monkeypatch):
    import botocore.auth

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: FROZEN)


def _boto3_url(env: dict, bucket: str, key: str, expires: int) -> str:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
        region_name=env.get("AWS_REGION", "us-east-1"),
    )
    endpoint = env.get("AWS_ENDPOINT_URL")
    style = "path" if endpoint else "virtual"
    config = Config(s3={"addressing_style": style}, signature_version="s3v4")
    client = session.client("s3", endpoint_url=endpoint, config=config)
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
    )


@pytest.mark.parametrize(
    "env",
    [
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_REGION": "us-east-1"},
        {"AWS_REGION": "eu-west-1", "AWS_SESSION_TOKEN": "session-token/x+y="},
    ],
    ids=["loopback-endpoint", "aws-with-session-token"],
)
def test_a_presigned_get_is_the_one_boto3_makes(frozen_clock, env):
    env = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, **env}
    wire = S3Wire.from_env("team-bucket", env)
    assert wire is not None
    key = "farm/blobs/sha256/ab/ab01 x+y"
    try:
        mine = wire.presign("GET", key, expires=600)
    finally:
        wire.close()
    theirs = _boto3_url(env, "team-bucket", key, 600)
    assert urlsplit(mine)[:3] == urlsplit(theirs)[:3]
    assert dict(parse_qsl(urlsplit(mine).query)) == dict(parse_qsl(urlsplit(theirs).query))


def test_signed_headers_are_named_in_the_url(frozen_clock):
    env = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "eu-west-1"}
    wire = S3Wire.from_env("b", env)
    try:
        url = wire.presign("PUT", "leases/cd", headers={"If-None-Match": "*"})
    finally:
        wire.close()
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["X-Amz-SignedHeaders"] == "host;if-none-match"
    assert query["X-Amz-Credential"] == f"{KEY}/20130524/eu-west-1/s3/aws4_request"


def test_the_keys_never_print_their_secret():
    env = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": "do-not-print-me"}
    env["AWS_SESSION_TOKEN"] = "nor-me"
    wire = S3Wire.from_env("b", {**env, "AWS_REGION": "us-east-1"})
    try:
        shown = repr(vars(wire)) + repr(wire._keys)
    finally:
        wire.close()
    assert "do-not-print-me" not in shown and "nor-me" not in shown


def test_a_key_keeps_its_slashes_and_encodes_the_rest():
    assert encode_key("team/blobs/sha256/ab/x y+z") == "team/blobs/sha256/ab/x%20y%2Bz"
