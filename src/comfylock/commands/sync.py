"""``comfylock sync``: make the models tree and custom_nodes/ match the lock."""

from __future__ import annotations

import sys

import click

from ..cli import echo_printed, pass_project

__all__ = ["environment_options", "sync_cmd"]


def environment_options(command):
    """The environment's options (SPEC §9), shared by ``sync`` and ``status``."""
    options = [
        click.option("--no-core", is_flag=True, help="Leave the ComfyUI checkout as it is."),
        click.option("--no-python", is_flag=True, help="Leave ComfyUI's Python packages alone."),
        click.option(
            "--python",
            "python_path",
            metavar="PATH",
            help="ComfyUI's interpreter (default: $COMFYLOCK_PYTHON, <root>/.venv, <root>/venv, "
            "$VIRTUAL_ENV).",
        ),
        click.option(
            "--python-target",
            metavar="NAME",
            help="The [[python.target]] to install (default: the one for this machine).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("sync")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option(
    "--locked", is_flag=True, help="Fail (exit 1) if the lock is stale against its workflows."
)
@click.option(
    "--link",
    type=click.Choice(["auto", "symlink", "hardlink", "copy"]),
    default="auto",
    show_default=True,
    help="How models reach the tree; auto = symlink, else hardlink, else copy.",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Remove links comfylock placed that the lock no longer names (and no other lock "
    "on this machine pins).",
)
@click.option(
    "--force", is_flag=True, help="Move a user's file in the way to the store's displaced/."
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Concurrent downloads.",
)
@click.option("--no-aria2", is_flag=True, help="Use the built-in httpx downloader.")
@click.option("--no-nodes", is_flag=True, help="Skip node packs.")
@click.option(
    "--push",
    is_flag=True,
    help="Push what this run fetched from origins to the push remotes (on S3, each blob "
    "claimed first: machines started together fetch it once between them).",
)
@environment_options
@click.option(
    "--exact", is_flag=True, help="Also uninstall Python packages the lock does not name."
)
@click.option("--torch", is_flag=True, help="Let sync change the torch stack too.")
@click.option(
    "--install-comfyui",
    is_flag=True,
    help="Clone ComfyUI and create its .venv when --comfyui-root is empty or missing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@pass_project
def sync_cmd(
    project, dry_run, locked, link, prune, force, jobs, no_aria2, no_nodes, push, as_json, **env
) -> int:
    """Make this machine match comfy.lock (models, then node packs).

    Prints the plan first, then progress on stderr (a live display on a terminal; a line
    per finished file and a periodic total in a CI log), then what was done. Exits 1 when
    the lock leaves references unpinned (after installing everything it does pin).
    """
    from ..render.syncview import outcome_json, outcome_output, plan_output
    from ..sync.job import SyncOptions, sync
    from ..sync.receipt import remember

    settings = project.settings
    as_json = as_json or settings.json
    _check_root(settings, env["install_comfyui"])

    options = SyncOptions(
        dry_run=dry_run,
        locked=locked,
        link=link,
        prune=prune,
        force=force,
        jobs=jobs,
        use_aria2=not no_aria2,
        nodes=not no_nodes,
        push=push,
        **env_options(env),
    )
    progress = None
    if not (as_json or settings.quiet or dry_run):
        from ..basics.progress import make_progress

        progress = make_progress("tty" if sys.stderr.isatty() else "plain", sys.stderr)
    shown: list[int] = []

    def show_plan(outcome) -> None:
        if progress is not None:
            fetch, env = outcome.plan.fetch, outcome.plan.environment
            py = env.python if env is not None and env.python is not None else None
            packages = (*py.add, *py.change) if py is not None else ()
            progress.expect(
                len(fetch) + len(packages),
                sum(f.size for f in fetch) + sum(p.size for p in packages),
            )
        if not as_json:
            echo_printed(plan_output(outcome, quiet=settings.quiet, applied=True))
            shown.append(len(outcome.warnings))

    try:
        outcome = sync(project, options, progress=progress, on_plan=show_plan)
    finally:
        if progress is not None:
            progress.close()
    if as_json:
        click.echo(outcome_json(outcome))
        code, printed = (1 if not dry_run and outcome.unresolved else 0), None
    else:
        printed, code = outcome_output(
            outcome,
            quiet=settings.quiet,
            applied=not dry_run,
            plan_shown=shown[0] if shown else None,
        )
        echo_printed(printed)
    remember(settings, outcome, code=code, nodes=not no_nodes, printed=printed, lock=project.lock)
    return code


def env_options(env: dict) -> dict:
    """``environment_options`` (and sync's own) as ``SyncOptions`` fields."""
    return {
        "core": not env.pop("no_core"),
        "python": not env.pop("no_python"),
        **env,
    }


def _check_root(settings, install: bool) -> None:
    """The --comfyui-root check the group leaves to sync (SPEC §9): an empty or missing root
    is exit 2 unless --install-comfyui asks to build ComfyUI there."""
    root = settings.comfyui_root
    if root is None:
        if install:
            from ..errors import UsageError

            raise UsageError(
                "--install-comfyui needs --comfyui-root DIR (an empty or missing folder)"
            )
        return
    from ..environment.survey import is_empty_root
    from ..settings import check_comfyui_root

    if install and is_empty_root(root):
        if not root.parent.is_dir():
            from ..errors import UsageError

            raise UsageError(f"--comfyui-root {root}: its parent folder does not exist")
        return
    given = click.get_current_context().find_root().params.get("comfyui_root")
    check_comfyui_root(root, given_as="--comfyui-root" if given else "COMFYUI_ROOT")
