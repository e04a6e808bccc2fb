"""The built-in downloader: one streaming GET per attempt, resumed with ``Range``.

Each attempt continues from the tmp file's current size. A server that answers a Range
request with 200 sends the whole file, so the tmp file is restarted. 429 and 5xx are retried
with exponential backoff, honouring ``Retry-After``; a cut connection is resumed. An HTML page
or an empty body served with 200 in place of a model is refused (an error page, not bytes).

Redirects are followed here, hop by hop, not by httpx: every hop passes the https-only rule,
and the caller's headers (a token) go only to the origin of the URL they were given for, on
every attempt, whatever an earlier attempt was told. At most the locked size is written, and
a transfer slower than the lowest-speed limit for a whole window fails (``net.limits``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ...errors import AuthError, Interrupted, NotFoundError, RemoteError
from ...net.limits import Limits, SpeedWatch
from ...net.send import MAX_REDIRECTS, parse_retry_after
from ...store.hashing import Expected
from . import Downloader, ProgressFn
from .urls import check_url, redact

__all__ = ["HttpxDownloader", "retry_after"]

_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class _Retry(Exception):
    def __init__(self, why: str, after: float | None = None) -> None:
        super().__init__(why)
        self.after = after


def retry_after(value: str | None, *, cap: float = 60.0) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), capped."""
    seconds = parse_retry_after(value)
    return None if seconds is None else min(cap, seconds)


