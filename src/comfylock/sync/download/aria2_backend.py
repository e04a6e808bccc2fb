"""The fast downloader: an ``aria2c`` child on 127.0.0.1, driven over JSON-RPC with aria2p.

aria2c gets every source URL of a model at once (multi-source) with 16 connections per
server and 1 MiB pieces (SPEC §7), resumes from its control file, and is shut down at the
end, on Ctrl-C and on any error. ``--stop-with-process`` makes it exit by itself if we are
killed. We verify the bytes ourselves.

aria2c follows redirects by itself, anywhere, and replays headers on them, so:

* it never holds a token. A source that needs one is probed by us (retried on 429/5xx, each
  retry checked afresh); when it redirects (Civitai's signed URLs, the HF CDN) aria2c gets
  only the final, token-free URL; when it does not, the built-in downloader fetches it
  (it sends the token to the source's own origin only).
* its plain-http requests go through a proxy address where nothing listens, except for
  loopback and ``allow-http`` hosts (``no-proxy``): a redirect to plain http that appears
  only on aria2c's own request fails instead of being followed (SPEC §6).
* it is held to the locked size and to the lowest-speed limit (``net.limits``): we watch
  each download and stop it when it grows past the size or stalls.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ...errors import Interrupted, RemoteError
from ...net.limits import Limits, SpeedWatch
from ..workspace import Expected
from . import Downloader, ProgressFn
from .urls import check_url, redact

__all__ = ["Aria2Downloader"]


class _Final(RemoteError):
    """A failure the built-in downloader would only repeat (too many bytes, a stall)."""

    discard = False  # the partial bytes are wrong: remove them


class _TooBig(_Final):
    discard = True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _falloc_mode(tmp_dir: Path) -> str:
    """``falloc`` where the filesystem supports it, else ``none``."""
    probe = tmp_dir / f".falloc-probe-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            os.posix_fallocate(fd, 0, 4096)
            return "falloc"
        except (OSError, AttributeError):
            return "none"
        finally:
            os.close(fd)
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


class Aria2Downloader(Downloader):
    def __init__(
        self,
        *,
        tmp_dir: Path,
        jobs: int = 8,
        cancel: threading.Event | None = None,
        executable: str = "aria2c",
        poll: float = 0.1,
        allow_http: Sequence[str] = (),
    ) -> None:
        self._tmp_dir = Path(tmp_dir)
        self._jobs = max(1, jobs)
        self._cancel = cancel or threading.Event()
        self._exe = executable
        self._poll = poll
        self._allow_http = tuple(allow_http)
        self._proc: subprocess.Popen | None = None
        self._api = None
        self._lock = threading.Lock()
        self._falloc = "none"
        self._closed = False
        self._active = 0  # fetches under way: aria2c must save their state on close
        self._httpx = None
        self._direct: set[str] = set()  # URLs whose every hop was already checked (a remote)
        self._limits = Limits.from_env()
        self._dead_end: socket.socket | None = None  # the proxy for refused plain-http hops

    # --- lifecycle ---------------------------------------------------------------------

    def _start(self):
        with self._lock:
            if self._api is not None:
                return self._api
            if self._closed:
                raise Interrupted("download cancelled")
            import aria2p

            self._tmp_dir.mkdir(parents=True, exist_ok=True)
            self._falloc = _falloc_mode(self._tmp_dir)
            port, secret = _free_port(), secrets.token_hex(16)
            cmd = [
                self._exe,
                "--enable-rpc",
                "--rpc-listen-all=false",
                f"--rpc-listen-port={port}",
                f"--rpc-secret={secret}",
                "--no-conf",
                "--quiet",
                f"--stop-with-process={os.getpid()}",
                f"--max-concurrent-downloads={self._jobs}",
                "--auto-file-renaming=false",
                "--max-tries=5",
                "--retry-wait=1",
                f"--lowest-speed-limit={self._limits.lowest_speed}",
                f"--timeout={max(1, int(self._limits.stall_seconds))}",
                f"--connect-timeout={max(1, min(30, int(self._limits.stall_seconds)))}",
                *self._http_fence(),
            ]
            # NOTE: a new session, so a terminal's Ctrl-C reaches us first; we stop aria2c.
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            api = aria2p.API(
                aria2p.Client(host="http://127.0.0.1", port=port, secret=secret, timeout=10)
            )
            self._wait_ready(api)
            self._api = api
            return api

    def _http_fence(self) -> list[str]:
        """Options sending aria2c's plain-http requests to a bound, never-listening port
        (connection refused at once), except to loopback and ``allow-http`` hosts."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # NOTE: held open, so no one else can listen there
        self._dead_end = sock
        allowed = ["localhost", ".localhost", "127.0.0.0/8", "::1/128", *self._allow_http]
        return [
            f"--http-proxy=http://127.0.0.1:{sock.getsockname()[1]}",
            f"--no-proxy={','.join(allowed)}",
        ]

    def _wait_ready(self, api) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RemoteError(
                    f"aria2c exited at start-up (code {self._proc.returncode})",
                    hint="try --no-aria2",
                )
            try:
                api.client.get_version()
                return
            except Exception:  # noqa: BLE001 — not listening yet
                time.sleep(0.01)  # it usually listens within a few ms
        self.close()
        raise RemoteError("aria2c did not start", hint="try --no-aria2")

    def close(self) -> None:
        """Stop aria2c (politely, then for sure) and reap it."""
        with self._lock:  # NOTE: a worker may be starting aria2c right now
            proc, self._proc, self._api, self._closed = self._proc, None, None, True
            if self._httpx is not None:
                self._httpx.close()
        if proc is None:
            self._close_dead_end()
            return
        # SIGTERM: aria2c stops and writes the .aria2 control file of every unfinished
        # download, for resume (an RPC shutdown lingers ~4 s on keep-alive sockets). With
        # nothing unfinished there is nothing to save, and its ~1 s graceful exit is pure
        # wait (measured: a third of a 512 MiB sync), so then it is killed at once.
        if proc.poll() is None:
            if self._active:
                proc.terminate()
            else:
                proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._close_dead_end()

    def _close_dead_end(self) -> None:
        if self._dead_end is not None:
            self._dead_end.close()
            self._dead_end = None

    # --- downloads ---------------------------------------------------------------------

    def _options(self, dest: Path) -> dict:
        options = {
            "dir": str(dest.parent),
            "out": dest.name,
            "split": "16",
            "max-connection-per-server": "16",
            "min-split-size": "1M",
            "continue": "true",
            "file-allocation": self._falloc,
            "allow-overwrite": "false",
        }
        return options

    def _fetch(
        self,
        urls: list[str],
        dest_tmp: Path,
        expected: Expected,
        size: int,
        headers: dict[str, str],
        progress: ProgressFn | None,
    ) -> None:
        control = dest_tmp.with_name(dest_tmp.name + ".aria2")
        if dest_tmp.exists() and dest_tmp.stat().st_size == size and not control.exists():
            return  # complete from an earlier run; the store verifies it
        given_urls, given_headers = list(urls), dict(headers)
        dest_tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            if headers or not self._direct.issuperset(urls):
                urls = _resolve_redirects(urls, headers, self._allow_http, self._cancel)
        except (RemoteError, _Unredirected):
            if self._cancel.is_set():
                raise Interrupted("download interrupted") from None
            # Unreachable right now, or a token-bearing source that serves the bytes itself:
            # the built-in downloader (backoff, per-origin tokens) fetches this file.
            self._fallback().fetch(given_urls, dest_tmp, expected, size, given_headers, progress)
            return
        api = self._start()
        with self._lock:
            self._active += 1
        download = None
        try:
            download = api.add_uris(list(urls), options=self._options(dest_tmp))
            self._follow(download, size, progress)
            with self._lock:  # NOTE: only a finished download has no state left to save
                self._active -= 1
        except _Final as exc:
            if exc.discard:
                with contextlib.suppress(Exception):
                    api.client.force_remove(download.gid)
                    _wait_stopped(download)
                for path in (dest_tmp, dest_tmp.with_name(dest_tmp.name + ".aria2")):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            raise
        except RemoteError:
            if self._cancel.is_set():
                raise
            # aria2c gives up at once on 429 and ignores Retry-After: let the built-in
            # downloader (backoff, Retry-After, Range resume) finish this file.
            self._fallback().fetch(given_urls, dest_tmp, expected, size, given_headers, progress)
        finally:
            with contextlib.suppress(Exception):
                if download.status in ("active", "waiting", "paused"):
                    api.client.force_remove(download.gid)
                api.client.remove_download_result(download.gid)

    def mark_direct(self, url: str) -> None:
        """``url`` answered our own request without a redirect (a team remote's HEAD) and
        passed the URL policy: skip the one-byte probe GET (a round trip per blob)."""
        with self._lock:
            self._direct.add(url)

    def _fallback(self):
        with self._lock:
            if self._httpx is None:
                from .httpx_backend import HttpxDownloader

                self._httpx = HttpxDownloader(cancel=self._cancel, allow_http=self._allow_http)
            return self._httpx

    def _follow(self, download, size: int, progress: ProgressFn | None) -> None:
        watch = SpeedWatch(self._limits, redact(download.name or "download"))
        while True:
            if self._cancel.is_set():
                raise Interrupted("download interrupted")
            download.update()
            done = download.completed_length
            if progress is not None:
                progress(min(done, size))
            if done > size or download.total_length > size:
                raise _TooBig(
                    f"{redact(download.name or 'download')}: the server sends more than the "
                    f"locked size {size}",
                    hint="the source changed or is not this file; resolve again",
                )
            if download.status == "complete":
                return
            if download.status in ("error", "removed"):
                msg = redact(download.error_message or download.status)
                raise RemoteError(
                    f"aria2c: {msg} (code {download.error_code})",
                    hint="run sync again to resume, or try --no-aria2",
                )
            try:
                watch.update(done)
            except RemoteError as exc:
                raise _Final(exc.message, hint=exc.hint) from None
            time.sleep(self._poll)


