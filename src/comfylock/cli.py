"""The command-line shell: global options, lazy subcommands, one place that maps errors.

Subcommands live in ``comfylock.commands.<name>`` and are imported only when run (or when
``--help`` lists them), so start-up stays under 0.1 s. Each command parses its options,
calls one library function and renders the result.
"""

from __future__ import annotations

import importlib
import sys

import click

from . import __version__
from .basics.argv import GLOBAL_FLAGS, GLOBAL_VALUE_OPTIONS, command_index, interrupted_message

__all__ = ["cli", "echo_printed", "json_option", "main", "pass_project", "pass_settings"]

# name -> (module, attribute); the order here is the order in `--help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("comfylock.commands.inspect", "inspect_cmd"),
    "scan": ("comfylock.commands.scan", "scan_cmd"),
    "report": ("comfylock.commands.report", "report_cmd"),
    "resolve": ("comfylock.commands.resolve", "resolve_cmd"),
    "check": ("comfylock.commands.check", "check_cmd"),
    "sync": ("comfylock.commands.sync", "sync_cmd"),
    "status": ("comfylock.commands.status", "status_cmd"),
    "diff": ("comfylock.commands.diff", "diff_cmd"),
    "add": ("comfylock.commands.add", "add_cmd"),
    "why": ("comfylock.commands.why", "why_cmd"),
    "verify": ("comfylock.commands.verify", "verify_cmd"),
    "gc": ("comfylock.commands.gc", "gc_cmd"),
    "du": ("comfylock.commands.du", "du_cmd"),
    "cache": ("comfylock.commands.cache", "cache_cmd"),
    "push": ("comfylock.commands.push", "push_cmd"),
    "doctor": ("comfylock.commands.doctor", "doctor_cmd"),
    "help": ("comfylock.commands.help", "help_cmd"),
}

# Global options are accepted before or after the command name: ``_hoist_globals``
# moves any found after it to the front, where the group parses them (``basics/argv.py``).

EXIT_INTERNAL = 70


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module = importlib.import_module(spec[0])
        return getattr(module, spec[1])

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.6)
            maybe = f"; did you mean `comfylock {close[0]}`?" if close else ""
            ctx.fail(f"no such command {name!r}{maybe}")
        return super().resolve_command(ctx, args)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--lock",
    "lock",
    metavar="PATH",
    help="Lock file (default: comfy.lock here or in the nearest parent with one).",
)
@click.option(
    "--comfyui-root",
    metavar="DIR",
    help="ComfyUI install, the folder with main.py, models/, custom_nodes/ "
    "(default: $COMFYUI_ROOT).",
)
@click.option("--models-dir", metavar="DIR", help="Models tree (default: <ComfyUI root>/models).")
@click.option(
    "--store", metavar="DIR", help="Blob store (default: $COMFYLOCK_STORE or the user cache dir)."
)
@click.option("-v", "--verbose", count=True, help="More detail; -v also shows tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR=1).")
@click.option(
    "--json", "as_json", is_flag=True, help="JSON on stdout, for commands that print data."
)
@click.version_option(
    __version__, "--version", prog_name="comfylock", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(
    ctx: click.Context, lock, comfyui_root, models_dir, store, verbose, quiet, no_color, as_json
) -> None:
    """Pin the models and custom nodes of ComfyUI workflows, and make any machine match.

    \b
    Typical loop:
      comfylock inspect workflows/          what do these workflows need?
      comfylock resolve                     pin it all in comfy.lock
      comfylock check                       CI gate: is the lock up to date?
      comfylock sync --comfyui-root DIR     make this machine match the lock
      comfylock doctor                      where is everything, does it work?

    Global options go before or after the command. The lock is comfy.lock in the current
    directory or the nearest parent that has one (or a comfylock.toml).

    Exit codes: 0 ok, 1 finding (stale/missing/unpinned), 2 usage or input error,
    3 network, 4 integrity, 5 conflict, 6 local disk or permission error, 130 interrupted.
    """
    from .settings import check_comfyui_root, make_settings

    ctx.obj = make_settings(
        lock=lock,
        comfyui_root=comfyui_root,
        models_dir=models_dir,
        store=store,
        verbose=verbose,
        quiet=quiet,
        json=as_json,
        no_color=no_color,
    )
    # NOTE: checked here, before any command runs, so a typo changes nothing (SPEC §2);
    # doctor reports a bad root as one of its findings instead of stopping.
    # sync checks it itself: with --install-comfyui an empty or missing root is the point.
    if ctx.obj.comfyui_root is not None and ctx.invoked_subcommand not in ("doctor", "sync"):
        check_comfyui_root(
            ctx.obj.comfyui_root, given_as="--comfyui-root" if comfyui_root else "COMFYUI_ROOT"
        )


pass_settings = click.pass_obj


def pass_project(command):
    """Like ``pass_settings``, but hands the command the ``Project`` those settings locate:
    one value per run, each part (config, lock, workflows) loaded once, when first used."""
    import functools

    @click.pass_obj
    @functools.wraps(command)
    def with_project(settings, *args, **kwargs):
        from .project.loading import Project

        return command(Project(settings), *args, **kwargs)

    return with_project


def echo_printed(printed) -> None:
    """Print a renderer's ``Printed`` lines in order, each to its stream."""
    for to_stderr, line in printed:
        click.echo(line, err=to_stderr)


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout."
)


