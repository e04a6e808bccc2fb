"""AWS Signature Version 4 for S3, in the query string (presigned URLs), with the standard
library only.

boto3 and botocore cost a sync ~0.3 s of CPU before the first byte (imports, then the S3
service model a client loads); a presigned URL is a handful of HMACs. Every S3 request the
sync path makes (HEAD, GET, a lease's PUT/GET/DELETE, a small blob's PUT) is a URL signed
here and sent with ``http.client`` (``remotes/s3wire.py``). The algorithm is AWS's published
one: a canonical request (method, path, sorted query, signed headers, ``UNSIGNED-PAYLOAD``),
hashed into a string to sign under the scope ``<date>/<region>/s3/aws4_request``, signed with
a key derived from the secret by four HMACs. The result is a secret until it expires:
shown only through ``redact``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

__all__ = ["Credentials", "encode_key", "presign"]

_ALGORITHM = "AWS4-HMAC-SHA256"


class Credentials:
    """An access key, its secret and an optional session token (never printed)."""

    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str | None = None) -> None:
        self.access_key, self.secret_key, self.token = access_key, secret_key, token or None

    def __repr__(self) -> str:
        return "Credentials(***)"


def _quote(value: str, safe: str = "") -> str:
    """RFC 3986 percent-encoding: only ``A-Z a-z 0-9 - _ . ~`` stay as they are."""
    return quote(value, safe=safe + "~")


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def presign(
    method: str,
    url: str,
    creds: Credentials,
    region: str,
    *,
    expires: int,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    now: float | None = None,
) -> str:
    """``url`` (scheme, host[:port], an already encoded path) signed for ``method``.

    ``headers``: the headers the request will carry that must be signed with it (``If-None-
    Match``, ``x-amz-*``); ``Host`` is always signed. ``params``: the operation's own query
    (``list-type=2``…). ``now``: the signing time (seconds since the epoch; tests).
    """
    parts = urlsplit(url)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    day = stamp[:8]
    scope = f"{day}/{region}/s3/aws4_request"
    signed = {"host": parts.netloc.lower()}
    signed.update({k.lower(): " ".join(str(v).split()) for k, v in (headers or {}).items()})
    names = ";".join(sorted(signed))
    query = dict(params or {})
    query.update(
        {
            "X-Amz-Algorithm": _ALGORITHM,
            "X-Amz-Credential": f"{creds.access_key}/{scope}",
            "X-Amz-Date": stamp,
            "X-Amz-Expires": str(expires),
            "X-Amz-SignedHeaders": names,
        }
    )
    if creds.token:
        query["X-Amz-Security-Token"] = creds.token
    canonical_query = "&".join(sorted(f"{_quote(k)}={_quote(v)}" for k, v in query.items()))
    request = "\n".join(
        [
            method.upper(),
            parts.path or "/",
            canonical_query,
            "".join(f"{k}:{signed[k]}\n" for k in sorted(signed)),
            names,
            "UNSIGNED-PAYLOAD",
        ]
    )
    to_sign = "\n".join(
        [_ALGORITHM, stamp, scope, hashlib.sha256(request.encode("utf-8")).hexdigest()]
    )
    key = _sign(f"AWS4{creds.secret_key}".encode(), day)
    for part in (region, "s3", "aws4_request"):
        key = _sign(key, part)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    base = f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"
    return f"{base}?{canonical_query}&X-Amz-Signature={signature}"


def encode_key(key: str) -> str:
    """An object key as it goes in a URL path (``/`` kept, everything else encoded)."""
    return _quote(key, safe="/")
