"""Calling a function over many items on worker threads: resolution's lookups, downloads.

Daemon threads, not a ThreadPoolExecutor: on Ctrl-C a worker may sit in a socket read for a
minute (a slow server, a stalled download), and the executor's exit hook would make the
interpreter wait for it. Here the calling thread stops waiting at once, no new call starts,
and the process can exit; work that must not be cut in half (placing a blob) is guarded by
its callers, which see ``cancel``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

__all__ = ["map_concurrent", "run_each"]

T = TypeVar("T")
R = TypeVar("R")


def run_each(
    fn: Callable[[T], Any],
    items: Sequence[T],
    workers: int,
    cancel: threading.Event | None = None,
    *,
    name: str = "comfylock-worker",
) -> list[tuple[T, BaseException | None]]:
    """Call ``fn`` on every item in ``workers`` daemon threads; [(item, exception or None)]
    in input order. Setting ``cancel`` (or Ctrl-C in the caller, which sets it) stops the
    workers from starting new items."""
    cancel = cancel if cancel is not None else threading.Event()
    pending = list(enumerate(items))
    results: dict[int, BaseException | None] = {}
    guard = threading.Condition()

    def worker() -> None:
        while not cancel.is_set():
            with guard:
                if not pending:
                    return
                index, item = pending.pop(0)
            try:
                fn(item)
                outcome = None
            except BaseException as exc:  # noqa: BLE001 — handed to the calling thread
                outcome = exc
            with guard:
                results[index] = outcome
                guard.notify_all()

    for _ in range(min(max(1, workers), len(items))):
        threading.Thread(target=worker, name=name, daemon=True).start()
    try:
        with guard:
            while len(results) < len(items):
                guard.wait(0.2)
    except BaseException:
        cancel.set()
        raise
    return [(item, results[i]) for i, item in enumerate(items)]


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
        values: dict[int, R] = {}

        def call(index: int) -> None:
            values[index] = fn(keys[index])

        outcomes = run_each(call, range(len(keys)), workers, name="comfylock-http")
        for _, exc in outcomes:
            if exc is not None:
                raise exc
        results = [values[i] for i in range(len(keys))]
    return [results[distinct[item]] for item in items]
