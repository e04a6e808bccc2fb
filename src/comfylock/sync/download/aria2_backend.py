"""The fast downloader: an ``aria2c`` child on 127.0.0.1, driven over JSON-RPC.

aria2c gets every source URL of a model at once (multi-source) with 16 connections per
server and 1 MiB pieces (SPEC §7), resumes from its control file, and is shut down at the
end, on Ctrl-C and on any error. ``--stop-with-process`` makes it exit by itself if we are
killed. We verify the bytes ourselves.

Fixed costs are paid once and overlapped with the work: aria2c can be started while the plan
is made (``start_soon``), reading the downloads already known then from an input file so
bytes flow before aria2p is even imported; every other download whose URLs are known up
front is handed to it in one request (``prefetch``), so it moves to the next file the moment one is done rather than when
our worker gets round to it; one thread polls the status of every download someone waits on
in one request per round (``aria2_rpc.StatusBoard``, aria2p's ``multicall2``); aria2p is
imported right after aria2c is launched, while it starts.

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
from collections.abc import Sequence
from pathlib import Path

from ...errors import Interrupted, RemoteError
from ...net.limits import Limits, SpeedWatch
from ...store.hashing import Expected
from . import Downloader, ProgressFn, discard_partial, partial_size
from .aria2_rpc import Rpc, StatusBoard
from .aria2proc import RUNNING
from .redirects import Unredirected, resolve_redirects
from .urls import redact

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


def _sweep_inputs(tmp_dir: Path) -> None:
    """Remove the input files of runs killed before aria2c had read them (they may hold
    presigned URLs, secrets until they expire): one whose process is gone."""
    for leftover in tmp_dir.glob(".aria2-input-*"):
        try:
            pid = int(leftover.name.split("-")[2])
            os.kill(pid, 0)
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except (ValueError, IndexError, OSError):
            continue  # not ours to judge (another user's process, an odd name)


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
        poll: float = 0.05,
        allow_http: Sequence[str] = (),
    ) -> None:
        self._tmp_dir = Path(tmp_dir)
        self._jobs = max(1, jobs)
        self._cancel = cancel or threading.Event()
        self._exe = executable
        self._poll = poll
        self._allow_http = tuple(allow_http)
        self._proc: subprocess.Popen | None = None
        self._rpc: Rpc | None = None
        self._board: StatusBoard | None = None
        self._probe_client = None
        self._lock = threading.Lock()
        self._falloc = "none"
        self._closed = False
        self._active = 0  # fetches under way: aria2c must save their state on close
        self._httpx = None
        self._limits = Limits.from_env()
        self._dead_end: socket.socket | None = None  # the proxy for refused plain-http hops
        # dest -> (urls, gid, unconfirmed: handed over before the plan chose its source)
        self._queued: dict[str, tuple[tuple[str, ...], str, bool]] = {}
        self._early: threading.Thread | None = None
        # dest -> its size before ``start_soon`` began downloading it (shown as resumed)
        self.sizes_before: dict[str, int] = {}

    @property
    def cancel(self) -> threading.Event:
        return self._cancel

    # --- lifecycle ---------------------------------------------------------------------

    def start_soon(self, first: Sequence[tuple] = ()) -> None:
        """Start aria2c on a thread now (while the plan is made): its start-up, ~10-30 ms of
        a process and a listening socket, is then done when the first download is added. A
        failure here is met again, and reported, by the first fetch.

        ``first``: downloads (urls, dest_tmp, size) the sync will almost surely make, known
        before the plan (``urls`` may be a function making them, called on that thread).
        aria2c reads them from an input file at start-up and begins at once, before aria2p
        is imported and before the plan is made. They are *unconfirmed*: a fetch that wants
        other URLs for the same file (the plan found the remote lacks it) removes the
        download and its bytes (``_add``)."""
        for _urls, dest, _size in first:  # what was here before this run wrote a byte
            self.sizes_before.setdefault(str(dest), partial_size(Path(dest)))
        with self._lock:
            if self._early is None and self._rpc is None:
                self._early = threading.Thread(
                    target=self._start_quietly, args=(tuple(first),), daemon=True
                )
                self._early.start()

    def _start_quietly(self, first=()) -> None:
        ready = []
        for urls, dest, size in first:
            if callable(urls):  # made here, off the plan's thread (a presigned URL)
                try:
                    urls = tuple(urls())
                except Exception:  # noqa: BLE001 — the fetch meets it and reports it
                    continue
            ready.append((urls, dest, size))
        with contextlib.suppress(Exception):
            self._start(ready)
        import hashlib  # NOTE: every download is verified: OpenSSL starts here, not in a worker

        hashlib.sha256()

    def _wait_early(self) -> None:
        """Let the early start (``start_soon``) finish first: the downloads it hands aria2c
        are then queued, so nothing is added twice or mistaken for an earlier run's."""
        early = self._early
        if early is not None and early is not threading.current_thread() and early.is_alive():
            early.join()

    def _started(self) -> Rpc:
        """aria2c's RPC, after the early start if there is one (``_start`` otherwise)."""
        self._wait_early()
        return self._start()

    def _start(self, first: Sequence[tuple[Sequence[str], Path, int]] = ()) -> Rpc:
        """Start aria2c once (whichever of ``start_soon`` and the first fetch comes first)."""
        with self._lock:
            if self._rpc is not None:
                return self._rpc
            if self._closed:
                raise Interrupted("download cancelled")
            self._tmp_dir.mkdir(parents=True, exist_ok=True)
            self._falloc = _falloc_mode(self._tmp_dir)
            port, secret = _free_port(), secrets.token_hex(16)
            listed, queued = self._input_file(first)
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
                *([f"--input-file={listed}"] if listed is not None else []),
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
                RUNNING.add(self._proc)
                # NOTE: aria2p's import (~0.18 s) runs while aria2c starts up
                rpc = Rpc(port, secret)
                self._wait_ready(Rpc(port, secret, timeout=1))  # it read its conf first
            finally:
                conf.unlink(missing_ok=True)
                if listed is not None:
                    listed.unlink(missing_ok=True)  # read at start-up, before it listens
            self._board = StatusBoard(rpc, self._poll)
            self._rpc = rpc
            self._queued.update(queued)
            return rpc

    def _input_file(self, first) -> tuple[Path | None, dict[str, tuple]]:
        """An aria2c input file (mode 0600) of the ``first`` downloads not complete already,
        each with a gid of ours so it is followed like one added over RPC; and their
        ``_queued`` entries (marked unconfirmed)."""
        lines: list[str] = []
        queued: dict[str, tuple] = {}
        for urls, dest, size in first:
            dest = Path(dest)
            if not urls or _complete(dest, size) or str(dest) in self._queued:
                continue
            if any(c in u for u in urls for c in "\t\r\n"):
                continue  # one line per download: such a URL is the fetch's to refuse
            gid = secrets.token_hex(8)
            lines.append("\t".join(urls))
            options = {**self._options(dest), "gid": gid}
            lines.extend(f" {key}={value}" for key, value in options.items())
            queued[str(dest)] = (tuple(urls), gid, True)
        if not lines:
            return None, {}
        _sweep_inputs(self._tmp_dir)
        path = self._tmp_dir / f".aria2-input-{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        return path, queued

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

    def _wait_ready(self, rpc: Rpc) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RemoteError(
                    f"aria2c exited at start-up (code {self._proc.returncode})",
                    hint="try --no-aria2",
                )
            try:
                rpc.call("aria2.getVersion")
                return
            except Exception:  # noqa: BLE001 — not listening yet
                time.sleep(0.005)  # it usually listens within a few ms
        self._kill()
        raise RemoteError("aria2c did not start", hint="try --no-aria2")

    def close(self) -> None:
        """Stop aria2c (politely, then for sure) and reap it."""
        with self._lock:  # NOTE: a worker may be starting aria2c right now
            proc, self._proc, self._rpc, self._closed = self._proc, None, None, True
            board, self._board = self._board, None
            if self._httpx is not None:
                self._httpx.close()
            if self._probe_client is not None:
                self._probe_client.close()
        if board is not None:
            board.close()
        if proc is None:
            self._close_dead_end()
            return
        # SIGTERM: aria2c writes unfinished downloads' .aria2 control files, for resume
        # (an RPC shutdown lingers ~4 s on keep-alive sockets); with nothing unfinished its
        # ~1 s graceful exit is pure wait (a third of a 512 MiB sync): killed at once then.
        interrupted = False
        try:
            if proc.poll() is None:
                if self._active or self._queued:
                    proc.terminate()
                else:
                    proc.kill()
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except KeyboardInterrupt:  # NOTE: a Ctrl-C right now must not leave it running
            interrupted = True
            proc.kill()
            proc.wait()
        RUNNING.discard(proc)
        self._close_dead_end()
        if interrupted:
            raise KeyboardInterrupt

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        RUNNING.discard(self._proc)

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

    def prefetch(self, items: Sequence[tuple[Sequence[str], Path, int]]) -> None:
        """Hand aria2c every download whose URLs need no probe, in this order, in one
        request: (urls, dest_tmp, size) each. aria2c runs ``jobs`` at once and starts the
        next the moment one ends; ``fetch`` of the same dest and URLs then just waits for
        it. Files complete from an earlier run are left out. Best effort: on any failure
        the fetches add their own downloads."""
        if not items:
            return
        try:
            rpc = self._started()  # NOTE: first: what the early start began is queued then
            with self._lock:
                todo = [
                    (tuple(urls), Path(dest))
                    for urls, dest, size in items
                    if urls and not _complete(Path(dest), size) and str(dest) not in self._queued
                ]
            if not todo:
                return
            self._tmp_dir.mkdir(parents=True, exist_ok=True)
            calls = [("aria2.addUri", [list(urls), self._options(dest)]) for urls, dest in todo]
            gids = rpc.multicall(calls)
        except (RemoteError, OSError, ValueError):
            return
        with self._lock:
            for (urls, dest), gid in zip(todo, gids):
                if isinstance(gid, str):
                    self._queued[str(dest)] = (urls, gid, False)

    def _add(self, rpc: Rpc, urls: list[str], dest: Path) -> str:
        """The gid of ``dest``'s download: the queued one if it has these URLs, else a new
        one (a queued one with other URLs, say a remote that failed, is removed first) put
        at the head of aria2's queue: a worker is waiting for it."""
        with self._lock:
            queued = self._queued.pop(str(dest), None)
        if queued is not None:
            if list(queued[0]) == urls:
                return queued[1]
            self._remove(rpc, queued[1])
            if queued[2]:  # started before the plan: its bytes come from no source we chose
                discard_partial(dest)
        gid = rpc.call("aria2.addUri", urls, self._options(dest))
        with contextlib.suppress(RemoteError):
            rpc.call("aria2.changePosition", gid, 0, "POS_SET")
        return gid

    def _fetch(
        self,
        urls: list[str],
        dest_tmp: Path,
        expected: Expected,
        size: int,
        headers: dict[str, str],
        progress: ProgressFn | None,
    ):
        self._wait_early()  # NOTE: a download it began is queued, not taken for a leftover
        if _complete(dest_tmp, size) and str(dest_tmp) not in self._queued:
            return None  # complete from an earlier run; the store verifies it
        given_urls, given_headers = list(urls), dict(headers)
        dest_tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            # NOTE: only a token-bearing source is probed first. Without a token there is
            # nothing to keep from a redirect target, and aria2c's own plain-http hops end at
            # the fence (``_http_fence``): the probe's round trip and httpx import (~0.1 s)
            # would only delay the download.
            if headers:
                urls = resolve_redirects(
                    urls, headers, self._allow_http, self._cancel, self._prober()
                )
        except (RemoteError, Unredirected):
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
        gid, finished = None, False
        from ...store.hashing import StreamHasher

        hasher = StreamHasher(dest_tmp, blake3=expected.blake3 is not None, size=size)
        try:
            gid = self._add(rpc, list(urls), dest_tmp)
            self._follow(gid, size, progress, hasher, dest_tmp.name)
            finished = True
            return hasher
        except _Final as exc:
            hasher.close()
            if exc.discard:
                self._remove(rpc, gid)
                discard_partial(dest_tmp)
            raise
        except RemoteError:
            hasher.close()
            if self._cancel.is_set():
                raise
            self._remove(rpc, gid)
            # aria2c gives up at once on 429 and ignores Retry-After: let the built-in
            # downloader (backoff, Retry-After, Range resume) finish this file.
            return self._fallback().fetch(
                given_urls, dest_tmp, expected, size, given_headers, progress
            )
        except BaseException:
            hasher.close()
            raise
        finally:
            if finished:
                with self._lock:  # NOTE: only a finished download has no state left to save
                    self._active -= 1
            if gid is not None and finished and self._board is not None:
                self._board.forget(gid)
            elif gid is not None:
                with contextlib.suppress(Exception):
                    if not finished:
                        rpc.call("aria2.forceRemove", gid)
                    rpc.call("aria2.removeDownloadResult", gid)

    def _remove(self, rpc: Rpc, gid: str | None) -> None:
        """Stop ``gid`` and wait (bounded) until aria2c no longer writes its file."""
        if gid is None:
            return
        with contextlib.suppress(Exception):
            rpc.call("aria2.forceRemove", gid)
            for _ in range(50):
                status = rpc.call("aria2.tellStatus", gid, ["status"])["status"]
                if status not in ("active", "waiting", "paused"):
                    return
                time.sleep(0.02)

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

    def _follow(self, gid: str, size: int, progress: ProgressFn | None, hasher, name: str) -> None:
        """Wait for ``gid`` on the status board, round by round: progress, the size bound,
        stalls, and the finished prefix hashed as it grows."""
        board = self._board
        if board is None:
            raise Interrupted("download cancelled")
        label = redact(name)
        watch = SpeedWatch(self._limits, label)
        board.watch(gid)
        seen = -1
        try:
            while True:
                if self._cancel.is_set():
                    raise Interrupted("download interrupted")
                status, seen = board.wait(gid, seen)
                if status is None:
                    continue
                if "error" in status:  # aria2c no longer knows the gid
                    raise RemoteError(f"aria2c lost the download of {label}")
                done, total = int(status["completedLength"]), int(status["totalLength"])
                if progress is not None:
                    progress(min(done, size))
                if done > size or total > size:
                    raise _TooBig(
                        f"{label}: the server sends more than the locked size {size}",
                        hint="the source changed or is not this file; resolve again",
                    )
                if status["status"] == "complete":
                    return
                if status["status"] in ("error", "removed"):
                    msg = redact(status.get("errorMessage") or status["status"])
                    raise RemoteError(
                        f"aria2c: {msg} (code {status.get('errorCode')})",
                        hint="run sync again to resume, or try --no-aria2",
                    )
                try:
                    watch.update(done)
                except RemoteError as exc:
                    raise _Final(exc.message, hint=exc.hint) from None
                pieces = int(status.get("pieceLength") or 0)
                hasher.advance(_done_prefix(status.get("bitfield"), pieces, size))
        finally:
            board.unwatch(gid)


def _complete(dest: Path, size: int) -> bool:
    """A file an earlier run finished: its full size and no control file left."""
    try:
        if dest.stat().st_size != size:
            return False
    except OSError:
        return False
    return not dest.with_name(dest.name + ".aria2").exists()


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
