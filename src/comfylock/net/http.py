"""JSON over HTTP for the service clients: the response cache, single flight, ``404`` as an
answer, lenient decoding of API shapes, and the ``ServiceClient`` base.

* 404 and 410 are answers, not failures: ``request_json`` returns ``None`` for them (and
  caches that negative answer for a shorter time). Code that needs to *fail* on a missing
  thing raises ``NotFoundError`` (a ``RemoteError``, exit 3).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import msgspec

from ..basics.redact import redact
from ..errors import RemoteError
from .endpoints import Endpoints
from .send import Retry, auth_error, error_detail, send, status_text

if TYPE_CHECKING:
    import httpx

    from .httpcache import HttpCache

__all__ = [
    "TTL_METADATA",
    "TTL_NEGATIVE",
    "TTL_SEARCH",
    "ServiceClient",
    "SingleFlight",
    "convert",
    "fetch_document",
    "request_json",
]

T = TypeVar("T")

TTL_SEARCH = 24 * 3600.0
TTL_METADATA = 7 * 24 * 3600.0
TTL_NEGATIVE = 3600.0  # a 404 may become a 200 when someone publishes; ask again sooner


class SingleFlight:
    """Identical requests in flight at the same time share one network round trip."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, Future] = {}
        self.waiting = 0  # callers currently waiting on someone else's request (for tests)

    def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        with self._lock:
            future = self._calls.get(key)
            leader = future is None
            if leader:
                future = self._calls[key] = Future()
            else:
                self.waiting += 1
        if not leader:
            try:
                return future.result()
            finally:
                with self._lock:
                    self.waiting -= 1
        try:
            result = fn()
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            with self._lock:
                self._calls.pop(key, None)


_INFLIGHT = SingleFlight()


def request_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    endpoints: Endpoints | None = None,
    cache: HttpCache | None = None,
    kind: str = "metadata",
    ttl: float = TTL_METADATA,
    refresh: bool = False,
    retry: Retry | None = None,
    inflight: SingleFlight | None = None,
) -> Any:
    """Fetch JSON: the decoded body on 2xx, ``None`` on 404/410.

    Raises:
        AuthError: 401/403 (hint names the token variable of the URL's service).
        RemoteError: other 4xx, invalid JSON, or 429/5xx/timeouts after every retry.

    With ``cache``, a fresh entry (younger than ``ttl``; 404s at most ``TTL_NEGATIVE``) is
    returned without a request; ``refresh=True`` skips reading but still writes.
    """
    endpoints = endpoints or Endpoints.from_env()
    if cache is not None and not refresh:
        hit = cache.get(method, url, ttl=ttl)
        if hit is not None:
            return _decode_cached(hit.status, hit.body)

    def fetch() -> Any:
        # NOTE: the cache is asked again by the one caller that sends: another caller may
        # have written it between our miss above and this call (a check-then-act race)
        if cache is not None and not refresh:
            hit = cache.get(method, url, ttl=ttl, count=False)
            if hit is not None:
                return _decode_cached(hit.status, hit.body)
        response = send(
            client,
            method,
            url,
            endpoints=endpoints,
            retry=retry,
            headers={"Accept": "application/json"},
        )
        status = response.status_code
        if status in (404, 410):
            if cache is not None:
                cache.put(method, url, 404, b"", kind=kind)
            return None
        if status in (401, 403):
            raise auth_error(method, url, status, endpoints, error_detail(response))
        if not 200 <= status < 300:
            detail = error_detail(response)
            raise RemoteError(
                redact(
                    f"{method} {url}: {status_text(status, response.reason_phrase)}"
                    + (f" ({detail})" if detail else "")
                )
            )
        try:
            data = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            raise RemoteError(
                redact(f"{method} {url}: the answer is not JSON"), hint="is the base URL right?"
            ) from None
        if cache is not None:
            cache.put(method, url, status, response.content, kind=kind)
        return data

    key = (method.upper(), redact(url), refresh)
    return (inflight or _INFLIGHT).run(key, fetch)


def convert(data: Any, type: type[T], what: str) -> T:
    """``msgspec.convert`` leniently (numbers as strings are fine); a wrong shape is a
    ``RemoteError`` naming ``what``, not a crash."""
    try:
        return msgspec.convert(data, type, strict=False)
    except msgspec.ValidationError as exc:
        raise RemoteError(
            f"unexpected answer from {what}: {exc}", hint="is the base URL right?"
        ) from None


def fetch_document(client: httpx.Client | None, url: str, **kwargs: Any) -> Any:
    """A JSON data file (model list, node map) from a URL, a ``file://`` URL or a local path.

    Local files are read directly (a team's checked-in copy, offline use); URLs go through
    ``request_json`` with ``kwargs``. Missing local files raise ``InputError``.
    """
    from pathlib import Path
    from urllib.request import url2pathname

    from ..errors import InputError

    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        if client is None:
            raise RemoteError(f"cannot fetch {redact(url)} offline")
        return request_json(client, "GET", url, **kwargs)
    path = Path(url2pathname(urlsplit(url).path)) if scheme == "file" else Path(url).expanduser()
    try:
        return msgspec.json.decode(path.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except msgspec.DecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from None


def _decode_cached(status: int, body: bytes) -> Any:
    if status in (404, 410) or not body:
        return None
    return msgspec.json.decode(body)


class ServiceClient:
    """What every service client shares: one pooled httpx client, the endpoints, the response
    cache, the retry policy, and ``--refresh``. Subclasses add the service's calls."""

    def __init__(
        self,
        client: httpx.Client | None,
        endpoints: Endpoints | None = None,
        cache: HttpCache | None = None,
        *,
        retry: Retry | None = None,
        refresh: bool = False,
    ) -> None:
        self._client = client
        self.endpoints = endpoints or Endpoints.from_env()
        self._cache = cache
        self._retry = retry
        self._refresh = refresh

    def _get_json(self, url: str, *, kind: str, ttl: float) -> Any:
        """GET JSON through the cache and retries; None for a 404 (absence is an answer)."""
        if self._client is None:
            return None
        return request_json(
            self._client,
            "GET",
            url,
            endpoints=self.endpoints,
            cache=self._cache,
            kind=kind,
            ttl=ttl,
            refresh=self._refresh,
            retry=self._retry,
        )
