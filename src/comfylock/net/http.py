"""The one way comfylock talks HTTP: endpoints, tokens, retries, redirects, caching, redaction.

Why one module: every source (Civitai, Hugging Face, the Comfy Registry, plain URLs) needs the
same rules, and secrets are easiest to keep when only one place touches them.

* Base URLs come from the environment at call time (``Endpoints.from_env``), so tests and
  mirrors point elsewhere and a lock made against a mirror is the same lock.
* Tokens (``CIVITAI_API_KEY``, ``HF_TOKEN``) are read from the environment per request, sent
  only as ``Authorization: Bearer`` and only to a URL under their own service's base URL
  (checked again on every redirect hop). They are never stored on an object, never put in a
  URL and never part of a cache key; ``redact`` scrubs them from anything shown.
* 429, 5xx, timeouts and connection errors are retried with exponential backoff and full
  jitter, honouring ``Retry-After`` (seconds or an HTTP date, capped). The sleep function and
  the random source are injectable (``Retry``) so tests never wait.
* 404 and 410 are answers, not failures: ``request_json`` returns ``None`` for them (and
  caches that negative answer for a shorter time). Code that needs to *fail* on a missing
  thing raises ``NotFoundError`` (a ``RemoteError``, exit 3).
* httpx is imported inside functions: this module is cheap to import.
"""

from __future__ import annotations

import email.utils
import os
import random
import re
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urljoin, urlsplit

import msgspec

from ..constants import (
    DEFAULT_CIVITAI_URL,
    DEFAULT_HF_ENDPOINT,
    DEFAULT_REGISTRY_URL,
    ENV_CIVITAI_KEY,
    ENV_CIVITAI_URL,
    ENV_HF_ENDPOINT,
    ENV_HF_TOKEN,
    ENV_MODEL_LIST_URL,
    ENV_NODE_MAP_URL,
    ENV_REGISTRY_URL,
    SECRET_ENV_VARS,
)
from ..errors import AuthError, NotFoundError, RemoteError

if TYPE_CHECKING:
    import httpx

    from .responsecache import HttpCache
    from ..settings import Settings

__all__ = [
    "ServiceClient",
    "DEFAULT_TIMEOUT",
    "Endpoints",
    "Retry",
    "Service",
    "SingleFlight",
    "TTL_METADATA",
    "TTL_NEGATIVE",
    "TTL_SEARCH",
    "auth_error",
    "convert",
    "fetch_document",
    "is_under",
    "make_client",
    "map_concurrent",
    "not_found",
    "redact",
    "request_json",
    "send",
    "service_for",
]

T = TypeVar("T")
R = TypeVar("R")
Service = Literal["civitai", "hf"]

DEFAULT_TIMEOUT = 30.0
TTL_SEARCH = 24 * 3600.0
TTL_METADATA = 7 * 24 * 3600.0
TTL_NEGATIVE = 3600.0  # a 404 may become a 200 when someone publishes; ask again sooner
MAX_REDIRECTS = 8
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))

_TOKEN_ENV: dict[str, str] = {"civitai": ENV_CIVITAI_KEY, "hf": ENV_HF_TOKEN}


# --- endpoints ------------------------------------------------------------------------------


class Endpoints(msgspec.Struct, frozen=True, kw_only=True):
    """Base URLs of every service, without trailing slashes (SPEC §6)."""

    civitai: str = DEFAULT_CIVITAI_URL
    hf: str = DEFAULT_HF_ENDPOINT
    registry: str = DEFAULT_REGISTRY_URL
    model_list: str | None = None
    node_map: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Endpoints:
        """Read the base URLs now (never at import time); empty variables mean the default."""
        env = os.environ if env is None else env

        def base(var: str, default: str) -> str:
            return (env.get(var) or default).rstrip("/")

        return cls(
            civitai=base(ENV_CIVITAI_URL, DEFAULT_CIVITAI_URL),
            hf=base(ENV_HF_ENDPOINT, DEFAULT_HF_ENDPOINT),
            registry=base(ENV_REGISTRY_URL, DEFAULT_REGISTRY_URL),
            model_list=env.get(ENV_MODEL_LIST_URL) or None,
            node_map=env.get(ENV_NODE_MAP_URL) or None,
        )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def is_under(url: str, base: str) -> bool:
    """True when ``url`` has the origin of ``base`` and a path at or below base's path."""
    if _origin(url) != _origin(base):
        return False
    prefix = urlsplit(base).path.rstrip("/")
    path = urlsplit(url).path
    return not prefix or path == prefix or path.startswith(prefix + "/")


def service_for(url: str, endpoints: Endpoints) -> Service | None:
    """Which token-bearing service a URL belongs to, by the configured base URLs."""
    if is_under(url, endpoints.civitai):
        return "civitai"
    if is_under(url, endpoints.hf):
        return "hf"
    return None


def _auth_headers(url: str, endpoints: Endpoints) -> dict[str, str]:
    service = service_for(url, endpoints)
    token = os.environ.get(_TOKEN_ENV[service], "").strip() if service else ""
    return {"Authorization": f"Bearer {token}"} if token else {}


# --- redaction ------------------------------------------------------------------------------

