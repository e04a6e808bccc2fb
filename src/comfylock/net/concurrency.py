"""Calling a function over many items on worker threads (resolution's lookups)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = ["map_concurrent"]

T = TypeVar("T")
R = TypeVar("R")


def map_concurrent(fn: Callable[[T], R], items: Iterable[T], workers: int = 8) -> list[R]:
    """``[fn(x) for x in items]`` on worker threads, calling ``fn`` once per distinct item.

    Results keep the input order; duplicates share one call. If calls fail, the first failing
    item's exception (in input order) is raised after the others finish.
    """
    items = list(items)
    distinct: dict[Any, int] = {}
    for item in items:
        distinct.setdefault(item, len(distinct))
    keys = list(distinct)
    if not keys:
        return []
    if workers <= 1 or len(keys) == 1:
        results = [fn(k) for k in keys]
    else:
        results = _in_daemon_threads(fn, keys, min(workers, len(keys)))
    return [results[distinct[item]] for item in items]


def _in_daemon_threads(fn: Callable[[T], R], keys: list[T], workers: int) -> list[R]:
    """Daemon threads, not a ThreadPoolExecutor: on Ctrl-C a worker may wait a minute on a
    slow server, and the executor's exit hook would make the interpreter wait for it. Here
    the main thread stops waiting at once, no new call starts, and the process can exit."""
    pending = list(enumerate(keys))
    outcomes: dict[int, tuple[bool, Any]] = {}
    guard = threading.Condition()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            with guard:
                if not pending:
                    return
                index, key = pending.pop(0)
            try:
                outcome = (True, fn(key))
            except BaseException as exc:  # noqa: BLE001 — handed to the calling thread
                outcome = (False, exc)
            with guard:
                outcomes[index] = outcome
                guard.notify_all()

    for _ in range(workers):
        threading.Thread(target=worker, name="comfylock-http", daemon=True).start()
    try:
        with guard:
            while len(outcomes) < len(keys):
                guard.wait(0.2)
    except BaseException:
        stop.set()
        raise
    for index in range(len(keys)):
        ok, value = outcomes[index]
        if not ok:
            raise value
    return [outcomes[i][1] for i in range(len(keys))]
