"""The one progress display of a sync: per-model and total bytes, rate and ETA, on stderr.

Used only when stderr is a terminal (and not --quiet/--json); rich is imported here, so a
sync with nothing to download never loads it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["RichProgress", "make_progress"]


class RichProgress:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._lock = threading.Lock()
        self._total = None
        self._done: dict[int, int] = {}
        self._started = False

    def task(self, label: str, total: int) -> Callable[[int], None]:
        with self._lock:
            if not self._started:
                self._progress.start()
                self._total = self._progress.add_task("total", total=0)
                self._started = True
            self._progress.update(
                self._total, total=(self._progress.tasks[self._total].total or 0) + total
            )
            task_id = self._progress.add_task(label, total=total)
            self._done[task_id] = 0

        def update(done: int) -> None:
            with self._lock:
                delta = done - self._done[task_id]
                self._done[task_id] = done
                self._progress.update(task_id, completed=done)
                self._progress.advance(self._total, delta)

        return update

    def close(self) -> None:
        if self._started:
            self._progress.stop()


def make_progress(enabled: bool):
    """A rich display when ``enabled`` (a TTY, not quiet/json), else a silent sink."""
    if enabled:
        return RichProgress()
    from .apply import NullProgress

    return NullProgress()
