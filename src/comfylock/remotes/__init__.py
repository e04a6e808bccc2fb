"""Team remotes (SPEC §8): an object store or a static mirror holding blobs in the store's layout.

A remote is ``s3://BUCKET/PREFIX`` (any S3-compatible service, through boto3) or
``https://HOST/PREFIX`` (a read-only mirror: nginx, a CDN), with blobs at
``<prefix>/blobs/sha256/<2 hex>/<64 hex>``. Remotes come from ``comfylock.toml``
``[[remote]]`` or ``COMFYLOCK_REMOTE`` and never from the lock. Credentials come from the
environment's standard chain and are never written; a presigned URL is a secret and is
shown only through ``redact``. boto3 and httpx are imported only when a remote is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import msgspec

from ..config import RemoteConfig
from ..constants import ENV_REMOTE
from ..errors import UsageError

if TYPE_CHECKING:
    from ..store.hashing import Expected
    from .lease import Lease

__all__ = [
    "Remote",
    "RemoteSpec",
    "blob_key",
    "open_remote",
    "remote_specs",
]


class RemoteSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A remote as configured: where it is and whether ``push``/``sync --push`` may write."""

    name: str
    url: str
    push: bool = False

    @property
    def kind(self) -> str:
        return "s3" if self.url.startswith("s3://") else "http"


def blob_key(prefix: str, sha256: str) -> str:
    """The object key (or URL path) of a blob under ``prefix``: the store's own layout."""
    head = prefix.strip("/")
    tail = f"blobs/sha256/{sha256[:2]}/{sha256}"
    return f"{head}/{tail}" if head else tail


class Remote:
    """What sync and push need from a remote. ``has`` raises RemoteError when it is down."""

    spec: RemoteSpec

    @property
    def name(self) -> str:
        return self.spec.name

    def has(self, sha256: str, size: int | None = None) -> bool:
        """Whether the remote holds the blob. False also when what it holds under the blob's
        key is proven to be other bytes (another size; on S3 a sha256 the remote keeps
        that is not the key's): such a copy is never fetched, and ``push`` replaces it."""
        raise NotImplementedError

    def fetch_url(self, sha256: str) -> str:
        """A URL aria2/httpx can GET the blob from (a presigned one for S3: a secret)."""
        raise NotImplementedError

    def upload(self, path: Path, expected: Expected, progress: Callable[[int], None]) -> None:
        """Send the store blob at ``path``, verified by the read that sends it
        (``hashing.VerifyingReader``): IntegrityError, and nothing left on the remote, when
        its bytes are not ``expected``."""
        raise UsageError(
            f"remote {self.name!r} ({self.spec.url}) is a read-only mirror",
            hint="push to an s3:// remote; fill a mirror by copying a store's blobs/ into it",
        )

    def ping(self) -> str:
        """One request that proves the remote answers; returns a short description."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    # --- claims of a cold farm (``remotes/lease.py``); a read-only mirror has none --------

    supports_leases = False

    def leases(self) -> tuple[dict[str, tuple[str, float | None]], float | None]:
        """({sha256: (etag, last modified)} of every lease now on the remote, the
        server's time). RemoteError when it cannot be asked."""
        return {}, None

    def read_lease(self, sha256: str) -> Lease | None:
        """The lease on ``sha256`` (None: there is none)."""
        return None

    def claim(self, sha256: str, holder: str, seconds: int) -> Lease | None:
        """Write a new lease on ``sha256`` unless one exists (None: another holds it)."""
        return None

    def take_over(self, old: Lease, holder: str, seconds: int) -> Lease | None:
        """Replace ``old`` (expired, or ours to renew) unless it changed meanwhile."""
        return None

    def release(self, lease: Lease) -> None:
        """Delete ``lease`` unless it changed meanwhile (best effort: it expires anyway)."""


def _check_url(name: str, url: str, allow_http: Sequence[str]) -> str:
    from ..net.urlpolicy import check_url

    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc or parts.query or parts.fragment or "@" in parts.netloc:
            raise UsageError(
                f"remote {name!r}: {url!r} is not s3://BUCKET/PREFIX",
                hint="write the bucket and an optional prefix, nothing else",
            )
        return url.rstrip("/")
    if parts.scheme in ("https", "http"):
        if parts.username or parts.password or parts.query:
            raise UsageError(
                f"remote {name!r}: a mirror URL may not carry credentials or a query",
                hint="credentials never go in comfylock.toml; serve the mirror publicly",
            )
        return check_url(url, allow_http).rstrip("/")
    raise UsageError(
        f"remote {name!r}: unsupported URL scheme {parts.scheme or url!r}",
        hint="use s3://BUCKET/PREFIX or https://HOST/PREFIX",
    )


def remote_specs(
    configured: Sequence[RemoteConfig], env: Mapping[str, str], allow_http: Sequence[str] = ()
) -> tuple[RemoteSpec, ...]:
    """The remotes in use: ``COMFYLOCK_REMOTE`` (``[NAME=]URL``, comma-separated) first, then
    comfylock.toml's ``[[remote]]`` in file order. An S3 remote from the environment may be
    pushed to; a mirror never can."""
    specs: list[RemoteSpec] = []
    raw = env.get(ENV_REMOTE, "").strip()
    for i, item in enumerate(p.strip() for p in raw.split(",") if p.strip()):
        name, sep, url = item.partition("=")
        if not sep or "://" in name:
            name, url = f"env{i + 1}" if i else "env", item
        specs.append(RemoteSpec(name=name, url=url, push=url.startswith("s3://")))
    specs += [RemoteSpec(name=r.name, url=r.url, push=r.push) for r in configured]
    seen: set[str] = set()
    out = []
    for spec in specs:
        if spec.name in seen:
            continue  # the environment's remote overrides a configured one of that name
        seen.add(spec.name)
        if spec.push and spec.kind != "s3":
            raise UsageError(
                f"remote {spec.name!r}: push = true, but {spec.url} is a read-only mirror",
                hint="only s3:// remotes are pushed to; set push = false",
            )
        out.append(msgspec.structs.replace(spec, url=_check_url(spec.name, spec.url, allow_http)))
    return tuple(out)


def warm(specs: Sequence[RemoteSpec]) -> None:
    """Start, on a thread, what asking these remotes will import (botocore's signer for an
    S3 remote): called by a sync that will download, before it plans."""
    if any(spec.kind == "s3" for spec in specs):
        from .s3wire import warm_signer

        warm_signer()


def open_remote(spec: RemoteSpec, allow_http: Sequence[str] = ()) -> Remote:
    """A client for ``spec`` (imports boto3 or httpx now, not before)."""
    if spec.kind == "s3":
        from .s3 import S3Remote

        return S3Remote(spec, allow_http)
    from .mirror import MirrorRemote

    return MirrorRemote(spec, allow_http)
