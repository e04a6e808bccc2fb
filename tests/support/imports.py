"""Which libraries a comfylock run imports: the run in a fresh interpreter, its output and
the heavy modules it loaded (a no-op must not pay for click, a remote-served sync for boto3
or httpx)."""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["imported_in_child"]

_MARK = "\x00imported: "  # after everything the run printed
_LOADED = "print({mark!r} + repr(sorted(m for m in {modules!r} if m in sys.modules)), flush=True)\n"
_CLI = "from comfylock.cli import _run\nrc = _run({args!r})\n" + _LOADED + "sys.exit(rc)\n"
# NOTE: the console script ends the process itself once the command is over (without the
# interpreter's teardown, ``__main__._exit_now``): what it loaded is said by an atexit
# handler, which it runs first
_SCRIPT = (
    "import atexit\n"
    "atexit.register(lambda: " + _LOADED.strip() + ")\n"
    "sys.argv = ['comfylock', *{args!r}]\n"
    "from comfylock.__main__ import main\n"
    "main()\n"
)


def imported_in_child(
    args: list[str], modules: tuple[str, ...], *, env=None, script: bool = False
) -> tuple[str, int, list[str]]:
    """(stdout, exit code, the ``modules`` it imported) of comfylock run with ``args`` in a
    new interpreter: the console script's entry (``script``) or the CLI's."""
    body = (_SCRIPT if script else _CLI).format(args=list(args), mark=_MARK, modules=modules)
    out = subprocess.run(
        [sys.executable, "-c", "import sys\n" + body],
        capture_output=True,
        text=True,
        env=env if env is not None else os.environ.copy(),
    )
    stdout, _, last = out.stdout.rpartition(_MARK)
    try:
        loaded = eval(last, {})  # noqa: S307 — our own repr of a list[str]
    except (SyntaxError, ValueError):
        raise AssertionError(f"the child failed: {out.stdout}\n{out.stderr}") from None
    rc = out.returncode
    return stdout, rc, loaded
