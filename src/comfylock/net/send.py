"""Sending one request: retries with backoff and ``Retry-After``, redirects decided hop by
hop, tokens attached per hop, and the errors a status means.

* 429, 5xx, timeouts and connection errors are retried with exponential backoff and full
  jitter, honouring ``Retry-After`` (seconds or an HTTP date, capped). The sleep function and
  the random source are injectable (``Retry``) so tests never wait.
* httpx is imported inside functions: this module is cheap to import.
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

import msgspec

from ..basics.redact import redact
from ..basics.units import count
from ..errors import AuthError, NoNetworkError, NotFoundError, RemoteError
from .endpoints import TOKEN_ENV, Endpoints, auth_headers, origin, service_for
from .limits import API_MAX_BYTES, read_capped
from .reach import no_network_reason
from .urlpolicy import check_url

if TYPE_CHECKING:
    import httpx

    from ..settings import Settings

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_REDIRECTS",
    "Retry",
    "auth_error",
    "error_detail",
    "make_client",
    "not_found",
    "parse_retry_after",
    "redirect_target",
    "send",
    "status_text",
]

DEFAULT_TIMEOUT = 30.0
MAX_REDIRECTS = 8
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))


def status_text(status: int, reason: str | None = None) -> str:
    """``429 Too Many Requests``: the standard phrase, whatever casing the server used."""
    from http import HTTPStatus

    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = reason or ""
    return f"{status} {phrase}".strip()


def auth_error(
    method: str, url: str, status: int, endpoints: Endpoints, detail: str = ""
) -> AuthError:
    """A 401/403 with a hint naming the token variable of the URL's service."""
    service = service_for(url, endpoints)
    var = TOKEN_ENV.get(service or "")
    extra = f" ({detail})" if detail else ""
    message = redact(f"{method} {url}: {status_text(status)}{extra}")
    if var and not os.environ.get(var):
        hint = f"set {var} to a token of your account and run again"
    elif var:
        hint = f"{var} was refused: check it is valid and has access (gated repos need their terms accepted)"
    else:
        hint = "this server refused access; comfylock only sends tokens to Civitai and Hugging Face"
    return AuthError(message, hint=hint)


def not_found(method: str, url: str, detail: str = "") -> NotFoundError:
    extra = f" ({detail})" if detail else ""
    return NotFoundError(
        redact(f"{method} {url}: 404 Not Found{extra}"), hint="check the name, id or URL"
    )


class Retry(msgspec.Struct, frozen=True, kw_only=True):
    """Retry policy. ``sleep`` and ``rng`` are injectable so tests never wait."""

    tries: int = 5
    backoff: float = 0.5  # first delay; doubles each retry
    max_backoff: float = 30.0
    max_retry_after: float = 120.0  # never sleep longer than this on a server's say-so
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random

    @classmethod
    def from_env(cls) -> Retry:
        """Defaults, tunable for slow mirrors or fast tests: COMFYLOCK_RETRIES (tries) and
        COMFYLOCK_RETRY_BACKOFF (first delay in seconds)."""
        tries = os.environ.get("COMFYLOCK_RETRIES")
        backoff = os.environ.get("COMFYLOCK_RETRY_BACKOFF")
        return cls(
            tries=max(1, int(tries)) if tries and tries.isdigit() else 5,
            backoff=float(backoff) if backoff and backoff.replace(".", "", 1).isdigit() else 0.5,
        )

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        hinted = parse_retry_after(retry_after)
        if hinted is not None:
            return min(hinted, self.max_retry_after)
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self.rng())  # jitter, never zero


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def make_client(
    settings: Settings | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> httpx.Client:
    """An httpx.Client for comfylock: no automatic redirects (``send`` decides), a UA, pooled.

    ``settings`` is accepted so callers pass what they have; nothing in it is needed yet.
    """
    import httpx

    from .. import __version__

    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=False,
        headers={"User-Agent": f"comfylock/{__version__}"},
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
    )


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    endpoints: Endpoints | None = None,
    headers: Mapping[str, str] | None = None,
    follow: Literal["all", "same-origin", "none"] = "all",
    retry: Retry | None = None,
    stream: bool = False,
    allow_http: Sequence[str] | None = None,
) -> httpx.Response:
    """Send one request with retries and redirect handling; return the final response.

    Any status other than 429/5xx is returned as is (the caller interprets 4xx). With
    ``follow="same-origin"`` a redirect to another origin is returned, not followed (the
    Hugging Face CDN hop). The body is read unless ``stream`` (then the caller closes the
    response; else at most ``API_MAX_BYTES`` are read). Tokens go only to their own
    service. A hop to another host must pass the https-only rule (``check_url`` with
    ``allow_http``): plain http only to loopback and allowed hosts.
    """
    endpoints = endpoints or Endpoints.from_env()
    retry = retry or Retry.from_env()
    start = origin(url)
    for _ in range(MAX_REDIRECTS + 1):
        response = _send_retrying(client, method, url, endpoints, headers, retry, stream)
        location = response.headers.get("location")
        if not (response.is_redirect and location) or follow == "none":
            return response
        target = redirect_target(method, url, location)
        if follow == "same-origin" and origin(target) != origin(url):
            return response
        response.close()
        if origin(target) != start:  # leaving the configured origin: the https-only rule
            check_url(target, allow_http or ())
        if response.status_code == 303:
            method = "GET"
        url = target
    raise RemoteError(redact(f"{method} {url}: more than {MAX_REDIRECTS} redirects"))


