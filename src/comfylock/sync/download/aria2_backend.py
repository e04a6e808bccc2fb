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
from ...store.hashing import Expected
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


def _secret_conf(tmp_dir: Path, secret: str) -> Path:
    """A new aria2c conf file holding only the RPC secret, readable by this user alone (0600
    from its creation: no moment where another user could open it)."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix=".aria2-", suffix=".conf", dir=tmp_dir)
    try:
        os.write(fd, f"rpc-secret={secret}\n".encode())
    finally:
        os.close(fd)
    return Path(name)


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
        self._rpc: _Rpc | None = None
        self._api = None  # aria2p's API, imported on a thread while the first download runs
        self._api_loaded = threading.Event()
        self._api_started = False
        self._probe_client = None
        self._lock = threading.Lock()
        self._falloc = "none"
        self._closed = False
        self._active = 0  # fetches under way: aria2c must save their state on close
        self._httpx = None
        self._limits = Limits.from_env()
        self._dead_end: socket.socket | None = None  # the proxy for refused plain-http hops

    # --- lifecycle ---------------------------------------------------------------------

    def _start(self) -> _Rpc:
        """Start aria2c once. Importing aria2p takes ~0.13 s (requests, loguru), as long as
        aria2c's whole start-up and the first pieces: the first download is added with a
        plain JSON-RPC call (``_Rpc``) and aria2p is imported on a thread meanwhile."""
        with self._lock:
            if self._rpc is not None:
                return self._rpc
            if self._closed:
                raise Interrupted("download cancelled")
            self._tmp_dir.mkdir(parents=True, exist_ok=True)
            self._falloc = _falloc_mode(self._tmp_dir)
            port, secret = _free_port(), secrets.token_hex(16)
            # NOTE: the secret goes in a file only we can read, never in argv:
            # /proc/<pid>/cmdline is world-readable until aria2c masks it, and whoever reads
            # it can drive aria2 as the user. The file replaces any aria2.conf (--no-conf).
            conf = _secret_conf(self._tmp_dir, secret)
            cmd = [
                self._exe,
                "--enable-rpc",
                "--rpc-listen-all=false",
                f"--rpc-listen-port={port}",
                f"--conf-path={conf}",
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
                # Pieces are written when aria2c marks them done, so a StreamHasher can read
                # the finished prefix while the rest downloads (no 16 MiB write cache).
                "--disk-cache=0",
            ]
            try:
                # NOTE: a new session, so a terminal's Ctrl-C reaches us first; we stop aria2c.
                self._proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                rpc = _Rpc(port, secret)
                self._wait_ready(rpc)  # it read its conf before it listened
            finally:
                conf.unlink(missing_ok=True)
            self._rpc = rpc
            return rpc

    def _load_api(self, port: int, secret: str) -> None:
        try:
            import aria2p

            client = aria2p.Client(host="http://127.0.0.1", port=port, secret=secret, timeout=10)
            self._api = aria2p.API(client)
        finally:
            self._api_loaded.set()

    def _api_now(self, rpc: _Rpc):
        """aria2p's API, once its import on the loader thread is done. The thread starts
        after the first download was added, so the import overlaps that download rather
        than competing with the start-up for the interpreter lock."""
        with self._lock:
            if not self._api_started:
                self._api_started = True
                args = (rpc.port, rpc.secret)
                threading.Thread(target=self._load_api, args=args, daemon=True).start()
        self._api_loaded.wait()
        if self._api is None:
            raise RemoteError("aria2p could not be imported", hint="try --no-aria2")
        return self._api

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

    def _wait_ready(self, rpc: _Rpc) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RemoteError(
                    f"aria2c exited at start-up (code {self._proc.returncode})",
                    hint="try --no-aria2",
                )
            try:
                rpc.call("aria2.getVersion", timeout=1)
                return
            except Exception:  # noqa: BLE001 — not listening yet
                time.sleep(0.01)  # it usually listens within a few ms
        self.close()
        raise RemoteError("aria2c did not start", hint="try --no-aria2")

    def close(self) -> None:
        """Stop aria2c (politely, then for sure) and reap it."""
        with self._lock:  # NOTE: a worker may be starting aria2c right now
            proc, self._proc, self._rpc, self._closed = self._proc, None, None, True
            if self._httpx is not None:
                self._httpx.close()
            if self._probe_client is not None:
                self._probe_client.close()
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
            # Lowest free piece first: the finished prefix grows at the whole download's
            # rate, so it is hashed while the rest arrives (no slower on a capped server).
            "stream-piece-selector": "inorder",
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
    ):
        control = dest_tmp.with_name(dest_tmp.name + ".aria2")
        if dest_tmp.exists() and dest_tmp.stat().st_size == size and not control.exists():
            return None  # complete from an earlier run; the store verifies it
        given_urls, given_headers = list(urls), dict(headers)
        dest_tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            # NOTE: only a token-bearing source is probed first. Without a token there is
            # nothing to keep from a redirect target, and aria2c's own plain-http hops end at
            # the fence (``_http_fence``): the probe's round trip and httpx import (~0.1 s)
            # would only delay the download.
            if headers:
                urls = _resolve_redirects(
                    urls, headers, self._allow_http, self._cancel, self._prober()
                )
        except (RemoteError, _Unredirected):
            if self._cancel.is_set():
                raise Interrupted("download interrupted") from None
            # Unreachable right now, or a token-bearing source that serves the bytes itself:
            # the built-in downloader (backoff, per-origin tokens) fetches this file.
            return self._fallback().fetch(
                given_urls, dest_tmp, expected, size, given_headers, progress
            )
        rpc = self._start()
        with self._lock:
            self._active += 1
        download = gid = None
        from ...store.hashing import StreamHasher

        hasher = StreamHasher(dest_tmp, blake3=expected.blake3 is not None)
        try:
            gid = rpc.call("aria2.addUri", list(urls), self._options(dest_tmp))
            download = self._api_now(rpc).get_download(gid)
            self._follow(download, size, progress, hasher)
            with self._lock:  # NOTE: only a finished download has no state left to save
                self._active -= 1
            return hasher
        except _Final as exc:
            hasher.close()
            if exc.discard:
                with contextlib.suppress(Exception):
                    rpc.call("aria2.forceRemove", gid)
                    _wait_stopped(download)
                for path in (dest_tmp, dest_tmp.with_name(dest_tmp.name + ".aria2")):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            raise
        except RemoteError:
            hasher.close()
            if self._cancel.is_set():
                raise
            # aria2c gives up at once on 429 and ignores Retry-After: let the built-in
            # downloader (backoff, Retry-After, Range resume) finish this file.
            return self._fallback().fetch(
                given_urls, dest_tmp, expected, size, given_headers, progress
            )
        except BaseException:
            hasher.close()
            raise
        finally:
            with contextlib.suppress(Exception):
                if download is None or download.status in ("active", "waiting", "paused"):
                    rpc.call("aria2.forceRemove", gid)
                rpc.call("aria2.removeDownloadResult", gid)

    def _prober(self):
        """One httpx client for every redirect probe: a client builds its TLS context when
        made (~30 ms), which eight parallel fetches paid eight times over."""
        with self._lock:
            if self._probe_client is None:
                from http.cookiejar import CookieJar, DefaultCookiePolicy

                import httpx

                # NOTE: no cookie jar to share: a cookie one source sets is never replayed.
                jar = CookieJar(DefaultCookiePolicy(allowed_domains=[]))
                self._probe_client = httpx.Client(follow_redirects=False, timeout=30, cookies=jar)
            return self._probe_client

    def _fallback(self):
        with self._lock:
            if self._httpx is None:
                from .httpx_backend import HttpxDownloader

                self._httpx = HttpxDownloader(cancel=self._cancel, allow_http=self._allow_http)
            return self._httpx

    def _follow(self, download, size: int, progress: ProgressFn | None, hasher) -> None:
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
            # Poll sooner while the prefix grows, so the tail left to hash at the end is short.
            grew = hasher.advance(_done_prefix(download.bitfield, download.piece_length, size))
            time.sleep(self._poll / 3 if grew else self._poll)


_MAX_HOPS = 10


def _done_prefix(bitfield: str | None, piece_length: int, size: int) -> int:
    """Bytes from offset 0 that aria2c has written in full: its leading finished pieces
    (``bitfield`` is hex, the highest bit of the first digit is piece 0)."""
    if not bitfield or piece_length <= 0:
        return 0
    digits = len(bitfield) - len(bitfield.lstrip("fF"))
    pieces = digits * 4
    if digits < len(bitfield):
        nibble = int(bitfield[digits], 16)
        for bit in (8, 4, 2, 1):
            if not nibble & bit:
                break
            pieces += 1
    return min(size, pieces * piece_length)


class _Rpc:
    """aria2c's JSON-RPC with the standard library (a loopback POST), for start-up and for
    adding a download before aria2p is imported. The secret rides in the body, never on a
    command line."""

    def __init__(self, port: int, secret: str) -> None:
        self.port, self.secret = port, secret

    def call(self, method: str, *params, timeout: float = 10):
        import http.client
        import json

        body = {"jsonrpc": "2.0", "id": "comfylock", "method": method}
        body["params"] = [f"token:{self.secret}", *params]
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("POST", "/jsonrpc", json.dumps(body), {"Content-Type": "application/json"})
            reply = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        if "error" in reply:
            raise RemoteError(f"aria2c: {redact(str(reply['error'].get('message')))}")
        return reply["result"]


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
    client,
) -> list[str]:
    """The token-free final URL of every source, for aria2c; every hop checked first.

    Each source is probed with a one-byte GET, its redirects followed here; a 429/5xx/timeout
    is probed again (the new answer checked like the first). ``headers`` (a token) go to the
    first hop only. With ``headers``, a source that answers without redirecting raises
    ``_Unredirected``: aria2c would need the token for it, and would replay it on any later
    redirect, so it is not aria2c's to fetch. ``client`` is the downloader's shared probe
    client (no redirects followed, no cookies kept).
    """
    finals: list[str] = []
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
