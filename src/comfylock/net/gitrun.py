"""git as a child process, with the bounds every network transfer here has.

Why: git over https has no connect timeout of its own, and its transfer stall limit is off by
default, so a host that accepts the connection and never answers (a broken proxy, a dead TLS
terminator) hangs ``sync`` forever. Every git call that may reach the network gets:

- curl's stall limit (``http.lowSpeedLimit``/``lowSpeedTime`` through ``GIT_HTTP_LOW_SPEED_*``,
  set by ``urlpolicy.git_env`` for every git call) from the same ``Limits`` downloads use
  (``COMFYLOCK_LOWEST_SPEED``, ``COMFYLOCK_STALL_SECONDS``);
- a watchdog: clone and fetch run with ``--progress`` (``--quiet`` is dropped), and git is
  stopped (its whole process group: git hands https to a helper) when it has said nothing for
  ``stall_seconds`` — the bound on the connect and TLS phase curl's limit does not cover;
- an optional wall clock (``ls-remote``: one small answer).

Each failure is a RemoteError of one line (exit 3). Local git calls (status, rev-parse,
checkout) are not watched: they do not wait on anyone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..basics.redact import redact
from ..errors import RemoteError
from .limits import ENV_LOWEST_SPEED, ENV_STALL_SECONDS, Limits

__all__ = ["run_git"]

_TALKATIVE = ("clone", "fetch")  # network subcommands that report progress when asked


def _with_progress(args: Sequence[str]) -> list[str]:
    """``git clone``/``fetch`` saying what they do (the watchdog listens), quiet otherwise."""
    args = list(args)
    verb = next((a for a in args if not a.startswith("-")), "")
    if verb not in _TALKATIVE:
        return args
    at = args.index(verb)
    rest = [a for a in args[at + 1 :] if a not in ("--quiet", "-q", "--progress")]
    return [*args[: at + 1], "--progress", *rest]


def _pump(stream, sink: list[bytes], heard: list[float]) -> None:
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            return
        sink.append(chunk)
        heard[0] = time.monotonic()


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_git(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    what: str,
    cwd: Path | None = None,
    wall: float | None = None,
    limits: Limits | None = None,
) -> subprocess.CompletedProcess:
    """Run ``git *args`` that may reach the network; the CompletedProcess (text) when it ends
    by itself, RemoteError ("``what``: no answer …") when a bound stops it."""
    limits = limits or Limits.from_env()
    try:
        proc = subprocess.Popen(
            ["git", *_with_progress(args)],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # NOTE: so the watchdog can stop git's helpers with it
        )
    except FileNotFoundError:
        raise RemoteError("git is not installed", hint="install git") from None
    out: list[bytes] = []
    err: list[bytes] = []
    heard = [time.monotonic()]
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, out, heard), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, err, heard), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    started = time.monotonic()
    try:
        while True:
            try:
                proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            silent = now - heard[0] > limits.stall_seconds
            if silent or (wall is not None and now - started > wall):
                _stop(proc)
                took = f"{limits.stall_seconds:g} s" if silent else f"{wall:g} s"
                raise RemoteError(
                    redact(f"{what}: no answer for {took} (stopped)"),
                    hint=f"check the repository URL and the network; {ENV_LOWEST_SPEED} and "
                    f"{ENV_STALL_SECONDS} tune this",
                )
    finally:
        if proc.poll() is None:  # Ctrl-C, or any error here: never leave git behind
            _stop(proc)
        for pump in pumps:
            pump.join(5)
    decode = lambda chunks: b"".join(chunks).decode("utf-8", "replace")  # noqa: E731
    return subprocess.CompletedProcess(proc.args, proc.returncode, decode(out), decode(err))