def redirect_target(method: str, url: str, location: str) -> str:
    """The absolute target of a redirect; a Location no URL parser accepts is a RemoteError."""
    try:
        target = urljoin(url, location)
        urlsplit(target).port  # noqa: B018 — raises ValueError on a bad port or IPv6 host
    except ValueError:
        raise RemoteError(redact(f"{method} {url}: redirect to an invalid URL")) from None
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        raise RemoteError(redact(f"{method} {url}: redirect to an invalid URL"))
    return target


def _send_retrying(
    client: httpx.Client,
    method: str,
    url: str,
    endpoints: Endpoints,
    headers: Mapping[str, str] | None,
    retry: Retry,
    stream: bool = False,
) -> httpx.Response:
    import httpx

    problem = ""
    for attempt in range(1, retry.tries + 1):
        all_headers = {**(headers or {}), **auth_headers(url, endpoints)}
        retry_after = None
        try:
            request = client.build_request(method, url, headers=all_headers)
            response = client.send(request, stream=True)
            if not stream and response.status_code not in RETRY_STATUSES:
                body = read_capped(response, API_MAX_BYTES, redact(f"{method} {url}"))
                response._content = body  # NOTE: what httpx's own read() sets, but bounded
        except httpx.UnsupportedProtocol:
            raise RemoteError(redact(f"{method} {url}: unsupported URL scheme")) from None
        except httpx.TimeoutException:
            problem = "timed out"
        except httpx.TransportError as exc:
            why = no_network_reason(exc)
            if why is not None:  # retrying a network that is not there only costs time
                host = urlsplit(url).hostname or url
                raise NoNetworkError(
                    redact(f"{method} {url}: cannot reach {host}: {why}"),
                    hint="check the connection (`comfylock doctor` tests it)",
                ) from None
            problem = f"connection failed ({type(exc).__name__})"
        except httpx.InvalidURL as exc:
            raise RemoteError(redact(f"{method} {url}: invalid URL ({exc})")) from None
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            problem = status_text(response.status_code, response.reason_phrase)
            retry_after = response.headers.get("retry-after")
            response.close()
        if attempt < retry.tries:
            retry.sleep(retry.delay(attempt, retry_after))
    raise RemoteError(
        redact(f"{method} {url}: {problem} after {count(retry.tries, 'try', 'tries')}"),
        hint="the network is up but the service is busy or down; wait a little and run again",
    )


def error_detail(response: httpx.Response) -> str:
    """A short server message from a JSON error body (``{"error": ..., "message": ...}``)."""
    try:
        data = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return ""
    if isinstance(data, dict):
        parts = [str(data[k]) for k in ("error", "message") if isinstance(data.get(k), str)]
        return redact(": ".join(parts))[:200]
    return ""
