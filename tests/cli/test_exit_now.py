"""The console script ends without the interpreter's teardown once a command is over
(``__main__._exit_now``), losing nothing a normal exit keeps: the exit code, buffered
output, ``atexit`` handlers, and a non-daemon thread still running (then it exits normally).

Each case runs in a child process: ``_exit_now`` ends the process it runs in."""

from __future__ import annotations

import subprocess
import sys


def _run(body: str) -> subprocess.CompletedProcess:
    prelude = "import atexit, sys, threading, time\nfrom comfylock.__main__ import _exit_now\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + body], capture_output=True, text=True, timeout=60
    )


def test_the_code_buffered_output_and_atexit_handlers_are_kept():
    body = """
atexit.register(lambda: print("atexit ran", file=sys.stderr))
sys.stdout.write("no newline, still buffered")
_exit_now(3)
print("not reached")
"""
    done = _run(body)
    assert done.returncode == 3
    assert done.stdout == "no newline, still buffered"
    assert "atexit ran" in done.stderr


def test_the_teardown_is_skipped():
    # an object whose finalizer would print proves the normal teardown did not run
    body = """
class Loud:
    def __del__(self):
        print("torn down")
kept = Loud()
_exit_now(0)
"""
    done = _run(body)
    assert done.returncode == 0
    assert "torn down" not in done.stdout


def test_a_non_daemon_thread_still_running_gets_the_normal_exit():
    body = """
def late():
    time.sleep(0.5)
    print("thread finished", flush=True)
threading.Thread(target=late).start()
_exit_now(0)
print("normal exit path")
"""
    done = _run(body)
    assert done.returncode == 0
    assert "normal exit path" in done.stdout
    assert "thread finished" in done.stdout


def test_the_console_script_exits_with_the_commands_code(tmp_path):
    # a broken lock: the one-line error and its distinct code survive the fast exit
    (tmp_path / "comfy.lock").write_text("this is not toml = = =\n")
    done = subprocess.run(
        [sys.executable, "-m", "comfylock", "--lock", str(tmp_path / "comfy.lock"), "status"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode not in (0, 1)
    assert done.stderr.strip().count("\n") == 0 and done.stderr.startswith("error")
    assert "Traceback" not in done.stderr


def test_a_reader_that_leaves_early_is_no_finding():
    # `comfylock inspect --help | head -0`: the pipe closes before the help is written;
    # click's own answer is exit 1 (here: "a finding"); the reader left, nothing failed
    import os

    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "comfylock", "inspect", "--help"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
