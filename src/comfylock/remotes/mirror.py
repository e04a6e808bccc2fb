"""An ``https://HOST/PREFIX`` remote: a read-only mirror (nginx, a CDN) of the store's layout.

Asked with HEAD, fetched with GET like any source. Plain http only for loopback and
``allow-http`` hosts (SPEC §6); no token is ever sent to a mirror. The HEADs go over kept-
alive ``http.client`` connections (``keepalive``) when no proxy stands in the way (httpx,
which knows proxies, otherwise): its import and TLS set-up cost a sync ~0.1 s of CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from ..basics.redact import redact
from ..errors import AuthError, RemoteError
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
        self._direct = None  # keepalive.Connections, when nothing proxies the mirror

    def _http(self):
        with self._lock:
            if self._client is None:
                import httpx

                timeout = httpx.Timeout(15, connect=5)  # status asks too: fail fast
                self._client = httpx.Client(follow_redirects=False, timeout=timeout)
            return self._client

    def fetch_url(self, sha256: str) -> str:
        return f"{self._base}/{blob_key(self._prefix, sha256)}"

    def _head(self, url: str) -> tuple[int, dict[str, str]]:
        """(status, lower-case headers) of a HEAD on ``url``; RemoteError if unreachable."""
        import os

        from .keepalive import Connections, direct

        with self._lock:
            if self._direct is None and direct(url, os.environ):
                self._direct = Connections(self._base, timeout=15)
            conns = self._direct
        try:
            if conns is not None:
                reply = conns.request("HEAD", url[len(self._base) :] or "/")
                return reply.status, reply.headers
            resp = self._http().head(url)
            return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}
        except Exception as exc:  # noqa: BLE001 — OSError, httpx's transport errors
            if not _is_unreachable(exc):
                raise
            raise RemoteError(
                f"remote {self.name!r} ({redact(self.spec.url)}): unreachable ({type(exc).__name__})",
                hint="check the mirror, or remove it from comfylock.toml / COMFYLOCK_REMOTE",
            ) from None

    def has(self, sha256: str, size: int | None = None) -> bool:
        url = self.fetch_url(sha256)
        status, headers = self._head(url)
        if status in (401, 403):
            raise AuthError(
                f"remote {self.name!r}: {status} on {redact(url)}",
                hint="a mirror must be readable without credentials",
            )
        if status == 404 or status == 410:
            return False
        if status >= 400:
            raise RemoteError(f"remote {self.name!r}: HTTP {status} on {redact(url)}")
        # 2xx, or a redirect the downloader follows hop by hop (checked there); another size
        # is other bytes for sure: never fetched from here.
        length = headers.get("content-length") if status == 200 else None
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
            if self._direct is not None:
                self._direct.close()
                self._direct = None


def _is_unreachable(exc: BaseException) -> bool:
    """A transport failure (refused, reset, timed out, TLS) rather than a bug."""
    if isinstance(exc, OSError):
        return True
    import http.client

    if isinstance(exc, http.client.HTTPException):
        return True
    import sys

    httpx = sys.modules.get("httpx")  # NOTE: loaded only if the proxied path ran
    return httpx is not None and isinstance(exc, httpx.HTTPError)
