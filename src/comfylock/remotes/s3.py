"""An ``s3://BUCKET/PREFIX`` remote on any S3-compatible service.

Two ways to talk to it, one behaviour. Where the environment alone says how (keys, region,
endpoint in ``AWS_*`` variables, no proxy: a farm's or a CI's usual setup) the requests a
sync makes are presigned with botocore's signer and sent over kept-alive connections
(``s3wire``: no boto3 client and no service model, ~0.15 s of CPU saved per process, and
the signer's import overlaps the plan); a cold farm's listing of leases is boto3's either
way. Otherwise boto3, because it *is* the
standard credential chain (``AWS_PROFILE`` and ``~/.aws``, SSO, web identity, container and
instance roles) and knows proxies. Uploads above ``MULTIPART_THRESHOLD`` always use boto3's
transfer manager (multipart, parallel). Both honour ``AWS_ENDPOINT_URL`` for MinIO, R2,
Ceph and GCS, and both keep the leases of a cold farm (``remotes/lease.py``).
Error messages name the bucket and key, never a credential or a signature.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..basics.redact import redact
from ..errors import AuthError, IntegrityError, RemoteError
from . import Remote, RemoteSpec, blob_key
from .lease import Lease, decode_body, encode_body, lease_key

if TYPE_CHECKING:
    from ..store.hashing import Expected

__all__ = ["MULTIPART_THRESHOLD", "PRESIGN_SECONDS", "S3Remote", "held_digest"]

PRESIGN_SECONDS = 6 * 3600  # long enough for a slow 20 GB download, short enough to expire
LEASE_FALLBACK_SECONDS = 60  # a lease body that is not ours to read: held this long
MULTIPART_THRESHOLD = 64 * 1024 * 1024
_CRED_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run on a machine "
    "with an instance role); for MinIO, R2 or Ceph also set AWS_ENDPOINT_URL"
)


class S3Remote(Remote):
    supports_leases = True

    def __init__(self, spec: RemoteSpec, allow_http: Sequence[str] = ()) -> None:
        from .s3wire import S3Wire

        parts = urlsplit(spec.url)
        self.spec = spec
        self._allow_http = tuple(allow_http)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self._client = None
        self._lock = threading.Lock()
        self._presigned: dict[str, tuple[str, float]] = {}  # sha256 -> (URL, made at)
        self._wire = S3Wire.from_env(self.bucket, os.environ)  # None: boto3 for everything

    def _s3(self):
        with self._lock:
            if self._client is None:
                self._client = _make_client()
            return self._client

    def _key(self, sha256: str) -> str:
        return blob_key(self.prefix, sha256)

    def has(self, sha256: str, size: int | None = None) -> bool:
        if self._wire is not None:
            from .s3wire import head_fields

            reply = self._wire.head(self._key(sha256), checksum=True)
            if reply.status == 404:
                return False
            self._wire.raise_for(reply, f"HEAD {self._key(sha256)}")
            return held_digest(head_fields(reply), size) in (None, sha256)
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
        """A presigned GET of the blob: the same one for the same blob from this client
        while it has most of its life left (a download started before the plan and the
        fetch the plan makes then name one URL: ``sync/early.py``). Kept in memory only."""
        with self._lock:
            made = self._presigned.get(sha256)
        if made is not None and time.monotonic() - made[1] < PRESIGN_SECONDS / 2:
            return made[0]
        url = self._presign(sha256)
        with self._lock:
            self._presigned[sha256] = (url, time.monotonic())
        return url

    def _presign(self, sha256: str) -> str:
        from ..net.urlpolicy import check_url

        if self._wire is not None:
            url = self._wire.presign("GET", self._key(sha256), expires=PRESIGN_SECONDS)
            return check_url(url, self._allow_http)
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
        if self._wire is not None and expected.size < MULTIPART_THRESHOLD:
            self._put_blob(path, expected, progress)
            return
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

    def _put_blob(self, path: Path, expected: Expected, progress) -> None:
        """One PUT, its body read once, in order, through ``VerifyingReader`` (the read that
        would send the last wrong byte raises instead, so no object is made), with the
        proofs ``held_digest`` reads: S3's own sha256 check and the digest as metadata."""
        from ..store.hashing import VerifyingReader
        from .s3wire import sha256_header

        key = self._key(expected.sha256)
        headers = {
            "Content-Type": "application/octet-stream",
            "x-amz-sdk-checksum-algorithm": "SHA256",  # as boto3 sends it with the value
            "x-amz-checksum-sha256": sha256_header(expected.sha256),
            f"x-amz-meta-{_META_SHA256}": expected.sha256,
        }
        with VerifyingReader(path, expected) as body:
            reply = self._wire.request(
                "PUT", key, headers=headers, body=_Counting(body, progress), size=expected.size
            )
        self._wire.raise_for(reply, f"upload {key}")

    def ping(self) -> str:
        if self._wire is not None:
            params = {"list-type": "2", "prefix": self.prefix, "max-keys": "1"}
            self._wire.raise_for(self._wire.request("GET", "", params=params), "list")
            return f"bucket {self.bucket} answers"
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
        if self._wire is not None:
            self._wire.close()

    # --- leases (``remotes/lease.py``) --------------------------------------------------

    def _lease_key(self, sha256: str) -> str:
        return lease_key(self.prefix, sha256)

    def leases(self) -> tuple[dict[str, tuple[str, float | None]], float | None]:
        where = lease_key(self.prefix, "")
        if self._wire is not None:
            found, now = self._wire.listing(where, "list leases")
        else:
            found, now = self._boto_list(where)
        return {k[len(where) :]: (etag, modified) for k, etag, modified in found}, now

    def read_lease(self, sha256: str) -> Lease | None:
        key = self._lease_key(sha256)
        if self._wire is not None:
            from .s3wire import http_time

            reply = self._wire.request("GET", key, what=f"read lease {sha256[:12]}")
            if reply.status == 404:
                return None
            self._wire.raise_for(reply, f"read lease {sha256[:12]}")
            body, etag = reply.body, reply.headers.get("etag", "")
            modified = http_time(reply.headers.get("last-modified"))
        else:
            got = self._boto_call("get_object", f"read lease {sha256[:12]}", Key=key)
            if got is None:
                return None
            body, etag = got["Body"].read(), got.get("ETag", "")
            modified = got["LastModified"].timestamp() if got.get("LastModified") else None
        decoded = decode_body(body)
        holder, seconds = decoded if decoded is not None else ("", LEASE_FALLBACK_SECONDS)
        return Lease(
            sha256=sha256, etag=etag, modified=modified or 0.0, seconds=seconds, holder=holder
        )

    def claim(self, sha256: str, holder: str, seconds: int) -> Lease | None:
        return self._write_lease(sha256, holder, seconds, {"If-None-Match": "*"})

    def take_over(self, old: Lease, holder: str, seconds: int) -> Lease | None:
        return self._write_lease(old.sha256, holder, seconds, {"If-Match": old.etag})

    def release(self, lease: Lease) -> None:
        key = self._lease_key(lease.sha256)
        try:
            if self._wire is not None:
                self._wire.request("DELETE", key, headers={"If-Match": lease.etag})
            else:
                self._boto_call("delete_object", "release lease", Key=key, IfMatch=lease.etag)
        except RemoteError:
            pass  # it expires on its own

    def _write_lease(self, sha256: str, holder: str, seconds: int, condition) -> Lease | None:
        """PUT the lease under ``condition``; None when the condition fails (412: another
        machine's lease is there; 409: a conditional write raced this one; 404: gone)."""
        import time

        key, body = self._lease_key(sha256), encode_body(holder, seconds)
        what = f"lease {sha256[:12]}"
        if self._wire is not None:
            from .s3wire import server_time

            headers = {"Content-Type": "application/json", **condition}
            reply = self._wire.request("PUT", key, headers=headers, body=body, size=len(body))
            if reply.status in (404, 409, 412):
                return None
            self._wire.raise_for(reply, what)
            etag, now = reply.headers.get("etag", ""), server_time(reply)
        else:
            names = {"If-None-Match": "IfNoneMatch", "If-Match": "IfMatch"}
            extra = {names[k]: v for k, v in condition.items()}
            got = self._boto_call("put_object", what, Key=key, Body=body, **extra)
            if got is None:
                return None
            etag, now = got.get("ETag", ""), None
        modified = now if now is not None else time.time()
        return Lease(sha256=sha256, etag=etag, modified=modified, seconds=seconds, holder=holder)

    def _boto_call(self, method: str, what: str, **params):
        """A boto3 call on this bucket; None for 404/409/412 (absent, or a failed
        condition), RemoteError for the rest."""
        try:
            return getattr(self._s3(), method)(Bucket=self.bucket, **params)
        except Exception as exc:  # noqa: BLE001 — botocore's tree, mapped below
            if _status(exc) in (404, 409, 412) or _code(exc) in ("NoSuchKey", "404"):
                return None
            raise self._error(exc, what) from None

    def _boto_list(self, prefix: str):
        found, token, now = [], None, None
        while True:
            params = {"Prefix": prefix, **({"ContinuationToken": token} if token else {})}
            try:
                page = self._s3().list_objects_v2(Bucket=self.bucket, **params)
            except Exception as exc:  # noqa: BLE001
                raise self._error(exc, "list leases") from None
            from .s3wire import http_time

            now = http_time(page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date"))
            for item in page.get("Contents", []):
                modified = item.get("LastModified")
                found.append((item["Key"], item.get("ETag", ""), modified and modified.timestamp()))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return found, now


class _Counting:
    """A body that reports how many bytes were read (a push's progress)."""

    def __init__(self, inner, progress) -> None:
        self._inner, self._progress, self._done = inner, progress, 0

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._done += len(data)
        self._progress(self._done)
        return data


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
