"""What every bench section shares: where data goes, the row shape, timing helpers."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BIN", "DATA", "GIB", "ROOT", "Row", "Section", "best_of", "run_quiet", "verdict"]

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".bench"
GIB = 1 << 30
BIN = Path(sys.executable).parent  # the venv's console scripts live beside its python


@dataclass
class Row:
    section: str
    case: str
    result: str
    ratio: str = ""  # measured against the reference, when there is one
    target: str = ""
    verdict: str = ""  # ok / MISS / "" (no target)
    note: str = ""


Section = Callable[[], list[Row]]


def best_of(n: int, fn: Callable[[], object]) -> float:
    """Best wall time of ``n`` runs (the least disturbed by the rest of the machine)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run_quiet(cmd: list[str], **kw) -> int:
    return subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw
    ).returncode


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"