class HttpxDownloader(Downloader):
    def __init__(
        self,
        *,
        cancel: threading.Event | None = None,
        retries: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        client=None,
        allow_http: Sequence[str] = (),
    ) -> None:
        import httpx

        self._httpx = httpx
        self._allow_http = tuple(allow_http)
        self._limits = Limits.from_env()
        # NOTE: the hook runs for every request: a source on loopback or https must not be
        # able to send us to a plain-http host elsewhere (SPEC §6). Redirects are ours.
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(30.0, read=min(60.0, self._limits.stall_seconds)),
            follow_redirects=False,
            headers={"Accept-Encoding": "identity"},
            event_hooks={"request": [self._check_hop]},
        )
        self._cancel = cancel or threading.Event()
        self._retries = retries
        self._sleep = sleep
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def _check_hop(self, request) -> None:
        check_url(str(request.url), self._allow_http)

    def _fetch(
        self,
        urls: list[str],
        dest_tmp: Path,
        expected: Expected,
        size: int,
        headers: dict[str, str],
        progress: ProgressFn | None,
    ) -> None:
        _forget_aria2_state(dest_tmp)
        last: RemoteError | None = None
        for url in urls:
            try:
                self._fetch_one(url, dest_tmp, size, headers, progress)
                return
            except RemoteError as exc:
                last = exc
        assert last is not None
        raise last

    def _wait(self, seconds: float) -> None:
        """Sleep in short steps so Ctrl-C (``cancel``) is noticed during a long Retry-After."""
        remaining = seconds
        while remaining > 0 and not self._cancel.is_set():
            step = min(0.2, remaining)
            self._sleep(step)
            remaining -= step
        if self._cancel.is_set():
            raise Interrupted("download interrupted")

    def _fetch_one(
        self,
        url: str,
        dest: Path,
        size: int,
        headers: Mapping[str, str],
        progress: ProgressFn | None,
    ) -> None:
        failures = 0
        while True:
            if self._cancel.is_set():
                raise Interrupted("download interrupted")
            before = dest.stat().st_size if dest.exists() else 0
            try:
                if self._attempt(url, dest, size, headers, progress):
                    return
                why, after = "connection closed early", None
            except _Retry as exc:
                why, after = str(exc), exc.after
            except (self._httpx.TransportError, self._httpx.DecodingError) as exc:
                why, after = f"{type(exc).__name__}", None
            now = dest.stat().st_size if dest.exists() else 0
            failures = 0 if now > before else failures + 1  # progress made: keep going
            if failures > self._retries:
                raise RemoteError(
                    f"{redact(url)}: {why} (gave up after {self._retries} retries)",
                    hint="run sync again to resume",
                )
            self._wait(after if after is not None else min(30.0, 0.25 * 2**failures))

    def _attempt(
        self,
        url: str,
        dest: Path,
        size: int,
        headers: Mapping[str, str],
        progress: ProgressFn | None,
    ) -> bool:
        have = dest.stat().st_size if dest.exists() else 0
        if have > size:
            dest.unlink()
            have = 0
        if have == size and size > 0:
            return True  # every byte is here; the store verifies them
        req = dict(headers)
        if have:
            req["Range"] = f"bytes={have}-"
        self.requests += 1
        with self._open(url, req) as resp:
            have = self._check_response(resp, url, dest, have, size)
            watch = SpeedWatch(self._limits, redact(url))
            with open(dest, "ab" if have else "wb") as fh:
                for chunk in resp.iter_bytes():
                    room = size - have
                    fh.write(chunk[:room])
                    have += min(len(chunk), room)
                    if len(chunk) > room:
                        raise RemoteError(f"{redact(url)}: more bytes than the locked size {size}")
                    if progress is not None:
                        progress(have)
                    if self._cancel.is_set():
                        raise Interrupted("download interrupted")
                    watch.update(have)
        return have == size

    @contextlib.contextmanager
    def _open(self, url: str, headers: Mapping[str, str]):
        """A streamed GET of ``url``, its redirects followed here: headers other than
        ``Range`` go only to ``url``'s own origin, and every hop is checked (SPEC §6)."""
        from ...net.endpoints import origin
        from ...net.send import redirect_target

        current, sent = url, dict(headers)
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._client.send(
                self._client.build_request("GET", current, headers=sent), stream=True
            )
            location = resp.headers.get("location") if resp.is_redirect else None
            if not location:
                try:
                    yield resp
                finally:
                    resp.close()
                return
            resp.close()
            current = check_url(redirect_target("GET", current, location), self._allow_http)
            if origin(current) != origin(url):
                sent = {k: v for k, v in headers.items() if k.lower() == "range"}
        raise RemoteError(f"{redact(url)}: more than {MAX_REDIRECTS} redirects")

    def _check_response(self, resp, url: str, dest: Path, have: int, size: int) -> int:
        """Validate a response; return the offset the body starts at (0 = restart)."""
        code = resp.status_code
        if code == 416 and have:
            dest.unlink()
            raise _Retry("range not satisfiable; restarting", 0)
        if code in _RETRY_STATUS:
            raise _Retry(f"HTTP {code}", retry_after(resp.headers.get("retry-after")))
        if code in (401, 403):
            raise AuthError(
                f"{redact(url)}: HTTP {code}",
                hint="set CIVITAI_API_KEY or HF_TOKEN for this source",
            )
        if code in (404, 410):
            raise NotFoundError(f"{redact(url)}: HTTP {code}")
        if code >= 400 or code not in (200, 206):
            raise RemoteError(f"{redact(url)}: HTTP {code}")
        if "text/html" in resp.headers.get("content-type", "").lower():
            raise RemoteError(
                f"{redact(url)}: the server sent an HTML page instead of the file",
                hint="the source may need a token or be gone",
            )
        if code == 200 and size > 0 and resp.headers.get("content-length") == "0":
            raise RemoteError(f"{redact(url)}: the server sent an empty file")
        length = resp.headers.get("content-length", "").strip()
        if code == 200 and length.isdigit() and int(length) != size:
            # Another file for sure (a partial copy on a mirror, another version): asking
            # again would only get it again.
            more = "more" if int(length) > size else "fewer"
            raise RemoteError(
                f"{redact(url)}: {more} bytes than the locked size {size} (the server's file "
                f"is {length} bytes)"
            )
        if code == 206:
            start = _range_start(resp.headers.get("content-range", ""))
            if start != have:
                with contextlib.suppress(FileNotFoundError):
                    dest.unlink()
                raise _Retry("unexpected Content-Range; restarting", 0)
            return have
        return 0  # a 200 is the whole file: restart the tmp file


def _range_start(value: str) -> int | None:
    try:
        unit, _, rest = value.partition(" ")
        return int(rest.split("-", 1)[0]) if unit == "bytes" else None
    except ValueError:
        return None


def _forget_aria2_state(dest: Path) -> None:
    """aria2c preallocates: with its control file present, the tmp size means nothing to us."""
    control = dest.with_name(dest.name + ".aria2")
    if control.exists():
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
        control.unlink()
