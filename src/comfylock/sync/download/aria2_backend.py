"""The fast downloader: an ``aria2c`` child on 127.0.0.1, driven over JSON-RPC with aria2p.

aria2c gets every source URL of a model at once (multi-source) with 16 connections per
server and 1 MiB pieces (SPEC §7), resumes from its control file, and is shut down at the
end, on Ctrl-C and on any error. ``--stop-with-process`` makes it exit by itself if we are
killed. Tokens travel only in per-download RPC options, never on its command line; a URL
that needs a token and redirects (Civitai's signed URLs) is resolved first, so the token is
not replayed to the CDN; every redirect is followed by us first and checked against the
plain-http rule, since aria2c would follow one anywhere. We verify the bytes ourselves.
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
from ..workspace import Expected
from . import Downloader, ProgressFn
from .urls import check_url, redact

__all__ = ["Aria2Downloader"]


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

    # --- downloads ---------------------------------------------------------------------

    def _options(self, dest: Path, headers: Mapping[str, str]) -> dict:
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
        if headers:
            options["header"] = [f"{k}: {v}" for k, v in headers.items()]
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
        try:
            if headers or not self._direct.issuperset(urls):
                urls, headers = _resolve_redirects(urls, headers, self._allow_http)
        except RemoteError:
            if self._cancel.is_set():
                raise
            # Unreachable right now: the built-in downloader retries with backoff.
            self._fallback().fetch(given_urls, dest_tmp, expected, size, given_headers, progress)
            return
        api = self._start()
        with self._lock:
            self._active += 1
        download = None
        try:
            download = api.add_uris(list(urls), options=self._options(dest_tmp, headers))
            self._follow(download, progress)
            with self._lock:  # NOTE: only a finished download has no state left to save
                self._active -= 1
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

    def _follow(self, download, progress: ProgressFn | None) -> None:
        while True:
            if self._cancel.is_set():
                raise Interrupted("download interrupted")
            download.update()
            if progress is not None:
                progress(download.completed_length)
            if download.status == "complete":
                return
            if download.status in ("error", "removed"):
                msg = redact(download.error_message or download.status)
                raise RemoteError(
                    f"aria2c: {msg} (code {download.error_code})",
                    hint="run sync again to resume, or try --no-aria2",
                )
            time.sleep(self._poll)


_MAX_HOPS = 10


def _resolve_redirects(
    urls: Sequence[str], headers: Mapping[str, str], allow_http: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    """Follow every source's redirects ourselves and give aria2c the final URLs.

    aria2c follows redirects by itself and cannot be told not to, so a source could send
    it to a plain-http host elsewhere; here every hop passes ``check_url`` (SPEC §6) first.
    A token goes on the first hop only, and when a source redirects (signed URLs) its
    target is used without the token, so the token goes nowhere but its own service.
    """
    import httpx

    finals: list[str] = []
    redirected: list[str] = []
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        for url in urls:
            current, hops, sent = url, 0, dict(headers)
            while True:
                try:
                    with client.stream(
                        "GET", current, headers={**sent, "Range": "bytes=0-0"}
                    ) as resp:
                        location = resp.headers.get("location") if resp.is_redirect else None
                except httpx.TransportError as exc:
                    raise RemoteError(f"{redact(current)}: {type(exc).__name__}") from None
                if not location:
                    break
                hops += 1
                if hops > _MAX_HOPS:
                    raise RemoteError(f"{redact(url)}: more than {_MAX_HOPS} redirects")
                current = check_url(str(httpx.URL(current).join(location)), allow_http)
                sent = {}
            finals.append(current)
            if hops:
                redirected.append(current)
    if headers and redirected:
        return list(dict.fromkeys(redirected)), {}
    if headers:
        return list(urls), dict(headers)
    return list(dict.fromkeys(finals)), {}
