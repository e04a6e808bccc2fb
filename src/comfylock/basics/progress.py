"""The progress display of a sync, on stderr, readable on a terminal and in a CI log.

On a terminal (``RichProgress``): one row per download in flight plus a total row, laid out
to fit 80 columns; a finished file leaves its row and prints one line above the display.
Elsewhere (``PlainProgress``: CI, nohup, a pipe): a plain line per finished file and a
periodic total, as pip and uv do, never a carriage-return stream. Sizes are binary units
(KiB, MiB, GiB) here as everywhere else (``units.human_size``). rich is imported only
when a terminal display starts, so a sync with nothing to download never loads it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

from ..pathsafe import printable
from .units import human_size

__all__ = [
    "NullProgress",
    "PlainProgress",
    "RichProgress",
    "make_progress",
    "rate_text",
]

# The longest label a terminal row shows; longer names keep their end (the file name).
LABEL_WIDTH = 26


def _short(label: str, width: int = LABEL_WIDTH) -> str:
    """A row's label: the folder kept, then the end of the name (``loras/…model_2.safetensors``
    — a bare ``…s/model_2.safetensors`` could be any folder)."""
    if len(label) <= width:
        return label
    folder, sep, rest = label.partition("/")
    room = width - len(folder) - len(sep) - 1
    if sep and room >= 8:
        return f"{folder}/…{rest[-room:]}"
    return "…" + label[-(width - 1) :]


def _fetched_text(size: int, resumed: int, seconds: float) -> str:
    """`` (SIZE, RATE)`` of what this run fetched: a resumed download counts only the bytes
    fetched now, and says how much was already there."""
    if not size:
        return ""  # a size of 0 is "not known" (a pylock without wheel sizes)
    now = max(size - resumed, 0)
    if resumed and now < size:
        return (
            f" ({human_size(now)}, {rate_text(now, seconds)}; resumed: "
            f"{human_size(resumed)} were already here)"
        )
    return f" ({human_size(size)}, {rate_text(size, seconds)})"


def _markup_safe(label: str) -> str:
    """A model's name for a rich row: control characters escaped, ``[red]`` not markup."""
    from rich.markup import escape

    return escape(printable(label))


def rate_text(nbytes: float, seconds: float) -> str:
    return f"{human_size(int(nbytes / seconds))}/s" if seconds > 0 else "-"


