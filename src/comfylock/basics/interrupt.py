"""Ctrl-C in the console script's own process: never lost, never a hang.

Python raises KeyboardInterrupt at whatever bytecode the main thread is running when the
signal arrives. Two places make that go wrong with threads at work (the early aria2c start
imports aria2p on its own thread while the plan is made): inside the import system's own
locking code a KeyboardInterrupt can leave the global import lock held for good, so the other
thread's next import (and whoever joins it) waits forever; and inside a weakref callback or a
``__del__`` it is printed as "Exception ignored" and dropped, so the Ctrl-C is lost. Both were
seen under load as a sync that did not react to Ctrl-C at all.

So the handler installed here never raises inside the import system (it tries again a few
milliseconds later), raises again a KeyboardInterrupt that Python dropped, and arms a
watchdog: ``GRACE`` seconds after the first Ctrl-C the process ends with exit 130 whatever
shutting down waits on (a worker thread blocked on a server that stopped sending), the aria2c
it started stopped first; a second Ctrl-C ends it so at once. Nothing is lost by that:
partial downloads resume and the store holds only verified blobs. Installed by ``__main__``
only, never for an in-process caller."""

from __future__ import annotations

import os
import sys

__all__ = ["GRACE", "answered", "install", "leave", "say"]

GRACE = 10.0  # seconds the process may take to shut down after a Ctrl-C
_RETRY = 0.02  # seconds before a deferred or dropped KeyboardInterrupt is raised again
_IMPORT_SYSTEM = "<frozen importlib._bootstrap"  # its frames' file names (and _external)

_state: dict = {"line": "error: interrupted\n", "at": False, "answered": False, "watchdog": None}


def install(args: list[str]) -> None:
    """Take over SIGINT for this process (``args``: the command line, for the exit line)."""
    import _signal  # NOTE: the builtin, not ``signal`` (its enums cost the no-op path ~1 ms)

    from .argv import interrupted_message  # NOTE: now: the watchdog must not import

    _state["line"] = f"error: {interrupted_message(list(args))}\n"
    if _signal.getsignal(_signal.SIGINT) is not _signal.default_int_handler:
        return  # ignored by whoever started us (a background job): leave it so
    _signal.signal(_signal.SIGINT, _on_sigint)
    if hasattr(_signal, "setitimer"):
        _signal.signal(_signal.SIGALRM, _on_retry)
    previous = sys.unraisablehook

    def unraisable(info) -> None:
        if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt):
            _retry_soon()  # dropped where Python could not raise it: raised again shortly
            return
        previous(info)

    sys.unraisablehook = unraisable


def say() -> None:
    """Print the interrupted line (``error: interrupted; ...``) on standard error, once."""
    sys.stderr.write(_state["line"])
    answered()


def answered() -> None:
    """The interrupted line has been printed (the watchdog does not print it again)."""
    _state["answered"] = True


def leave() -> None:
    """Exit 130 (the line printed), the watchdog armed should shutting down hang, and any
    aria2c this process started and did not stop (its owner's cleanup interrupted) stopped."""
    _arm()
    _stop_aria2()
    sys.exit(130)


def _stop_aria2() -> None:
    backend = sys.modules.get("comfylock.sync.download.aria2proc")  # NOTE: never imported
    if backend is not None:
        backend.stop_running()


def _on_sigint(signum, frame) -> None:
    if _state["at"]:
        _exit_now()  # a second Ctrl-C: the user will not wait for the shutdown
    _state["at"] = True
    _arm()
    _raise_unless_importing(frame)


def _on_retry(signum, frame) -> None:
    _raise_unless_importing(frame)


def _raise_unless_importing(frame) -> None:
    if frame is not None and frame.f_code.co_filename.startswith(_IMPORT_SYSTEM):
        _retry_soon()
        return
    raise KeyboardInterrupt


def _retry_soon() -> None:
    import _signal

    if hasattr(_signal, "setitimer"):
        _signal.setitimer(_signal.ITIMER_REAL, _RETRY)


def _arm() -> None:
    if _state["watchdog"] is not None:
        return
    import threading  # NOTE: safe here: the import lock is never left held (see above)

    timer = threading.Timer(GRACE, _exit_now)
    timer.daemon = True
    _state["watchdog"] = timer
    timer.start()


def _exit_now() -> None:
    """End the process at once: the interrupted line written if nothing printed it yet
    (straight to the file descriptor: the stream's lock may be held), the aria2c it started
    stopped first (it would stop on its own once this process is gone, a moment later)."""
    if not _state["answered"]:
        try:
            os.write(2, _state["line"].encode("utf-8", "replace"))
        except OSError:
            pass
    _stop_aria2()
    os._exit(130)
