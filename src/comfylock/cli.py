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

__all__ = ["cli", "json_option", "main", "pass_settings"]

# name -> (module, attribute); the order here is the order in `--help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("comfylock.commands.inspect", "inspect_cmd"),
    "scan": ("comfylock.commands.scan", "scan_cmd"),
    "report": ("comfylock.commands.report", "report_cmd"),
    "resolve": ("comfylock.commands.resolve", "resolve_cmd"),
    "check": ("comfylock.commands.check", "check_cmd"),
    "sync": ("comfylock.commands.sync", "sync_cmd"),
    "status": ("comfylock.commands.status", "status_cmd"),
    "add": ("comfylock.commands.add", "add_cmd"),
    "why": ("comfylock.commands.why", "why_cmd"),
    "verify": ("comfylock.commands.verify", "verify_cmd"),
    "gc": ("comfylock.commands.gc", "gc_cmd"),
    "cache": ("comfylock.commands.cache", "cache_cmd"),
}

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


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--lock", "lock", metavar="PATH", help="Lock file (default: ./comfy.lock).")
@click.option("--comfyui-root", metavar="DIR", help="ComfyUI install (default: $COMFYUI_ROOT).")
@click.option("--models-dir", metavar="DIR", help="Models tree (default: <ComfyUI root>/models).")
@click.option(
    "--store", metavar="DIR", help="Blob store (default: $COMFYLOCK_STORE or the user cache dir)."
)
@click.option("-v", "--verbose", count=True, help="More detail; -v also shows tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR=1).")
@click.version_option(
    __version__, "--version", prog_name="comfylock", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(
    ctx: click.Context, lock, comfyui_root, models_dir, store, verbose, quiet, no_color
) -> None:
    """Pin the models and custom nodes of ComfyUI workflows, and make any machine match.

    \b
    Typical loop:
      comfylock inspect workflows/          what do these workflows need?
      comfylock resolve                     pin it all in comfy.lock
      comfylock check                       CI gate: is the lock up to date?
      comfylock sync --comfyui-root DIR     make this machine match the lock

    Exit codes: 0 ok, 1 finding (stale/missing/unpinned), 2 usage or input error,
    3 network, 4 integrity, 5 conflict, 6 local disk or permission error, 130 interrupted.
    """
    from .settings import make_settings

    ctx.obj = make_settings(
        lock=lock,
        comfyui_root=comfyui_root,
        models_dir=models_dir,
        store=store,
        verbose=verbose,
        quiet=quiet,
        no_color=no_color,
    )


pass_settings = click.pass_obj
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout."
)


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


def _run(args: list[str] | None) -> int:
    verbose = any(
        a == "-v" or a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"})
        for a in (args if args is not None else sys.argv[1:])
    )
    try:
        rv = cli.main(args=args, prog_name="comfylock", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except (KeyboardInterrupt, click.exceptions.Abort):
        return _fail("interrupted; partial downloads are kept and the next run resumes them", 130)
    except BrokenPipeError:
        return 0
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


def main(args: list[str] | None = None) -> None:
    """Console-script entry point."""
    code = _run(args)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.exit(code)
