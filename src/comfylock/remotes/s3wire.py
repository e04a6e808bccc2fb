"""S3's wire protocol for the requests a sync makes, with the standard library only.

A remote-served sync asks the remote once per blob (HEAD), hands aria2 a presigned GET, and
in a cold farm writes, reads and deletes small lease objects and uploads what it fetched.
Through boto3 each process paid ~0.3 s of CPU first (imports and the S3 service model);
here a request is a presigned URL (``sigv4``) sent over a kept-alive ``http.client``
connection, one per thread.

Used only where the environment alone says everything boto3 would have worked out
(``S3Wire.from_env``): keys in ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and
``AWS_SESSION_TOKEN``), the region in ``AWS_REGION``/``AWS_DEFAULT_REGION`` or no AWS config
file to hold another one, no proxy between us and the endpoint, none of the endpoint
variants (FIPS, dual-stack) boto3 would resolve. Anything else (profiles, SSO, instance
roles, a proxy) is ``remotes/s3.py``'s boto3 client, as before. Multipart uploads (big blobs)
stay with boto3's transfer manager either way.
"""

from __future__ import annotations

import base64
import calendar
import email.utils
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..errors import AuthError, RemoteError
from ..redact import redact
from .keepalive import Connections, Reply, direct
from .sigv4 import Credentials, encode_key, presign

__all__ = [
    "S3Wire",
    "error_code",
    "head_fields",
    "http_time",
    "iso_time",
    "server_time",
    "sha256_header",
]

_BOTO_ONLY = (
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_CA_BUNDLE_PATH",
)
_SIGN_SECONDS = 900  # a request's own URL (HEAD, PUT, …) is used at once


def server_time(reply: Reply) -> float | None:
    """The server's clock (``Date``) of a reply, in seconds since the epoch."""
    return http_time(reply.headers.get("date"))


def error_code(reply: Reply) -> str:
    """S3's ``<Code>`` of an error body, if any."""
    text = reply.body[:2048].decode("utf-8", "replace")
    start = text.find("<Code>")
    end = text.find("</Code>", start)
    return text[start + 6 : end] if start >= 0 and end > start else ""


def http_time(value: str | None) -> float | None:
    """An HTTP date (``Date``, ``Last-Modified``) as seconds since the epoch."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_tz(value)
    except (TypeError, ValueError):
        return None
    return float(email.utils.mktime_tz(parsed)) if parsed else None


def iso_time(value: str) -> float | None:
    """An S3 listing's ``LastModified`` (``2024-05-01T12:00:00.000Z``) in epoch seconds."""
    try:
        day, _, clock = value.rstrip("Z").partition("T")
        year, month, mday = (int(x) for x in day.split("-"))
        hours, minutes, seconds = clock.split(":")
        whole = calendar.timegm((year, month, mday, int(hours), int(minutes), 0))
        return whole + float(seconds)
    except (ValueError, TypeError):
        return None


