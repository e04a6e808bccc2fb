"""An ``https://HOST/PREFIX`` remote: a read-only mirror (nginx, a CDN) of the store's layout.

Asked with HEAD, fetched with GET like any source. Plain http only for loopback and
``allow-http`` hosts (SPEC §6); no token is ever sent to a mirror.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from ..errors import AuthError, RemoteError
from ..redact import redact
from . import Remote, RemoteSpec, blob_key

__all__ = ["MirrorRemote"]


class MirrorRemote(Remote):
    def __init__(self, spec: RemoteSpec, allow_http: Sequence[str] = ()) -> None:
        parts = urlsplit(spec.url)
        self.spec = spec
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path.strip("/")
        self._allow_http = tuple(allow_http)
        self._client = None
        self._lock = threading.Lock()

    def _http(self):
        with self._lock:
            if self._client is None:
                import httpx

                timeout = httpx.Timeout(15, connect=5)  # status asks too: fail fast
                self._client = httpx.Client(follow_redirects=False, timeout=timeout)
            return self._client

    def fetch_url(self, sha256: str) -> str:
        return f"{self._base}/{blob_key(self._prefix, sha256)}"

    def has(self, sha256: str, size: int | None = None) -> bool:
        import httpx

        url = self.fetch_url(sha256)
        try:
            resp = self._http().head(url)
        except httpx.HTTPError as exc:
            raise RemoteError(
                f"remote {self.name!r} ({redact(self.spec.url)}): unreachable ({type(exc).__name__})",
                hint="check the mirror, or remove it from comfylock.toml / COMFYLOCK_REMOTE",
            ) from None
        if resp.status_code in (401, 403):
            raise AuthError(
                f"remote {self.name!r}: {resp.status_code} on {redact(url)}",
                hint="a mirror must be readable without credentials",
            )
        if resp.status_code == 404 or resp.status_code == 410:
            return False
        if resp.status_code >= 400:
            raise RemoteError(f"remote {self.name!r}: HTTP {resp.status_code} on {redact(url)}")
        # 2xx, or a redirect the downloader follows hop by hop (checked there); another size
        # is other bytes for sure: never fetched from here.
        length = resp.headers.get("Content-Length") if resp.status_code == 200 else None
        return size is None or length is None or length.strip() == str(size)

    def ping(self) -> str:
        import httpx

        try:
            resp = self._http().head(f"{self._base}/{self._prefix}/".rstrip("/") + "/")
        except httpx.HTTPError as exc:
            raise RemoteError(
                f"remote {self.name!r} ({redact(self.spec.url)}): unreachable ({type(exc).__name__})",
                hint="check the mirror's URL and that it is running",
            ) from None
        return f"HTTP {resp.status_code}"

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
