"""S3's requests on a sync's path, presigned with botocore's signer and sent over the
standard library's HTTP client.

A remote-served sync asks the remote once per blob (HEAD), hands aria2 a presigned GET, and
in a cold farm writes, reads and deletes small lease objects and uploads what it fetched.
Through a boto3 client each process paid ~0.3 s of CPU first (boto3's imports, then the S3
service model the client loads); here each request is a URL presigned by botocore's own
SigV4 signer (``botocore.auth.S3SigV4QueryAuth``: ~0.15 s to import, started on a thread
when the client is made, so it overlaps the plan and aria2c's start-up) and sent over a
kept-alive ``http.client`` connection, one per thread: presigned URLs exist for plain HTTP
clients. Listing the leases (XML) goes through boto3 (``remotes/s3.py``).

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
import email.utils
import os
import threading
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from ..basics.redact import redact
from ..errors import AuthError, RemoteError
from .keepalive import Connections, Reply, direct

__all__ = [
    "S3Wire",
    "error_code",
    "encode_key",
    "head_fields",
    "http_time",
    "server_time",
    "sha256_header",
    "warm_signer",
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
    """S3's ``<Error><Code>`` of an error body, if any (an error path: ElementTree's import
    is paid only here)."""
    import xml.etree.ElementTree as ET

    try:
        return (ET.fromstring(reply.body).findtext("Code") or "").strip()
    except ET.ParseError:
        return ""


def http_time(value: str | None) -> float | None:
    """An HTTP date (``Date``, ``Last-Modified``) as seconds since the epoch."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_tz(value)
    except (TypeError, ValueError):
        return None
    return float(email.utils.mktime_tz(parsed)) if parsed else None


def _load_signer() -> None:
    """botocore's signer and request type, imported ahead of the first request."""
    import botocore.auth  # noqa: F401
    import botocore.awsrequest  # noqa: F401
    import botocore.credentials  # noqa: F401


_warming = threading.Lock()
_warm: list[threading.Thread] = []


def warm_signer() -> None:
    """Start importing botocore's signer on a thread (once per process): a sync calls this
    as soon as it knows it will ask an S3 remote, so the import (~0.15 s) overlaps the plan
    and aria2c's start-up; the first presign waits for it on the import lock if need be."""
    with _warming:
        if not _warm:
            _warm.append(
                threading.Thread(target=_load_signer, name="comfylock-signer", daemon=True)
            )
            _warm[0].start()


def encode_key(key: str) -> str:
    """An object key as it goes in a URL path (``/`` kept, everything else encoded)."""
    return quote(key, safe="/~")


class _Keys:
    """An access key, its secret and an optional session token (never printed)."""

    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str | None) -> None:
        self.access_key, self.secret_key, self.token = access_key, secret_key, token or None

    def __repr__(self) -> str:
        return "_Keys(***)"


class S3Wire:
    """A bucket reached with presigned requests; ``from_env`` decides whether it can be."""

    def __init__(self, bucket: str, keys: _Keys, region: str, endpoint: str | None):
        self.bucket, self.region, self._keys = bucket, region, keys
        self._creds = None  # botocore's Credentials, made on the first request
        warm_signer()
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
        return cls(bucket, _Keys(key, secret, env.get("AWS_SESSION_TOKEN")), region, endpoint)

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
        """``key``'s URL signed for ``method`` by botocore's SigV4 query signer: the request
        may carry exactly ``headers`` (they are signed; ``Host`` always is) and has the
        operation's own query ``params``. A secret until it expires: shown only redacted."""
        from botocore.auth import S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest

        if self._creds is None:
            from botocore.credentials import Credentials

            keys = self._keys
            self._creds = Credentials(keys.access_key, keys.secret_key, keys.token)
        request = AWSRequest(
            method=method, url=self.url(key), headers=dict(headers or {}), params=dict(params or {})
        )
        S3SigV4QueryAuth(self._creds, "s3", self.region, expires=expires).add_auth(request)
        return request.url

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

    def listing(
        self, prefix: str, what: str = "list", *, page: int | None = None
    ) -> tuple[list[tuple], float | None]:
        """Every object under ``prefix`` as (key, ETag, Last-Modified in seconds), page by
        page (ListObjectsV2), and the server's clock. Its XML is read by the standard
        library's ElementTree: a farm's lease listing no longer imports boto3 (~0.3 s).
        ``page``: keys per page (the server's own limit, 1,000 on S3, when None)."""
        import xml.etree.ElementTree as ET

        found: list[tuple] = []
        token, now = None, None
        while True:
            params = {"list-type": "2", "prefix": prefix}
            if page is not None:
                params["max-keys"] = str(page)
            if token:
                params["continuation-token"] = token
            reply = self.request("GET", "", params=params, what=what)
            self.raise_for(reply, what)
            now = now or server_time(reply)
            try:
                root = ET.fromstring(reply.body)
            except ET.ParseError:
                raise RemoteError(
                    f"s3://{self.bucket}: {what} failed: the listing is not XML",
                    hint="check AWS_ENDPOINT_URL: is it an S3 endpoint?",
                ) from None
            for item in root:
                if _local(item.tag) == "Contents":
                    info = _texts(item)
                    modified = _iso_time(info.get("LastModified"))
                    found.append((info.get("Key", ""), info.get("ETag", ""), modified))
            top = _texts(root)  # IsTruncated, NextContinuationToken (a Contents' text is "")
            token = top.get("NextContinuationToken") or None
            if top.get("IsTruncated", "").strip().lower() != "true" or not token:
                return found, now

    def head(self, key: str, *, checksum: bool = False) -> Reply:
        headers = {"x-amz-checksum-mode": "ENABLED"} if checksum else None
        return self.request("HEAD", key, headers=headers, what=f"HEAD {key}")

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


def _local(tag: str) -> str:
    """An XML tag without its namespace (``{http://s3.amazonaws.com/doc/2006-03-01/}Key``)."""
    return tag.rsplit("}", 1)[-1]


def _texts(element) -> dict[str, str]:
    """The text of each child of ``element``, by its tag without the namespace."""
    return {_local(e.tag): (e.text or "") for e in element}


def _iso_time(value: str | None) -> float | None:
    """S3's ``LastModified`` (ISO 8601, ``Z``) in seconds since the epoch."""
    if not value:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


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
