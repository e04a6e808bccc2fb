"""Kept-alive ``http.client`` connections to one host, one per thread: how a remote is asked
about many blobs (HEAD each) without httpx's import (~0.1 s of CPU) and a TLS context per
client. Used where no proxy stands between us and the host (``direct``): httpx and boto3
know proxies, this does not.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["Connections", "Reply", "direct"]

_PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_BLOCK = 256 * 1024  # an upload's read size (http.client's default is 8 KiB)


def direct(url: str, env: Mapping[str, str]) -> bool:
    """Whether requests to ``url`` go straight to it (no proxy configured, or loopback)."""
    host = urlsplit(url).hostname or ""
    return host in _LOOPBACK or not any(env.get(v) for v in _PROXIES)


class Reply:
    """One response: status, headers (lower-case names), body (read in full)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


class Connections:
    """``request`` on ``base`` (``scheme://host[:port]``) over this thread's connection."""

    def __init__(self, base: str, *, cafile: str | None = None, timeout: float = 60) -> None:
        parts = urlsplit(base)
        self._scheme, self._netloc = parts.scheme, parts.netloc
        self._cafile, self._timeout = cafile, timeout
        self._local = threading.local()
        self._all: list = []
        self._guard = threading.Lock()

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            import http.client

            if self._scheme == "https":
                import ssl

                context = ssl.create_default_context(cafile=self._cafile)
                conn = http.client.HTTPSConnection(
                    self._netloc, timeout=self._timeout, context=context, blocksize=_BLOCK
                )
            else:
                conn = http.client.HTTPConnection(
                    self._netloc, timeout=self._timeout, blocksize=_BLOCK
                )
            self._local.conn = conn
            with self._guard:
                self._all.append(conn)
        return conn

    def request(self, method: str, target: str, *, headers=None, body=None) -> Reply:
        """Send one request (``target``: path and query) and read the whole reply. A kept-
        alive connection the server dropped meanwhile is retried once on a new one (a body
        that is a stream cannot be replayed); OSError when the host cannot be reached."""
        for attempt in (0, 1):
            conn = self._conn()
            try:
                conn.request(method, target, body=body, headers=dict(headers or {}))
                resp = conn.getresponse()
                data = resp.read()
                return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
            except BaseException as exc:
                conn.close()  # NOTE: half a request may have been sent: this one is done
                self._local.conn = None
                stale = attempt == 0 and not hasattr(body, "read") and _is_stale(exc)
                if not stale:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()


def _is_stale(exc: BaseException) -> bool:
    """A kept-alive connection the server closed meanwhile (worth one new connection)."""
    import http.client

    return isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