_MAX_HOPS = 10


def _wait_stopped(download, tries: int = 50) -> None:
    """Until aria2c has stopped writing a removed download (bounded: 50 polls)."""
    for _ in range(tries):
        download.update()
        if download.status not in ("active", "waiting", "paused"):
            return
        time.sleep(0.02)


class _Unredirected(Exception):
    """A token-bearing source answered without a redirect: aria2c must not get it."""


_PROBE_TRIES = 3


def _resolve_redirects(
    urls: Sequence[str],
    headers: Mapping[str, str],
    allow_http: Sequence[str],
    cancel: threading.Event,
) -> list[str]:
    """The token-free final URL of every source, for aria2c; every hop checked first.

    Each source is probed with a one-byte GET, its redirects followed here; a 429/5xx/timeout
    is probed again (the new answer checked like the first). ``headers`` (a token) go to the
    first hop only. With ``headers``, a source that answers without redirecting raises
    ``_Unredirected``: aria2c would need the token for it, and would replay it on any later
    redirect, so it is not aria2c's to fetch.
    """
    import httpx

    finals: list[str] = []
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        for url in urls:
            final, hops = _probe(client, url, headers, allow_http, cancel)
            if headers and not hops:
                raise _Unredirected(url)
            finals.append(final)
    return list(dict.fromkeys(finals))


def _probe(client, url: str, headers: Mapping[str, str], allow_http, cancel) -> tuple[str, int]:
    """(final URL, hops) of one source, retrying transient answers a few times."""
    import httpx

    from ...net.send import RETRY_STATUSES, redirect_target

    current, hops, sent, tries = url, 0, dict(headers), 0
    while True:
        try:
            with client.stream("GET", current, headers={**sent, "Range": "bytes=0-0"}) as resp:
                status = resp.status_code
                location = resp.headers.get("location") if resp.is_redirect else None
        except httpx.TransportError as exc:
            status, location = None, None
            problem = type(exc).__name__
        else:
            problem = f"HTTP {status}"
        if status is None or status in RETRY_STATUSES:
            tries += 1
            if tries >= _PROBE_TRIES or cancel.wait(0.5 * tries):
                raise RemoteError(f"{redact(current)}: {problem}")
            continue  # the same hop again; its next answer is checked afresh
        if not location:
            return current, hops
        hops += 1
        if hops > _MAX_HOPS:
            raise RemoteError(f"{redact(url)}: more than {_MAX_HOPS} redirects")
        current = check_url(redirect_target("GET", current, location), allow_http)
        sent = {}
