"""The aria2c processes this process started and has not reaped yet, so a process that must
end now (the console script's exit after Ctrl-C, ``__main__``) stops them on its way out."""

from __future__ import annotations

import contextlib
import subprocess
import time

__all__ = ["RUNNING", "stop_running"]

# every aria2c this process started and has not reaped: what a process that must end now
# (``__main__``'s exit after Ctrl-C) stops on its way out
RUNNING: set[subprocess.Popen] = set()


def stop_running(grace: float = 2.0) -> None:
    """Stop every aria2c still running (SIGTERM: it saves its control files for resume;
    SIGKILL after ``grace`` seconds)."""
    procs = list(RUNNING)
    for proc in procs:
        with contextlib.suppress(OSError):
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                proc.kill()
                proc.wait()