class S3Wire:
    """A bucket reached with presigned requests; ``from_env`` decides whether it can be."""

    def __init__(self, bucket: str, creds: Credentials, region: str, endpoint: str | None):
        self.bucket, self.region, self._creds = bucket, region, creds
        if endpoint:  # MinIO, R2, Ceph, a loopback server: path-style addressing
            self._base, self._path_prefix = endpoint.rstrip("/"), f"/{bucket}"
        elif "." not in bucket and bucket.islower():
            self._base, self._path_prefix = f"https://{bucket}.s3.{region}.amazonaws.com", ""
        else:
            self._base, self._path_prefix = f"https://s3.{region}.amazonaws.com", f"/{bucket}"
        self._conns = Connections(self._base, cafile=os.environ.get("AWS_CA_BUNDLE") or None)

    @classmethod
    def from_env(cls, bucket: str, env: Mapping[str, str]) -> S3Wire | None:
        """The wire client when the environment says all boto3 would, else None."""
        key, secret = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
        if not key or not secret or any(env.get(v) for v in _BOTO_ONLY):
            return None
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
        if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
            return None
        if not direct(endpoint or "https://s3.amazonaws.com", env):
            return None  # boto3 knows proxies (and NO_PROXY); we do not
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region:
            config = env.get("AWS_CONFIG_FILE") or os.path.expanduser("~/.aws/config")
            if os.path.exists(config):
                return None  # a profile's region: boto3 reads it
            region = "us-east-1"
        creds = Credentials(key, secret, env.get("AWS_SESSION_TOKEN"))
        return cls(bucket, creds, region, endpoint)

    # --- URLs ---------------------------------------------------------------------------

    def url(self, key: str = "") -> str:
        path = f"{self._path_prefix}/{encode_key(key)}" if key else self._path_prefix or "/"
        return f"{self._base}{path}"

    def presign(
        self,
        method: str,
        key: str,
        *,
        expires: int = _SIGN_SECONDS,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> str:
        return presign(
            method,
            self.url(key),
            self._creds,
            self.region,
            expires=expires,
            headers=headers,
            params=params,
        )

    # --- requests -----------------------------------------------------------------------

    def request(
        self,
        method: str,
        key: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body=None,
        size: int | None = None,
        what: str = "",
    ) -> Reply:
        """Send one signed request (``headers`` are signed too) and read the whole reply.
        A dropped kept-alive connection is retried once on a new one; anything else that
        fails to connect is a RemoteError naming the endpoint, never the URL's signature."""
        url = self.presign(method, key, headers=headers, params=params)
        parts = urlsplit(url)
        sent = dict(headers or {})
        if size is not None:
            sent["Content-Length"] = str(size)
        try:
            return self._conns.request(
                method, f"{parts.path}?{parts.query}", headers=sent, body=body
            )
        except (ConnectionError, OSError) as exc:
            raise RemoteError(
                f"s3://{self.bucket}: {what or method} failed: unreachable "
                f"({type(exc).__name__}) at {redact(self._base)}",
                hint="check AWS_ENDPOINT_URL and the network, or remove the remote",
            ) from None

    def head(self, key: str, *, checksum: bool = False) -> Reply:
        headers = {"x-amz-checksum-mode": "ENABLED"} if checksum else None
        return self.request("HEAD", key, headers=headers, what=f"HEAD {key}")

    def list_keys(self, prefix: str) -> tuple[list[tuple[str, str, float | None]], float | None]:
        """([(key, etag, last modified)], the server's time) of every object under
        ``prefix`` (ListObjectsV2, page by page)."""
        import xml.etree.ElementTree as ET

        out: list[tuple[str, str, float | None]] = []
        token, now = None, None
        while True:
            params = {"list-type": "2", "prefix": prefix}
            if token:
                params["continuation-token"] = token
            reply = self.request("GET", "", params=params, what=f"list {prefix}")
            self.raise_for(reply, f"list {prefix}")
            now = server_time(reply)
            root = ET.fromstring(reply.body)
            ns = root.tag[: root.tag.find("}") + 1] if root.tag.startswith("{") else ""
            for item in root.iter(f"{ns}Contents"):
                name = item.findtext(f"{ns}Key") or ""
                etag = item.findtext(f"{ns}ETag") or ""
                out.append((name, etag, iso_time(item.findtext(f"{ns}LastModified") or "")))
            token = root.findtext(f"{ns}NextContinuationToken")
            if (root.findtext(f"{ns}IsTruncated") or "").lower() != "true" or not token:
                return out, now

    def raise_for(self, reply: Reply, what: str) -> None:
        """RemoteError (AuthError for 401/403) unless ``reply`` is a 2xx."""
        if 200 <= reply.status < 300:
            return
        where = f"s3://{self.bucket}"
        code = error_code(reply)
        detail = f"{code} ({reply.status})" if code else f"HTTP {reply.status}"
        if reply.status in (401, 403):
            raise AuthError(
                f"{where}: access denied ({what}): {detail}",
                hint="check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy",
            )
        raise RemoteError(f"{where}: {what} failed: {detail}", hint="check the bucket")

    def close(self) -> None:
        self._conns.close()


def head_fields(reply: Reply) -> dict:
    """A HEAD reply in the shape boto3's ``head_object`` gives (what ``held_digest`` reads)."""
    meta = {
        k[len("x-amz-meta-") :]: v for k, v in reply.headers.items() if k.startswith("x-amz-meta-")
    }
    length = reply.headers.get("content-length")
    return {
        "ContentLength": int(length) if length and length.isdigit() else None,
        "ETag": reply.headers.get("etag", ""),
        "ChecksumSHA256": reply.headers.get("x-amz-checksum-sha256"),
        "Metadata": meta,
    }


def sha256_header(sha256: str) -> str:
    """``x-amz-checksum-sha256``'s value for a hex digest (S3 checks the bytes it receives)."""
    return base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
