"""Which remote has which blob: HEAD requests, in parallel, before anything is downloaded.

A remote that does not answer its first request is marked down for the whole run and
reported once; a blob it lacks is fetched from the origins. Either way the sync goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import msgspec

from ..errors import RemoteError
from . import Remote

__all__ = ["RemoteView", "probe"]

_PARALLEL = 16


class RemoteView(msgspec.Struct, frozen=True, kw_only=True):
    found: dict[str, str] = {}  # sha256 -> name of the first remote that has it
    notes: tuple[str, ...] = ()  # what went wrong, for the user (never a secret)
    down: frozenset[str] = frozenset()  # remotes that did not answer


def _ask(remote: Remote, sizes: Mapping[str, int], sha: str) -> bool | RemoteError:
    try:
        return remote.has(sha, sizes.get(sha))
    except RemoteError as exc:
        return exc


def probe(
    remotes: Sequence[Remote], shas: Sequence[str], sizes: Mapping[str, int] | None = None
) -> RemoteView:
    """HEAD each wanted digest on each remote in order, until one has it (``sizes``: what
    each blob must weigh; a remote copy of another size does not count)."""
    sizes = sizes or {}
    found: dict[str, str] = {}
    notes: list[str] = []
    down: set[str] = set()
    for remote in remotes:
        todo = [s for s in shas if s not in found]
        if not todo:
            break
        first = _ask(remote, sizes, todo[0])
        if isinstance(first, RemoteError):
            down.add(remote.name)
            notes.append(f"{first.message}; fetching from the origins")
            continue
        with ThreadPoolExecutor(min(_PARALLEL, len(todo))) as pool:
            answers = [first, *pool.map(functools.partial(_ask, remote, sizes), todo[1:])]
        errors = [a for a in answers if isinstance(a, RemoteError)]
        for sha, answer in zip(todo, answers):
            if answer is True:
                found[sha] = remote.name
        if errors:
            notes.append(f"{errors[0].message} ({len(errors)} blobs); those come from the origins")
    return RemoteView(found=found, notes=tuple(notes), down=frozenset(down))
