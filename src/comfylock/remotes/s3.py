"""An ``s3://BUCKET/PREFIX`` remote on any S3-compatible service, through boto3.

boto3 because it *is* the standard credential chain (environment keys, ``AWS_PROFILE`` and
``~/.aws``, SSO, web identity, container and instance roles), honours ``AWS_ENDPOINT_URL``
for MinIO/R2/Ceph/GCS, presigns GET URLs for aria2, and its transfer manager does
multipart, parallel uploads. Its import (~0.3 s) is paid only when an S3 remote is used.
Error messages name the bucket and key, never a credential or a signature.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import AuthError, IntegrityError, RemoteError
from ..redact import redact
from . import Remote, RemoteSpec, blob_key

if TYPE_CHECKING:
    from ..store.hashing import Expected

__all__ = ["MULTIPART_THRESHOLD", "PRESIGN_SECONDS", "S3Remote", "held_digest"]

PRESIGN_SECONDS = 6 * 3600  # long enough for a slow 20 GB download, short enough to expire
MULTIPART_THRESHOLD = 64 * 1024 * 1024
_CRED_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run on a machine "
    "with an instance role); for MinIO, R2 or Ceph also set AWS_ENDPOINT_URL"
)


class S3Remote(Remote):
    def __init__(self, spec: RemoteSpec, allow_http: Sequence[str] = ()) -> None:
        parts = urlsplit(spec.url)
        self.spec = spec
        self._allow_http = tuple(allow_http)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self._client = None
        self._lock = threading.Lock()

    def _s3(self):
        with self._lock:
            if self._client is None:
                self._client = _make_client()
            return self._client

    def _key(self, sha256: str) -> str:
        return blob_key(self.prefix, sha256)

    def has(self, sha256: str, size: int | None = None) -> bool:
        try:
            # NOTE: the checksum rides on the same HEAD: proof costs no extra round trip.
            head = self._s3().head_object(
                Bucket=self.bucket, Key=self._key(sha256), ChecksumMode="ENABLED"
            )
        except Exception as exc:  # noqa: BLE001 — botocore's tree, mapped below
            if _status(exc) == 404:
                return False
            raise self._error(exc, f"HEAD {self._key(sha256)}") from None
        return held_digest(head, size) in (None, sha256)

    def fetch_url(self, sha256: str) -> str:
        from ..net.urlpolicy import check_url

        try:
            url = self._s3().generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._key(sha256)},
                ExpiresIn=PRESIGN_SECONDS,
            )
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "presign") from None
        # NOTE: a plain-http AWS_ENDPOINT_URL is allowed only for loopback / allow-http.
        return check_url(url, self._allow_http)

    def upload(self, path: Path, expected: Expected, progress: Callable[[int], None]) -> None:
        from boto3.s3.transfer import TransferConfig

        from ..store.hashing import VerifyingReader

        config = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_THRESHOLD,
            max_concurrency=8,
        )
        done = [0]
        guard = threading.Lock()

        def tick(n: int) -> None:
            with guard:
                done[0] += n
                progress(done[0])

        key = self._key(expected.sha256)
        # The proof a later HEAD compares (``held_digest``): S3's own sha256 of what it
        # received (a single PUT), and the digest as metadata (any upload, multipart too).
        extra = {
            "ContentType": "application/octet-stream",
            "Metadata": {_META_SHA256: expected.sha256},
            "ChecksumAlgorithm": "SHA256",
        }
        try:
            # NOTE: one sequential read feeds the upload and the hash; the read that would
            # hand out the last bytes raises IntegrityError when they are wrong, so the
            # last part is never sent and the transfer manager aborts the multipart upload.
            with VerifyingReader(path, expected) as body:
                self._s3().upload_fileobj(
                    body, self.bucket, key, ExtraArgs=extra, Config=config, Callback=tick
                )
        except IntegrityError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"upload {key}") from None

    def ping(self) -> str:
        try:
            self._s3().list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "list") from None
        return f"bucket {self.bucket} answers"

    def _error(self, exc: BaseException, what: str) -> RemoteError:
        where = f"remote {self.name!r} (s3://{self.bucket}/{self.prefix})"
        kind = type(exc).__name__
        if kind in ("NoCredentialsError", "PartialCredentialsError"):
            return AuthError(f"{where}: no AWS credentials found", hint=_CRED_HINT)
        status = _status(exc)
        if status in (401, 403):
            return AuthError(f"{where}: access denied ({what})", hint=_CRED_HINT)
        if kind in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
            return RemoteError(
                f"{where}: unreachable ({kind})",
                hint="check AWS_ENDPOINT_URL and the network, or remove the remote",
            )
        code = _code(exc)
        detail = f"{code} ({status})" if code else kind
        return RemoteError(
            redact(f"{where}: {what} failed: {detail}"), hint="check the bucket and its policy"
        )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


_META_SHA256 = "sha256"  # x-amz-meta-sha256, written by every upload


def held_digest(head: dict, size: int | None = None) -> str | None:
    """The sha256 of the bytes an object holds, as far as its HEAD proves it: S3's own
    full-object checksum (a single PUT; a multipart object's is a checksum of checksums,
    ``…-N``, and says nothing here), else the digest ``upload`` stored as metadata; "" when
    its size is not ``size`` (other bytes for sure); None when nothing tells (an object
    another tool put there: trusted until a sync finds its bytes wrong)."""
    if size is not None and head.get("ContentLength") not in (None, size):
        return ""
    checksum = head.get("ChecksumSHA256") or ""
    multipart = "-" in str(head.get("ETag", "")) or "-" in checksum
    if checksum and not multipart:
        import base64
        import binascii

        try:
            return base64.b64decode(checksum, validate=True).hex()
        except (binascii.Error, ValueError):
            return ""
    meta = (head.get("Metadata") or {}).get(_META_SHA256)
    return meta.strip().lower() if isinstance(meta, str) else None


def _make_client():
    import boto3
    from botocore.config import Config

    # NOTE: path-style addressing when an endpoint is given: MinIO, Ceph and loopback
    # servers rarely resolve bucket subdomains; AWS itself gets virtual-hosted style.
    style = "path" if os.environ.get("AWS_ENDPOINT_URL") else "auto"
    config = Config(
        s3={"addressing_style": style},
        signature_version="s3v4",  # what R2, MinIO and every AWS region accept
        # NOTE: status asks remotes too: a dead endpoint costs seconds, not a minute.
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
    )
    return boto3.session.Session().client("s3", config=config)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None) or {}
    return response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
