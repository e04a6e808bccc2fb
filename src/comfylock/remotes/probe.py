"""Which remote has which blob: HEAD requests, in parallel, before anything is downloaded.

The HEADs run on as many threads as the remote's latency needs: one kept-alive connection
answers a LAN mirror's 40 HEADs in ~20 ms, where 16 threads and connections cost ~0.1 s of
CPU (a sync of LoRAs pays it while aria2c downloads); across the internet, up to 16 at once.

A remote that does not answer its first request is marked down for the whole run and
reported once; a blob it lacks is fetched from the origins. Either way the sync goes on.
For a blob no remote has, the first remote that keeps leases (S3) is also asked which of
them another machine has claimed (one listing, then one read per live lease): those are
expected from the remote once pushed (a cold farm, ``remotes/lease.py``).

A blob an early download already asks the remote for (``sync/early.py``: aria2c has been
fetching it since before the plan) is not asked again: that GET is its probe, and a 404 sends
the fetch to the origins as a HEAD's answer would have (``unconfirmed``). The remote's first
request still tells whether it is up, and on a remote that keeps leases a blob another
machine has claimed is asked as always (the same listing), so a cold farm's waits are kept.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import msgspec

from ..errors import RemoteError
from . import Remote

__all__ = ["RemoteView", "probe"]

_PARALLEL = 16
_TARGET = 0.02  # seconds the rest of one remote's HEADs aim to take, threads permitting


class RemoteView(msgspec.Struct, frozen=True, kw_only=True):
    found: dict[str, str] = {}  # sha256 -> name of the first remote that has it
    notes: tuple[str, ...] = ()  # what went wrong, for the user (never a secret)
    down: frozenset[str] = frozenset()  # remotes that did not answer
    leased: dict[str, str] = {}  # sha256 -> remote where another machine holds a live lease
    unconfirmed: frozenset[str] = frozenset()  # found: an early download asks for it (no HEAD)


def _ask(remote: Remote, sizes: Mapping[str, int], sha: str) -> bool | RemoteError:
    try:
        return remote.has(sha, sizes.get(sha))
    except RemoteError as exc:
        return exc


def probe(
    remotes: Sequence[Remote],
    shas: Sequence[str],
    sizes: Mapping[str, int] | None = None,
    *,
    asked: Mapping[str, str] | None = None,
) -> RemoteView:
    """HEAD each wanted digest on each remote in order, until one has it (``sizes``: what
    each blob must weigh; a remote copy of another size does not count). ``asked``: sha256
    -> the remote an early download of it asks; taken as found there, unconfirmed."""
    sizes, asked = sizes or {}, asked or {}
    found: dict[str, str] = {}
    notes: list[str] = []
    down: set[str] = set()
    unconfirmed: set[str] = set()
    listings: dict[str, tuple] = {}  # remote name -> its leases listing, made once
    for remote in remotes:
        todo = [s for s in shas if s not in found]
        if not todo:
            break
        mine = [s for s in todo if asked.get(s) == remote.name]
        # NOTE: its first answer says whether the remote is up (and how far away it is)
        head = next((s for s in todo if s not in mine), todo[0])
        first = _ask(remote, sizes, head)
        if isinstance(first, RemoteError):
            down.add(remote.name)
            notes.append(f"{first.message}; fetching from the origins")
            continue
        trusted = {s for s in _unclaimed(remote, mine, listings) if s != head}
        for sha in trusted:
            found[sha] = remote.name
        unconfirmed |= trusted
        todo = [head, *(s for s in todo if s not in trusted and s != head)]
        answers = [first, *_ask_all(remote, sizes, todo[1:])]
        errors = [a for a in answers if isinstance(a, RemoteError)]
        for sha, answer in zip(todo, answers):
            if answer is True:
                found[sha] = remote.name
        if errors:
            notes.append(f"{errors[0].message} ({len(errors)} blobs); those come from the origins")
    farm = next((r for r in remotes if r.supports_leases and r.name not in down), None)
    leased: dict[str, str] = {}
    if farm is not None:
        leased = _leased(farm, [s for s in shas if s not in found], notes, listings)
    return RemoteView(
        found=found,
        notes=tuple(notes),
        down=frozenset(down),
        leased=leased,
        unconfirmed=frozenset(unconfirmed),
    )


def _unclaimed(remote: Remote, shas: list[str], listings: dict) -> list[str]:
    """Those of ``shas`` no machine holds a lease on at ``remote`` (on a remote without
    leases, all of them); none when the listing fails (each is then asked)."""
    if not shas or not remote.supports_leases:
        return shas
    try:
        listed = _listing(remote, listings)[0]
    except RemoteError:
        return []
    return [s for s in shas if s not in listed]


def _listing(remote: Remote, listings: dict) -> tuple:
    """``remote.leases()``, asked once per probe."""
    if remote.name not in listings:
        listings[remote.name] = remote.leases()
    return listings[remote.name]


def _ask_all(remote: Remote, sizes: Mapping[str, int], shas: Sequence[str]) -> list:
    """The answers for ``shas``, in order: the first asked here (its connection is open
    now: the time it takes is the remote's latency), the rest on ``workers`` threads."""
    if not shas:
        return []
    ask = functools.partial(_ask, remote, sizes)
    start = time.perf_counter()
    answers = [ask(shas[0])]
    rest = shas[1:]
    threads = workers(len(rest), time.perf_counter() - start)
    if threads <= 1:
        return answers + [ask(sha) for sha in rest]
    with ThreadPoolExecutor(threads) as pool:
        return answers + list(pool.map(ask, rest))


def workers(left: int, each: float) -> int:
    """Threads for ``left`` more requests of ``each`` seconds: as few as finish them in
    about ``_TARGET`` (one on a LAN; up to ``_PARALLEL`` across the internet)."""
    if left <= 0:
        return 0
    return max(1, min(_PARALLEL, left, math.ceil(left * each / _TARGET)))


def _leased(
    remote: Remote, shas: Sequence[str], notes: list[str], listings: dict
) -> dict[str, str]:
    """Which of ``shas`` another machine holds a live lease on, at ``remote``."""
    if not shas:
        return {}
    try:
        listed, now = _listing(remote, listings)
        held = {}
        for sha in (s for s in shas if s in listed):
            lease = remote.read_lease(sha)
            if lease is not None and not lease.is_expired(now):
                held[sha] = remote.name
        return held
    except RemoteError as exc:
        notes.append(f"{exc.message}; claims of other machines are not known")
        return {}
