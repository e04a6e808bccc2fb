"""aria2c's JSON-RPC with the standard library: calls, and one batched poll for every download.

Each download used to poll aria2c on its own (aria2p, ~0.13 s to import, then one request per
download every 0.1 s: 80 requests a second for eight downloads). Here one thread asks once
per round for every download someone waits on (``system.multicall`` of ``tellStatus``) and
wakes the waiters; a download that nobody waits on yet costs nothing. The RPC secret rides in
the request body, never on a command line; the connection is kept alive (loopback only).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ...errors import RemoteError
from .urls import redact

__all__ = ["STATUS_KEYS", "Rpc", "StatusBoard"]

# What a waiter needs of a download's status (aria2's names).
STATUS_KEYS = [
    "status",
    "totalLength",
    "completedLength",
    "errorCode",
    "errorMessage",
    "bitfield",
    "pieceLength",
]


class Rpc:
    """Calls on aria2c at ``127.0.0.1:port`` with the secret ``secret``."""

    def __init__(self, port: int, secret: str) -> None:
        self.port, self.secret = port, secret
        self._local = threading.local()

    def _post(self, body: dict, timeout: float):
        import http.client
        import json

        for attempt in (0, 1):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
                self._local.conn = conn
            conn.timeout = timeout
            try:
                conn.request(
                    "POST", "/jsonrpc", json.dumps(body), {"Content-Type": "application/json"}
                )
                return json.loads(conn.getresponse().read())
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def call(self, method: str, *params, timeout: float = 10):
        return self._call(method, [f"token:{self.secret}", *params], timeout)

    def _call(self, method: str, params: list, timeout: float):
        body = {"jsonrpc": "2.0", "id": "comfylock", "method": method, "params": params}
        reply = self._post(body, timeout)
        if "error" in reply:
            raise RemoteError(f"aria2c: {redact(str(reply['error'].get('message')))}")
        return reply["result"]

    def multicall(self, calls: Sequence[tuple[str, list]], timeout: float = 10) -> list:
        """Several calls in one request; each result is its value, or a dict with
        ``error`` (a gid aria2c no longer knows, …)."""
        if not calls:
            return []
        token = f"token:{self.secret}"
        batch = [{"methodName": m, "params": [token, *params]} for m, params in calls]
        # NOTE: the secret goes in each call; system.multicall itself takes none
        results = self._call("system.multicall", [batch], timeout)
        return [r[0] if isinstance(r, list) and r else {"error": r} for r in results]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class StatusBoard:
    """The latest status of every download someone waits on, one ``tellStatus`` multicall
    per round (``interval`` seconds apart) on a thread of its own."""

    def __init__(self, rpc: Rpc, interval: float) -> None:
        self._rpc, self._interval = rpc, interval
        self._cond = threading.Condition()
        self._watched: dict[str, int] = {}  # gid -> number of waiters
        self._status: dict[str, dict] = {}
        self._round = 0
        self._failure: Exception | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="comfylock-aria2", daemon=True)
        self._thread.start()

    def watch(self, gid: str) -> None:
        with self._cond:
            self._watched[gid] = self._watched.get(gid, 0) + 1
            self._cond.notify_all()

    def unwatch(self, gid: str) -> None:
        with self._cond:
            left = self._watched.get(gid, 1) - 1
            if left > 0:
                self._watched[gid] = left
            else:
                self._watched.pop(gid, None)
                self._status.pop(gid, None)

    def wait(self, gid: str, seen: int, timeout: float = 1.0) -> tuple[dict | None, int]:
        """(status of ``gid`` from a round newer than ``seen``, that round); the status is
        None when no round came within ``timeout``. RemoteError when aria2c stopped
        answering."""
        with self._cond:
            self._cond.wait_for(lambda: self._round > seen or self._stop, timeout)
            if self._failure is not None:
                raise RemoteError(
                    f"aria2c stopped answering ({type(self._failure).__name__})",
                    hint="run sync again to resume, or try --no-aria2",
                )
            if self._round <= seen:
                return None, seen
            return self._status.get(gid), self._round

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._watched or self._stop)
                if self._stop:
                    return
                gids = list(self._watched)
            try:
                answers = self._rpc.multicall(
                    [("aria2.tellStatus", [g, STATUS_KEYS]) for g in gids]
                )
            except Exception as exc:  # noqa: BLE001 — handed to every waiter
                with self._cond:
                    self._failure, self._stop = exc, True
                    self._round += 1
                    self._cond.notify_all()
                return
            with self._cond:
                for gid, answer in zip(gids, answers):
                    if gid in self._watched:
                        self._status[gid] = answer
                self._round += 1
                self._cond.notify_all()
                # NOTE: a wait, not a sleep: ``close`` ends it at once
                self._cond.wait_for(lambda: self._stop, self._interval)

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(2)
