"""Plain URLs: check the scheme policy and learn a file's size without downloading it.

Why: a URL source in the lock must be fetchable later (https, or a host the team allowed for
plain http) and should not be a login page (``is_html``). ``probe`` asks with HEAD and, when a
server refuses HEAD or gives no size, with a one-byte ranged GET. Redirects are followed (a
Civitai download answers 302 to a signed storage URL); every hop obeys the scheme policy.
Tokens go only to their own service (``comfylock.net.http``) and are redacted from messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import msgspec

from ...basics.redact import redact
from ...errors import RemoteError
from ...net.endpoints import Endpoints
from ...net.send import MAX_REDIRECTS, Retry, auth_error, not_found, send
from ...net.urlpolicy import check_url, is_loopback

if TYPE_CHECKING:
    import httpx

__all__ = ["UrlInfo", "check_url", "is_loopback", "probe"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_RANGE = re.compile(r"^bytes\s+\d+-\d+/(\d+)$", re.I)


class UrlInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a URL leads to. ``final_url`` is redacted (signed URLs expire anyway)."""

    size: int | None
    final_url: str
    is_html: bool
    content_type: str | None = None
    sha256: str | None = None  # when the server publishes it (a 64-hex ETag / X-Linked-Etag)


def probe(
    client: httpx.Client,
    url: str,
    *,
    allow_http: Iterable[str] = (),
    endpoints: Endpoints | None = None,
    retry: Retry | None = None,
) -> UrlInfo:
    """Size, final URL and kind of a downloadable URL.

    Raises:
        InputError: the URL (or a redirect) breaks the scheme policy.
        NotFoundError: 404/410.  AuthError: 401/403 (hint names the right token).
        RemoteError: other failures after retries.
    """
    allow_http = tuple(allow_http)
    endpoints = endpoints or Endpoints.from_env()
    response, final = _follow(client, "HEAD", url, {}, allow_http, endpoints, retry)
    if response.status_code in (405, 403, 501) or _size(response) is None:
        ranged, ranged_final = _follow(
            client, "GET", url, {"Range": "bytes=0-0"}, allow_http, endpoints, retry
        )
        if ranged.status_code < 400 or response.status_code >= 400:
            response, final = ranged, ranged_final
    status = response.status_code
    if status in (404, 410):
        raise not_found(response.request.method, final)
    if status in (401, 403):
        raise auth_error(response.request.method, final, status, endpoints)
    if status >= 400:
        raise RemoteError(
            redact(f"{response.request.method} {final}: {status} {response.reason_phrase}")
        )
    content_type = (response.headers.get("content-type") or "").split(";")[
        0
    ].strip().lower() or None
    return UrlInfo(
        size=_size(response),
        final_url=redact(final),
        is_html=content_type in ("text/html", "application/xhtml+xml"),
        content_type=content_type,
        sha256=_published_sha256(response),
    )


def _follow(
    client, method, url, headers, allow_http, endpoints, retry
) -> tuple[httpx.Response, str]:
    """Follow redirects hop by hop so each hop is checked against the scheme policy."""
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url, allow_http)
        # NOTE: streamed and closed unread: a server that ignores Range must not send us the file.
        response = send(
            client,
            method,
            url,
            endpoints=endpoints,
            headers=headers,
            follow="none",
            retry=retry,
            stream=True,
        )
        response.close()
        location = response.headers.get("location")
        if not (response.is_redirect and location):
            return response, url
        url = urljoin(url, location)
    raise RemoteError(redact(f"{method} {url}: more than {MAX_REDIRECTS} redirects"))


def _published_sha256(response: httpx.Response) -> str | None:
    """The sha256 a server states for the file: ``X-Linked-Etag`` or an ETag of 64 hex."""
    for name in ("x-linked-etag", "etag"):
        value = (response.headers.get(name) or "").strip()
        value = value[2:] if value.startswith("W/") else value
        value = value.strip('"').lower()
        if _HEX64.match(value):
            return value
    return None


def _size(response: httpx.Response) -> int | None:
    if response.status_code == 206:
        match = _CONTENT_RANGE.match(response.headers.get("content-range", "").strip())
        return int(match.group(1)) if match else None
    if response.status_code == 200:
        try:
            return int(response.headers["content-length"])
        except (KeyError, ValueError):
            return None
    return None