def _fail(message: str, code: int) -> int:
    from .basics.redact import redact  # NOTE: the last guard: no message prints a secret
    from .pathsafe import printable

    click.echo(f"error: {printable(redact(message))}", err=True)
    return code


def usage_line(exc: click.ClickException) -> str:
    """Click's complaint as our one error line, with one pointer to the right ``--help``
    (click's own form is three lines, ``Error:`` capitalised, the pointer above it)."""
    message = exc.format_message().rstrip(".")
    if message[:2].istitle():  # click's "No such option" → our lower-case "no such option"
        message = message[0].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    if ctx is None or "--help" in message:
        return message
    return f"{message} (see `{ctx.command_path} --help`)"


def _is_verbose_flag(arg: str) -> bool:
    return arg == "--verbose" or (arg.startswith("-v") and set(arg[1:]) == {"v"})


def _hoist_globals(args: list[str]) -> list[str]:
    """Move global options given after the command name in front of it (``comfylock sync
    --comfyui-root X`` == ``comfylock --comfyui-root X sync``). Stops at ``--``."""
    at = command_index(args)
    if at is None:
        return args
    front, rest, moved = list(args[: at + 1]), [], []
    i = at + 1
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_VALUE_OPTIONS:
            take = 1 if "=" in arg else 2
            moved.extend(args[i : i + take])
            i += take
            continue
        if arg in GLOBAL_FLAGS or _is_verbose_flag(arg):
            moved.append(arg)
        else:
            rest.append(arg)
        i += 1
    return [*front[:at], *moved, *front[at:], *rest]


# Output that is data, never re-wrapped: JSON, a script, Markdown, the shell's help.
_DATA_FORMATS = ("json", "script", "markdown")


def output_width() -> int | None:
    """The width lines must fit: ``COLUMNS`` when given, else the terminal's; None (plain
    lines, as long as they are) when stdout is not a terminal."""
    import os

    cols = os.environ.get("COLUMNS", "")
    if cols.isdigit() and int(cols) >= 20:
        return int(cols)
    if sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size().columns
    return None


def _given_globals(args: list[str]) -> list[tuple[str, str]]:
    """The global options with a value this run was given, as typed (after hoisting)."""
    at = command_index(args)
    front = args[:at] if at is not None else args
    out, i = [], 0
    while i < len(front):
        name, eq, value = front[i].partition("=")
        if name in GLOBAL_VALUE_OPTIONS:
            if not eq:
                value = front[i + 1] if i + 1 < len(front) else ""
                i += 1
            out.append((name, value))
        i += 1
    return out


