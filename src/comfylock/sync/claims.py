"""A cold farm's downloads (SPEC §7): claim, fetch from the origins, push, release; or wait
for the remote while another machine does.

``fetching.fetch_all`` runs this loop when the plan has claims or awaited blobs: a
``sync --push`` to an S3 remote (``Fetch.claim``), or any sync while other machines of a
farm hold claims (``Fetch.awaits``). Workers take one blob at a time:

* one nobody holds is claimed (``Remote.claim``, ``remotes/lease.py``) right before its
  download, never earlier, so the machines of a farm split the set instead of the first to
  start claiming all of it (each machine also tries the blobs in its own random order). The
  winner fetches it from the origins, verifies it, pushes it at once (``Remote.upload``, read
  once and verified by that read) and releases the lease;
* one another machine holds is set aside. One thread lists the remote's leases now and then
  (one request however many blobs wait) and hands each blob back when its lease is gone
  (pushed: from the remote; given up: claimed here) or expired (taken over here: a
  conditional write on the lease as it was, so one machine wins);
* one the remote has is fetched from it, with the origins behind it as everywhere.

A held lease is renewed every third of its life while its download runs. Without claims (a
plain ``sync``) a blob another machine holds is still awaited, and one whose lease expired or
was released comes from the origins. Every wait is bounded: after ``MAX_WAIT`` seconds, or
when the remote stops answering, the origins serve the blob.
"""

from __future__ import annotations

import collections
import os
import random
import secrets
import threading
import time
from collections.abc import Sequence

import msgspec

from ..errors import ComfylockError, RemoteError
from ..store.hashing import Expected
from .applytypes import ApplyContext
from .plan import Fetch

__all__ = ["MAX_WAIT", "fetch_claimed"]

MAX_WAIT = 3600.0  # seconds one blob may wait for another machine before the origins serve it
_POLL_FIRST, _POLL_MOST = 0.25, 2.0


class _Board:
    """What is left to do, shared by the workers and the lease poller."""

    def __init__(self, fetches: Sequence[Fetch], cancel: threading.Event) -> None:
        self.cond = threading.Condition()
        self.cancel = cancel
        self.fresh: collections.deque[Fetch] = collections.deque()
        self.ready: collections.deque[tuple[Fetch, str, object]] = collections.deque()
        self.waiting: dict[str, tuple[Fetch, float]] = {}
        self.busy = 0
        for f in fetches:
            if f.remote:
                self.ready.append((f, "remote", f.remote))
            elif f.awaits:
                self.waiting[f.sha256] = (f, time.monotonic())
            else:
                self.fresh.append(f)

    def next(self) -> tuple[Fetch, str, object] | None:
        """The next task, or None when nothing is left for anyone (or on Ctrl-C)."""
        with self.cond:
            while not self.cancel.is_set():
                if self.ready:
                    self.busy += 1
                    return self.ready.popleft()
                if self.fresh:
                    self.busy += 1
                    return self.fresh.popleft(), "try", None
                if not self.waiting and not self.busy:
                    return None
                self.cond.wait(0.5)
            return None

    def done(self) -> None:
        with self.cond:
            self.busy -= 1
            self.cond.notify_all()

    def wait_for(self, f: Fetch) -> None:
        with self.cond:
            self.waiting[f.sha256] = (f, time.monotonic())
            self.cond.notify_all()

    def give_back(self, f: Fetch, mode: str, lease=None) -> None:
        """A waiting blob's turn has come (``mode``: remote, origin, own, try)."""
        with self.cond:
            self.waiting.pop(f.sha256, None)
            if mode == "try":
                self.fresh.appendleft(f)
            else:
                self.ready.append((f, mode, lease))
            self.cond.notify_all()

    def finished(self) -> bool:
        with self.cond:
            return not (self.waiting or self.ready or self.fresh or self.busy)


class _Keeper:
    """Renews this run's leases every third of their life until they are dropped."""

    def __init__(self, remote, holder: str, seconds: int, cancel: threading.Event) -> None:
        self.remote, self.holder, self.seconds, self.cancel = remote, holder, seconds, cancel
        self._held: dict[str, object] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="comfylock-leases", daemon=True)
        self._thread.start()

    def hold(self, lease) -> None:
        with self._lock:
            self._held[lease.sha256] = lease

    def drop(self, sha256: str) -> None:
        """Release the lease (unless another machine took it over meanwhile)."""
        with self._lock:  # NOTE: never while a renewal of it is on the wire (its new ETag)
            lease = self._held.pop(sha256, None)
            if lease is not None:
                self.remote.release(lease)

    def _run(self) -> None:
        while not self._stop.wait(max(0.5, self.seconds / 3)):
            with self._lock:
                for sha, lease in list(self._held.items()):
                    try:
                        renewed = self.remote.take_over(lease, self.holder, self.seconds)
                    except RemoteError:
                        continue  # it may still be renewed in time on the next round
                    if renewed is None:
                        del self._held[sha]  # taken over: no longer ours to drop
                    else:
                        self._held[sha] = renewed

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            held, self._held = list(self._held.values()), {}
        for lease in held:
            self.remote.release(lease)


def _poll(board: _Board, remote, claiming: bool, holder: str, seconds: int) -> None:
    """Hand back waiting blobs as their leases go or expire (one listing per round). Should
    anything unforeseen stop it, every waiting blob goes to the origins: a worker never
    waits for a poller that is gone."""
    try:
        _poll_rounds(board, remote, claiming, holder, seconds)
    finally:
        with board.cond:
            left = [f for f, _ in board.waiting.values()]
        for f in left:
            board.give_back(f, "origin")