class _Totals:
    """Bytes done and expected across every download, shared by both displays."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = 0
        self.done: dict[int, int] = {}
        self.files = 0
        self.finished = 0
        self.started = time.monotonic()
        self.expected: tuple[int, int] | None = None  # (files, bytes) the plan fetches
        self.keys: dict[str, int] = {}

    def add(self, label: str, total: int) -> int:
        self.total += total
        self.files += 1
        key = len(self.done)
        self.done[key] = 0
        self.keys[label] = key
        return key

    def finish(self, label: str, size: int) -> None:
        self.finished += 1
        if label in self.keys:  # a backend may stop reporting just short of the end
            self.done[self.keys[label]] = size

    @property
    def all_files(self) -> int:
        return max(self.files, self.expected[0]) if self.expected else self.files

    @property
    def all_bytes(self) -> int:
        return max(self.total, self.expected[1]) if self.expected else self.total

    @property
    def done_bytes(self) -> int:
        return sum(self.done.values())


class PlainProgress:
    """For logs: ``fetched NAME (SIZE, RATE) [i/n]`` per file and a total every ``every`` s."""

    def __init__(self, stream: TextIO, *, every: float = 10.0, clock=time.monotonic) -> None:
        self._out, self._every, self._clock = stream, every, clock
        self._t = _Totals()
        self._t.started = clock()
        self._last = self._t.started
        self._began: dict[str, float] = {}
        self._resumed: dict[str, int] = {}

    def expect(self, files: int, nbytes: int) -> None:
        """What the plan will fetch, so counts read "[2/12]" from the first file on."""
        self._t.expected = (files, nbytes)

    def _line(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def task(self, label: str, total: int, resumed: int = 0) -> Callable[[int], None]:
        """``resumed``: bytes a partial download already had (not fetched by this run)."""
        with self._t.lock:
            key = self._t.add(label, total)
            self._began[label] = self._clock()
            self._resumed[label] = resumed

        def update(done: int) -> None:
            with self._t.lock:
                self._t.done[key] = done
                now = self._clock()
                if now - self._last < self._every:
                    return
                self._last = now
                have, want = self._t.done_bytes, self._t.all_bytes
                pct = f" ({100 * have // want}%)" if want else ""
                self._line(
                    f"  {human_size(have)} of {human_size(want)}{pct}, "
                    f"{rate_text(have, now - self._t.started)}, "
                    f"{self._t.finished} of {self._t.all_files} files done"
                )

        return update

    def finished(self, label: str, size: int, verb: str = "fetched") -> None:
        with self._t.lock:
            self._t.finish(label, size)
            took = self._clock() - self._began.get(label, self._t.started)
            sized = _fetched_text(size, self._resumed.pop(label, 0), took)
            self._line(f"{verb} {printable(label)}{sized} [{self._t.finished}/{self._t.all_files}]")

    def close(self) -> None:
        pass


class RichProgress:
    """For a terminal: rows that fit 80 columns; finished files become plain lines."""

    def __init__(self) -> None:
        self._t = _Totals()
        self._progress = None
        self._tasks: dict[str, int] = {}
        self._began: dict[int, float] = {}
        self._resumed: dict[str, int] = {}
        self._total_id = None

    def expect(self, files: int, nbytes: int) -> None:
        self._t.expected = (files, nbytes)

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
        from rich.table import Column

        # label 26 + bar 16 + "123.4 MiB/456.7 MiB" 19 + rate 12 + eta 7 + gaps = 80
        self._progress = Progress(
            TextColumn(
                "{task.description}",
                table_column=Column(width=LABEL_WIDTH, no_wrap=True, overflow="ellipsis"),
            ),
            BarColumn(bar_width=12),
            TextColumn("{task.fields[sizes]}", table_column=Column(width=19, justify="right")),
            TextColumn("{task.fields[rate]}", table_column=Column(width=11, justify="right")),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._total_id = self._progress.add_task("total", total=0, sizes="", rate="")
        self._began[self._total_id] = time.monotonic()

    def task(self, label: str, total: int, resumed: int = 0) -> Callable[[int], None]:
        with self._t.lock:
            if self._progress is None:
                self._start()
            key = self._t.add(label, total)
            p = self._progress
            p.update(self._total_id, total=self._t.all_bytes, description=self._total_label())
            task_id = p.add_task(_markup_safe(_short(label)), total=total, sizes="", rate="")
            self._tasks[label] = task_id
            self._began[task_id] = time.monotonic()
            self._resumed[label] = resumed

        def update(done: int) -> None:
            with self._t.lock:
                self._t.done[key] = done
                self._show(task_id, done, total)
                self._show(self._total_id, self._t.done_bytes, self._t.all_bytes)

        return update

    def _total_label(self) -> str:
        return f"total ({self._t.finished}/{self._t.all_files} files)"

    def _show(self, task_id: int, done: int, total: int) -> None:
        elapsed = time.monotonic() - self._began.get(task_id, time.monotonic())
        self._progress.update(
            task_id,
            completed=done,
            sizes=f"{human_size(done)}/{human_size(total)}",
            rate=rate_text(done, elapsed),
        )

    def finished(self, label: str, size: int, verb: str = "fetched") -> None:
        with self._t.lock:
            self._t.finish(label, size)
            task_id = self._tasks.pop(label, None)
            if self._progress is None:
                return
            if task_id is not None:
                self._progress.remove_task(task_id)
            self._progress.update(self._total_id, description=self._total_label())
            self._show(self._total_id, self._t.done_bytes, self._t.all_bytes)
            resumed = self._resumed.pop(label, 0)
            now = max(size - resumed, 0)
            sized = f" ({human_size(size)})" if size else ""
            if size and resumed and now < size:
                sized = f" ({human_size(now)}; resumed: {human_size(resumed)} were already here)"
            self._progress.console.print(f"{verb} {_markup_safe(label)}{sized}", highlight=False)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def make_progress(mode: str, stream: TextIO | None = None):
    """``"tty"``: the rich display; ``"plain"``: lines on ``stream``; else a silent sink."""
    if mode == "tty":
        return RichProgress()
    if mode == "plain" and stream is not None:
        return PlainProgress(stream)

    return NullProgress()


class NullProgress:
    """Progress sink that shows nothing (not a TTY, --quiet, --json, tests)."""

    def task(self, label: str, total: int, resumed: int = 0) -> Callable[[int], None]:
        return lambda done: None

    def finished(self, label: str, size: int, verb: str = "fetched") -> None:
        pass

    def close(self) -> None:
        pass
