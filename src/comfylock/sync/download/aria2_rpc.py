"""aria2c's JSON-RPC through aria2p's client, and one batched poll for every download.

Each download used to poll aria2c on its own (aria2p's download objects, one request per
download every 0.1 s: 80 requests a second for eight downloads). Here one thread asks once
per round for every download someone waits on (one ``system.multicall`` of ``tellStatus``,
aria2p's ``multicall2``) and wakes the waiters; a download that nobody waits on yet costs
nothing. aria2p (~0.18 s to import here: requests, loguru) is imported by the thread that
starts aria2c, right after the process is launched, so the two overlap. The RPC secret rides
in the request body (aria2p inserts it), never on a command line or in an error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from ...errors import RemoteError
from .urls import redact

__all__ = ["STATUS_KEYS", "Rpc", "StatusBoard", "next_round"]

# What a waiter needs of a download's status (aria2's names).
STATUS_KEYS = [
    "status",
    "totalLength",
    "completedLength",
    "errorCode",
    "errorMessage",
    "bitfield",
    "pieceLength",
    "downloadSpeed",
]

SOONEST = 0.005  # s: the shortest wait between two rounds


class Rpc:
    """aria2p's ``Client`` on ``127.0.0.1:port`` with the secret ``secret``: aria2's error
    replies as RemoteError; a transport failure stays an OSError (requests' own tree)."""

    def __init__(self, port: int, secret: str, timeout: float = 10) -> None:
        from aria2p import Client

        self._client = Client(host="http://127.0.0.1", port=port, secret=secret, timeout=timeout)

    @property
    def secret(self) -> str:
        return self._client.secret

    def call(self, method: str, *params):
        from aria2p import ClientException

        try:
            return self._client.call(method, list(params))
        except ClientException as exc:
            raise RemoteError(f"aria2c: {redact(str(exc.message))}") from None

    def multicall(self, calls: Sequence[tuple[str, list]]) -> list:
        """Several calls in one request; each result is its value, or a dict with
        ``error`` (a gid aria2c no longer knows, …)."""
        if not calls:
            return []
        from aria2p import ClientException

        try:
            results = self._client.multicall2([(m, list(params)) for m, params in calls])
        except ClientException as exc:
            raise RemoteError(f"aria2c: {redact(str(exc.message))}") from None
        return [r[0] if isinstance(r, list) and r else {"error": r} for r in results]


def next_round(answers: list[dict], interval: float) -> float:
    """Seconds until the next round: ``interval``, or, once nothing is left waiting for a
    slot, when the last download will have finished at its present speed (a sync of small
    files waited up to a whole interval after its last byte for the round that saw it).
    Only the tail: sooner rounds all along cost more CPU than they save."""
    last = 0.0
    for answer in answers:
        status = answer.get("status")
        if status == "waiting":
            return interval
        try:
            left = int(answer["totalLength"]) - int(answer["completedLength"])
            speed = int(answer["downloadSpeed"])
        except (KeyError, TypeError, ValueError):
            return interval
        if status == "active":
            if speed <= 0 or left <= 0:
                return interval
            last = max(last, left / speed)
    return max(SOONEST, min(interval, last)) if last else interval


class StatusBoard:
    """The latest status of every download someone waits on, one ``tellStatus`` multicall
    per round (``interval`` seconds apart) on a thread of its own. A new waiter is answered
    by a round at most ``SOONEST`` later: its download is often done already (aria2c runs
    the whole queue; the fetches follow in lock order), and each of a worker's fetches
    waiting out an interval left finished files unverified for up to 50 ms apiece."""

    def __init__(self, rpc: Rpc, interval: float) -> None:
        self._rpc, self._interval = rpc, interval
        self._cond = threading.Condition()
        self._watched: dict[str, int] = {}  # gid -> number of waiters
        self._status: dict[str, dict] = {}
        self._round = 0
        self._forget: list[str] = []  # finished gids whose results go with the next round
        self._new = False  # a waiter came since the last round
        self._failure: Exception | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="comfylock-aria2", daemon=True)
        self._thread.start()

    def watch(self, gid: str) -> None:
        with self._cond:
            self._watched[gid] = self._watched.get(gid, 0) + 1
            self._new = True
            self._cond.notify_all()

    def unwatch(self, gid: str) -> None:
        with self._cond:
            left = self._watched.get(gid, 1) - 1
            if left > 0:
                self._watched[gid] = left
            else:
                self._watched.pop(gid, None)
                self._status.pop(gid, None)

    def forget(self, gid: str) -> None:
        """Have aria2c drop a finished download's result, with the next round's request
        rather than in a request of its own (one per file was a third of the RPC traffic
        of a sync of small files)."""
        with self._cond:
            self._forget.append(gid)

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
                forget, self._forget = self._forget, []
                self._new = False
            try:
                answers = self._rpc.multicall(
                    [("aria2.tellStatus", [g, STATUS_KEYS]) for g in gids]
                    + [("aria2.removeDownloadResult", [g]) for g in forget]
                )[: len(gids)]
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
                # NOTE: a wait, not a sleep: ``close`` ends it at once, a new waiter soon
                woken = self._cond.wait_for(
                    lambda: self._stop or self._new, next_round(answers, self._interval)
                )
            if woken and not self._stop:
                time.sleep(SOONEST)  # waiters that come together share one round

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(2)