_SECRET_PARAM = re.compile(
    r"(?i)([?&;](?:token|access_token|api_key|apikey|key|auth|password|sig|signature|x-amz-signature|x-amz-security-token|x-amz-credential)=)[^&#\s\"']*"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@")


def redact(text: str) -> str:
    """Remove token values, ``token=``-style query values, bearer values and URL passwords."""
    if not text:
        return text
    for var in SECRET_ENV_VARS:
        value = os.environ.get(var, "").strip()
        if len(value) >= 4:
            text = text.replace(value, "***")
    text = _SECRET_PARAM.sub(r"\1***", text)
    text = _BEARER.sub(r"\1***", text)
    return _USERINFO.sub(r"\1***@", text)


# --- errors ---------------------------------------------------------------------------------


def _status_text(status: int, reason: str | None = None) -> str:
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
    var = _TOKEN_ENV.get(service or "")
    extra = f" ({detail})" if detail else ""
    message = redact(f"{method} {url}: {_status_text(status)}{extra}")
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


# --- retries and sending --------------------------------------------------------------------


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
        import os

        tries = os.environ.get("COMFYLOCK_RETRIES")
        backoff = os.environ.get("COMFYLOCK_RETRY_BACKOFF")
        return cls(
            tries=max(1, int(tries)) if tries and tries.isdigit() else 5,
            backoff=float(backoff) if backoff and backoff.replace(".", "", 1).isdigit() else 0.5,
        )

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        hinted = _parse_retry_after(retry_after)
        if hinted is not None:
            return min(hinted, self.max_retry_after)
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self.rng())  # jitter, never zero


def _parse_retry_after(value: str | None) -> float | None:
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
) -> httpx.Response:
    """Send one request with retries and redirect handling; return the final response.

    Any status other than 429/5xx is returned as is (the caller interprets 4xx). With
    ``follow="same-origin"`` a redirect to another origin is returned, not followed (the
    Hugging Face CDN hop). The body is read unless ``stream`` (then the caller closes the
    response). Tokens go only to their own service.
    """
    endpoints = endpoints or Endpoints.from_env()
    retry = retry or Retry.from_env()
    for _ in range(MAX_REDIRECTS + 1):
        response = _send_retrying(client, method, url, endpoints, headers, retry, stream)
        location = response.headers.get("location")
        if not (response.is_redirect and location) or follow == "none":
            return response
        target = urljoin(url, location)
        if follow == "same-origin" and _origin(target) != _origin(url):
            return response
        response.close()
        if response.status_code == 303:
            method = "GET"
        url = target
    raise RemoteError(redact(f"{method} {url}: more than {MAX_REDIRECTS} redirects"))


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
        all_headers = {**(headers or {}), **_auth_headers(url, endpoints)}
        retry_after = None
        try:
            request = client.build_request(method, url, headers=all_headers)
            response = client.send(request, stream=stream)
        except httpx.UnsupportedProtocol:
            raise RemoteError(redact(f"{method} {url}: unsupported URL scheme")) from None
        except httpx.TimeoutException:
            problem = "timed out"
        except httpx.TransportError as exc:
            problem = f"connection failed ({type(exc).__name__})"
        except httpx.InvalidURL as exc:
            raise RemoteError(redact(f"{method} {url}: invalid URL ({exc})")) from None
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            problem = _status_text(response.status_code, response.reason_phrase)
            retry_after = response.headers.get("retry-after")
            response.close()
        if attempt < retry.tries:
            retry.sleep(retry.delay(attempt, retry_after))
    raise RemoteError(
        redact(f"{method} {url}: {problem} after {retry.tries} tries"),
        hint="the service is busy or unreachable; wait a little and run again",
    )


# --- JSON requests with cache and single flight ---------------------------------------------


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
            raise auth_error(method, url, status, endpoints, _error_detail(response))
        if not 200 <= status < 300:
            detail = _error_detail(response)
            raise RemoteError(
                redact(
                    f"{method} {url}: {_status_text(status, response.reason_phrase)}"
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


def _error_detail(response: httpx.Response) -> str:
    """A short server message from a JSON error body (``{"error": ..., "message": ...}``)."""
    try:
        data = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return ""
    if isinstance(data, dict):
        parts = [str(data[k]) for k in ("error", "message") if isinstance(data.get(k), str)]
        return redact(": ".join(parts))[:200]
    return ""


# --- concurrency ----------------------------------------------------------------------------


def map_concurrent(fn: Callable[[T], R], items: Iterable[T], workers: int = 8) -> list[R]:
    """``[fn(x) for x in items]`` on worker threads, calling ``fn`` once per distinct item.

    Results keep the input order; duplicates share one call. If calls fail, the first failing
    item's exception (in input order) is raised after the others finish.
    """
    items = list(items)
    distinct: dict[Any, int] = {}
    for item in items:
        distinct.setdefault(item, len(distinct))
    keys = list(distinct)
    if not keys:
        return []
    if workers <= 1 or len(keys) == 1:
        results = [fn(k) for k in keys]
    else:
        results = _in_daemon_threads(fn, keys, min(workers, len(keys)))
    return [results[distinct[item]] for item in items]


def _in_daemon_threads(fn: Callable[[T], R], keys: list[T], workers: int) -> list[R]:
    """Daemon threads, not a ThreadPoolExecutor: on Ctrl-C a worker may wait a minute on a
    slow server, and the executor's exit hook would make the interpreter wait for it. Here
    the main thread stops waiting at once, no new call starts, and the process can exit."""
    pending = list(enumerate(keys))
    outcomes: dict[int, tuple[bool, Any]] = {}
    guard = threading.Condition()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            with guard:
                if not pending:
                    return
                index, key = pending.pop(0)
            try:
                outcome = (True, fn(key))
            except BaseException as exc:  # noqa: BLE001 — handed to the calling thread
                outcome = (False, exc)
            with guard:
                outcomes[index] = outcome
                guard.notify_all()

    for _ in range(workers):
        threading.Thread(target=worker, name="comfylock-http", daemon=True).start()
    try:
        with guard:
            while len(outcomes) < len(keys):
                guard.wait(0.2)
    except BaseException:
        stop.set()
        raise
    for index in range(len(keys)):
        ok, value = outcomes[index]
        if not ok:
            raise value
    return [outcomes[i][1] for i in range(len(keys))]


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
