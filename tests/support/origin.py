"""An origin for farm tests and benchmarks: a threaded file server on 127.0.0.1 that caps
each connection's rate (as a CDN or Civitai does, so only parallel connections go faster)
and counts the requests and bytes it sends per file (the farm's goal: the origin serves the
set about once in total). Files are served from a directory, with single-range support."""

from __future__ import annotations

import collections
import contextlib
import http.server
import os
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["CappedHandler", "CappedServer", "capped_origin"]


class CappedHandler(http.server.BaseHTTPRequestHandler):
    """GET/HEAD of files in ``server.root``, single ranges, paced to ``server.rate`` bytes/s
    per connection, counted per file."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _name(self) -> str:
        return self.path.split("?", 1)[0].lstrip("/")

    def _file(self) -> Path | None:
        name = self._name()
        path = self.server.root / name
        return path if name and "/" not in name and path.is_file() else None

    def _range(self, size: int) -> tuple[int, int] | None:
        header = self.headers.get("Range", "")
        if not header.startswith("bytes=") or "," in header:
            return None
        first, _, last = header[6:].partition("-")
        if not first:  # a suffix range
            return max(0, size - int(last)), size - 1
        return int(first), min(size - 1, int(last)) if last else size - 1

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        with self.server.guard:
            self.server.requests[self._name()] += 1
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        size = path.stat().st_size
        span = self._range(size)
        if span is not None and span[0] >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = span if span is not None else (0, size - 1)
        self.send_response(206 if span is not None else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if span is not None:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if body:
            with contextlib.suppress(OSError), open(path, "rb") as fh:
                self._paced_send(fh, start, end - start + 1)

    def _paced_send(self, fh, offset: int, count: int) -> None:
        """sendfile in small steps, sleeping so this connection stays under the rate."""
        began, sent, step = time.monotonic(), 0, 64 * 1024
        try:
            while sent < count and not self.server.stopping.is_set():
                n = os.sendfile(
                    self.wfile.fileno(), fh.fileno(), offset + sent, min(step, count - sent)
                )
                if n == 0:
                    return
                sent += n
                ahead = sent / self.server.rate - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(ahead)
        finally:
            with self.server.guard:
                self.server.sent[self._name()] += sent


class CappedServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        pass  # aria2 drops connections it no longer needs: not worth a traceback


@contextlib.contextmanager
def capped_origin(root: Path, rate: int) -> Iterator[CappedServer]:
    """Serve ``root`` on 127.0.0.1 at ``rate`` bytes/s per connection; yields the server
    (``base_url``, ``requests`` and ``sent`` per file name) and stops it on exit."""
    srv = CappedServer(("127.0.0.1", 0), CappedHandler)
    srv.root, srv.rate, srv.stopping = Path(root), rate, threading.Event()
    srv.requests, srv.sent = collections.Counter(), collections.Counter()
    srv.guard = threading.Lock()
    srv.base_url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stopping.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)