def _fit_output(args: list[str]) -> None:
    """Hints carry this run's global options (so a copied hint acts on the same project),
    and every line fits the width (render.text.fit_line), unless what the command prints
    is data (``--json``, ``--format json|script|markdown``)."""
    from .render.text import FittingStream, HintStream

    width = None if _prints_data(args) else output_width()
    if width is not None and not isinstance(sys.stdout, (FittingStream, HintStream)):
        sys.stdout = FittingStream(sys.stdout, width)
        sys.stderr = FittingStream(sys.stderr, width)
    given = _given_globals(args)
    if given and not isinstance(sys.stdout, HintStream):  # NOTE: outermost: fitting sees
        sys.stdout = HintStream(sys.stdout, given)  # the hints as they will be printed
        sys.stderr = HintStream(sys.stderr, given)


def _prints_data(args: list[str]) -> bool:
    if "--json" in args:
        return True
    for i, arg in enumerate(args):
        value = arg.split("=", 1)[1] if arg.startswith("--format=") else None
        if arg == "--format" and i + 1 < len(args):
            value = args[i + 1]
        if value in _DATA_FORMATS:
            return True
    return False


def _run(args: list[str] | None, *, fast: bool = True) -> int:
    """Run one invocation; ``fast`` tries the no-op receipt first (``sync/receipt.py``;
    the console script has tried it already, before importing click)."""
    from .sync import receipt

    raw = list(args if args is not None else sys.argv[1:])
    key = receipt.begin(raw)
    if fast and key is not None:
        code = receipt.replay(key)
        if code is not None:
            return code
    return _run_cli(_hoist_globals(raw))


def _run_cli(args: list[str]) -> int:
    from .basics.redact import redacting_streams

    verbose = any(_is_verbose_flag(a) for a in args)
    streams = sys.stdout, sys.stderr
    _fit_output(args)
    try:
        # NOTE: outermost, so it sees whole messages before they are fitted to the width:
        # the last guard, nothing printed carries a secret.
        with redacting_streams():
            return _invoke(args, verbose)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()  # a line still pending in a FittingStream
            except (BrokenPipeError, ValueError):
                pass
        sys.stdout, sys.stderr = streams  # NOTE: an in-process caller gets its streams back


def _invoke(args: list[str], verbose: bool) -> int:
    try:
        rv = cli.main(args=args, prog_name="comfylock", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:  # bare `comfylock`: the help, as cargo
        click.echo(exc.ctx.get_help())
        return 0
    except click.ClickException as exc:
        return _fail(usage_line(exc), 2)
    except (KeyboardInterrupt, click.exceptions.Abort):
        from .basics import interrupt

        code = _fail(interrupted_message(args), 130)
        interrupt.answered()  # NOTE: the console script's watchdog does not say it again
        return code
    except BrokenPipeError:
        return 0
    except SystemExit:
        # NOTE: click answers a closed pipe (``| head``) with its own exit 1, which here
        # means "a finding"; the reader left, as a BrokenPipeError says: 0
        if isinstance(sys.stdout, click.utils.PacifyFlushWrapper):
            return 0
        raise
    except Exception as exc:  # noqa: BLE001 — the one place errors become exit codes
        from .errors import ComfylockError

        if verbose:
            import traceback

            traceback.print_exc()
        if isinstance(exc, ComfylockError):
            return _fail(str(exc), exc.exit_code)
        if isinstance(exc, OSError):
            from .errors import describe_os_error

            return _fail(describe_os_error(exc), 6)
        return _fail(
            f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback and report it)",
            EXIT_INTERNAL,
        )


def main(args: list[str] | None = None, *, fast: bool = True) -> None:
    """The CLI's entry point (``__main__.main`` is the console script's)."""
    code = _run(args, fast=fast)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.exit(code)
