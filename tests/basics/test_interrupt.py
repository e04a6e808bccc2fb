"""Ctrl-C in the console script's process (``basics/interrupt.py``): never lost, never a hang.

Each case runs in a child process: the handler is installed for that process only, and the
signals are real."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

_PRELUDE = """
import signal, sys, threading, time
from comfylock.basics import interrupt
interrupt.install(["sync"])
"""


def _run(body: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _PRELUDE + body], capture_output=True, text=True, timeout=timeout
    )


def test_a_ctrl_c_inside_the_import_system_is_raised_once_it_is_left():
    # raised inside importlib's locking code, a KeyboardInterrupt can leave the global import
    # lock held for good (another thread's import then waits forever): it waits until the
    # main thread is out of those frames
    body = """
code = compile(
    "signal.raise_signal(signal.SIGINT)\\nfor i in range(200000): pass\\nreached = True\\n",
    "<frozen importlib._bootstrap>", "exec")
reached = False
try:
    exec(code)
    time.sleep(5)
    print("never raised")
except KeyboardInterrupt:
    print("raised after the import system's frame:", reached)
"""
    out = _run(body)
    assert out.stdout.strip() == "raised after the import system's frame: True", out


def test_a_ctrl_c_python_dropped_is_raised_again():
    # in a weakref callback (or a __del__) Python prints "Exception ignored" and drops it
    body = """
import weakref
class Thing: pass
thing = Thing()
ref = weakref.ref(thing, lambda r: signal.raise_signal(signal.SIGINT))
try:
    del thing
    time.sleep(5)
    print("lost")
except KeyboardInterrupt:
    print("raised again")
"""
    out = _run(body)
    assert out.stdout.strip() == "raised again", out
    assert "Exception ignored" not in out.stderr and "Traceback" not in out.stderr


def test_a_shutdown_that_hangs_after_ctrl_c_still_ends_the_process():
    # a non-daemon thread blocked for good (as a worker reading a stalled server would be)
    # is joined at exit; after a Ctrl-C the console script ends anyway, exit 130
    # and an aria2c it started (here a stand-in) is stopped on the way out, not left behind
    body = """
import subprocess
from comfylock.sync.download.aria2proc import RUNNING
helper = subprocess.Popen(["sleep", "60"], start_new_session=True)
RUNNING.add(helper)
print(helper.pid, flush=True)
interrupt.GRACE = 0.5
threading.Thread(target=threading.Event().wait).start()
interrupt.answered()
interrupt.leave()
"""
    out = _run(body)
    assert out.returncode == 130, out.stderr
    assert out.stderr == ""  # the line was printed by whoever caught the Ctrl-C
    helper = int(out.stdout.split()[0])
    _wait_for(lambda: not Path(f"/proc/{helper}").exists() or _zombie(helper))


def test_the_watchdog_says_why_it_ended_the_process_when_nothing_else_did():
    # the Ctrl-C is caught and ignored by code that then blocks: the watchdog ends the
    # process GRACE seconds later with the interrupted line and exit 130
    proc = _deaf_child(grace=0.5)
    try:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert (
        err.strip()
        == "error: interrupted; partial downloads are kept and the next run resumes them"
    )


def test_a_second_ctrl_c_ends_the_process_at_once():
    proc = _deaf_child(grace=60)
    try:
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline().strip() == "first"
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)  # the 60 s watchdog would fail this
    finally:
        proc.kill()
    assert proc.returncode == 130


def _deaf_child(grace: float) -> subprocess.Popen:
    """A child that swallows every KeyboardInterrupt (saying "first") and blocks for good,
    ready for a signal once this returns."""
    proc = _child(
        f"""
interrupt.GRACE = {grace}
ready = False
while True:
    try:
        if not ready:  # inside the try: the parent signals once it reads this line
            ready = True
            print("ready", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("first", flush=True)
"""
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _child(body: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _PRELUDE + body],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True