def _poll_rounds(board: _Board, remote, claiming: bool, holder: str, seconds: int) -> None:
    delay, gave_up = _POLL_FIRST, False
    while not board.cancel.wait(delay) and not board.finished():
        with board.cond:
            waiting = dict(board.waiting)
        if not waiting:
            continue
        changed = False
        try:
            listed, now = remote.leases()
        except RemoteError:
            gave_up = True
            listed, now = {}, None
        for sha, (f, since) in waiting.items():
            turn = _turn(remote, f, listed.get(sha), now, claiming, holder, seconds, gave_up)
            if turn is None and time.monotonic() - since > MAX_WAIT:
                turn = ("origin", None)
            if turn is not None:
                board.give_back(f, *turn)
                changed = True
        delay = _POLL_FIRST if changed else min(_POLL_MOST, delay * 1.5)


def _turn(remote, f: Fetch, entry, now, claiming: bool, holder: str, seconds: int, gave_up):
    """(mode, lease or remote name) for a waiting blob whose turn has come, else None."""
    if gave_up:
        return ("origin", None)
    if entry is None:  # the lease is gone: pushed, or given up by its holder
        try:
            if remote.has(f.sha256, f.size):
                return ("remote", remote.name)
        except RemoteError:
            return ("origin", None)
        return ("try", None) if claiming else ("origin", None)
    etag, modified = entry
    if now is None or modified is None or now - modified < 2:
        return None  # even the shortest lease is alive
    try:
        lease = remote.read_lease(f.sha256)
    except RemoteError:
        return ("origin", None)
    if lease is None:
        return None  # gone since the listing: the next round sees why
    import msgspec

    lease = msgspec.structs.replace(lease, modified=modified)  # the listing's ms precision
    if lease.etag != etag or not lease.is_expired(now):
        return None
    if not claiming:
        return ("origin", None)
    try:
        taken = remote.take_over(lease, holder, seconds)
    except RemoteError:
        return ("origin", None)
    return ("own", taken) if taken is not None else None


def fetch_claimed(
    fetches: Sequence[Fetch],
    ctx: ApplyContext,
    fetch_one,
    cancel: threading.Event,
    *,
    pushed: list[str],
    warnings: list[str],
) -> list[tuple[Fetch, BaseException | None]]:
    """Fetch ``fetches`` as a farm machine; [(fetch, exception or None)] in no set order.
    ``fetch_one(f, via)`` downloads one blob into the store (from remote ``via`` first, or
    the origins). Blobs pushed here go in ``pushed``; a failed push is a warning."""
    from ..remotes.lease import lease_seconds

    remote = ctx.remotes.get(ctx.claims) if ctx.claims else None
    if remote is None:  # awaited blobs only: the remote that holds the leases
        remote = next((r for r in ctx.remotes.values() if r.supports_leases), None)
    claiming = ctx.claims is not None and remote is not None
    if remote is None:  # no remote keeps leases after all: every blob as a plain sync would
        fetches = [msgspec.structs.replace(f, awaits=None, claim=None) for f in fetches]
    holder, seconds = secrets.token_hex(16), lease_seconds(ctx.env or os.environ)
    order = list(fetches)
    random.shuffle(order)  # NOTE: each machine tries the set in its own order
    board = _Board(order, cancel)
    keeper = _Keeper(remote, holder, seconds, cancel) if claiming else None
    results: list[tuple[Fetch, BaseException | None]] = []
    guard = threading.Lock()

    def work() -> None:
        while (task := board.next()) is not None:
            f, mode, arg = task
            try:
                finished, outcome = _one(f, mode, arg), None
            except BaseException as exc:  # noqa: BLE001 — handed to the calling thread
                finished, outcome = True, exc
            if finished:
                with guard:
                    results.append((f, outcome))
            board.done()

    def _one(f: Fetch, mode: str, arg) -> bool:
        """Do one task; False when the blob was set aside to wait for another machine."""
        if mode == "remote":
            fetch_one(f, arg)
            return True
        if mode == "origin" or (mode == "try" and not claiming):
            fetch_one(f, None)
            return True
        lease = arg
        if mode == "try":
            if ctx.store.has(f.sha256):
                return True
            lease = remote.claim(f.sha256, holder, seconds)
            if lease is None:
                board.wait_for(f)  # another machine's: its turn comes from the poller
                return False
        if not _pushed_meanwhile(f, lease):
            _own(f, lease)
        return True

    def _pushed_meanwhile(f: Fetch, lease) -> bool:
        """A claim won (or a lease taken over) after another machine pushed the blob (its
        push comes before its release): take the blob from the remote, drop the lease."""
        try:
            there = remote.has(f.sha256, f.size)
        except RemoteError:
            there = False
        if there:
            remote.release(lease)
            fetch_one(f, remote.name)
        return there

    def _own(f: Fetch, lease) -> None:
        keeper.hold(lease)
        try:
            fetch_one(f, None)
            expected = Expected(size=f.size, sha256=f.sha256, blake3=f.blake3)
            try:
                remote.upload(ctx.store.blob_path(f.sha256), expected, lambda n: None)
                with guard:
                    pushed.append(f.sha256)
            except ComfylockError as exc:
                with guard:
                    warnings.append(f"{f.keys[0]}: fetched, but the push failed: {exc.message}")
        finally:
            keeper.drop(f.sha256)

    if remote is not None:
        poller = threading.Thread(
            target=_poll, args=(board, remote, claiming, holder, seconds), daemon=True
        )
        poller.start()
    workers = [
        threading.Thread(target=work, name="comfylock-fetch", daemon=True)
        for _ in range(max(1, min(ctx.jobs, len(order))))
    ]
    for w in workers:
        w.start()
    try:
        for w in workers:
            while w.is_alive():
                w.join(0.2)
    except BaseException:
        cancel.set()
        raise
    finally:
        if keeper is not None:
            keeper.close()
    return results
