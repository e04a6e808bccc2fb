"""``comfylock`` (the console script) and ``python -m comfylock``.

A ``sync``/``status`` with nothing to do is answered before click is imported, in three
steps: the no-op receipt (``sync/receipt.py``: every signature it rests on unchanged, nothing
planned), the link planner (``sync/linkplan.py``: the lock known by its bytes, every model
observed afresh, a tree of links into the store), then the planned path (``planned``: the lock read from its fast copy, the tree
observed and planned as the full command does, without click's import and parsing). Any
other invocation, a plan with work in it, a warning or an error is ``cli.main``, which plans
again from scratch and says what the planned path would not.
"""

from __future__ import annotations

import os
import sys

__all__ = ["main", "planned"]


def main() -> None:
    from .basics import interrupt

    interrupt.install(sys.argv[1:])
    try:
        _main()
    except KeyboardInterrupt:
        # NOTE: a Ctrl-C before the CLI's own handler is in place (the receipt, the planned
        # pass, click's import while early downloads run) is answered as the CLI answers one
        interrupt.say()
        interrupt.leave()
    except SystemExit as done:
        if done.code == 130:
            interrupt.leave()
        if done.code is None or isinstance(done.code, int):
            _exit_now(done.code or 0)
        raise


def _exit_now(code: int) -> None:
    """End the process with ``code`` without the interpreter's teardown: freeing the ~500
    modules a sync imports (aria2p's requests and loguru, httpx) took 60-90 ms of CPU after
    the work was done, a tenth of a sync of small files. Only once the command is over:
    every non-daemon thread finished (else the normal exit joins them), the output flushed
    (else the normal exit reports it), the ``atexit`` handlers run. Nothing we write is
    left to a finalizer: files are closed by ``with``, SQLite's commits are in its files."""
    import threading

    main = threading.main_thread()
    if any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()):
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    import atexit

    atexit._run_exitfuncs()  # NOTE: CPython's own exit step (os._exit would skip them)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _main() -> None:
    from .sync import receipt

    try:
        key = receipt.parse(sys.argv[1:])
        # NOTE: one read of the receipt for both: the link planner answers from its context
        data = receipt.load(key) if key is not None else None
        code = receipt.replay_data(data)
        if code is None and data is not None:
            from .sync.linkplan import answer_data

            code = answer_data(data)
        if code is None:
            code = planned(sys.argv[1:])
        if code is not None:
            sys.stdout.flush()
            sys.exit(code)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:
        # NOTE: the answer could not be written (stdout on a full disk): one line, as the CLI
        # says any local disk failure, never a traceback
        from .basics.redact import redact
        from .errors import describe_os_error
        from .pathsafe import printable

        sys.stderr.write(f"error: {printable(redact(describe_os_error(exc)))}\n")
        sys.exit(6)
    from .cli import main as cli_main

    cli_main(fast=False)


def planned(args: list[str]) -> int | None:
    """The exit code of a ``sync``/``status`` whose plan is empty, its one line printed as
    the full command prints it (and a receipt left for the next run); None, having printed
    nothing, for anything else (the full CLI answers: a plan with work, a warning, a finding,
    an error, an option the receipt's ``parse`` does not accept)."""
    from .sync import receipt

    given = receipt.invocation(args)
    if given is None:
        return None
    command, values, flags = given
    receipt.begin(args)
    try:
        outcome, project = _plan(command, values, flags)
    except Exception:  # noqa: BLE001 — the full CLI plans again and says what is wrong
        return None
    if outcome is None:
        return None
    from .render.syncview import outcome_output

    quiet = "--quiet" in flags
    printed, code = outcome_output(outcome, quiet=quiet, applied=command == "sync")
    if code != 0 or any(to_stderr for to_stderr, _ in printed) or not _fits(printed):
        return None
    sys.stdout.write("".join(f"{line}\n" for _, line in printed))
    nodes = "--no-nodes" not in flags
    receipt.remember(
        project.settings, outcome, code=code, nodes=nodes, printed=printed, lock=project.lock
    )
    return code


def _plan(command: str, values: dict[str, str], flags: frozenset[str]):
    """(outcome, project) of an empty plan, (None, None) when there is work or anything to
    say; exceptions are the full CLI's to report."""
    from .project.loading import Project
    from .settings import check_comfyui_root, make_settings

    settings = make_settings(
        lock=values.get("--lock"),
        comfyui_root=values.get("--comfyui-root"),
        models_dir=values.get("--models-dir"),
        store=values.get("--store"),
        quiet="--quiet" in flags,
        no_color="--no-color" in flags,
    )
    if settings.comfyui_root is not None:
        check_comfyui_root(settings.comfyui_root)
    project = Project(settings)
    from .sync.job import SyncOptions, sync

    options = SyncOptions(
        dry_run=command == "status",
        locked="--locked" in flags,
        use_aria2="--no-aria2" not in flags,
        nodes="--no-nodes" not in flags,
        command=command,
    )
    outcome = sync(project, options, plan_only=True)
    if not outcome.plan.is_empty or outcome.warnings or outcome.unresolved:
        return None, None
    return outcome, project


def _fits(printed) -> bool:
    """Whether every line fits the width the full CLI would fit it to (``COLUMNS``, else the
    terminal's; no width off a terminal): a longer one is the full CLI's to wrap."""
    cols = os.environ.get("COLUMNS", "")
    if cols.isdigit() and int(cols) >= 20:
        width = int(cols)
    elif sys.stdout.isatty():
        try:
            width = os.get_terminal_size(sys.stdout.fileno())[0]
        except OSError:
            return False
    else:
        return True
    return all(len(line) <= width for _, line in printed)


if __name__ == "__main__":
    main()
