"""``comfylock status``: what sync would change, like ``git status``."""

from __future__ import annotations

import click

from ..cli import echo_printed, pass_project
from .sync import env_options, environment_options

__all__ = ["status_cmd"]


@click.command("status")
@click.option("--prune", is_flag=True, help="Also list links a sync --prune would remove.")
@click.option("--no-nodes", is_flag=True, help="Skip node packs.")
@environment_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@pass_project
def status_cmd(project, prune, no_nodes, as_json, **env) -> int:
    """Show what `comfylock sync` would change. Exit 0 even when there is work to do; 1 when
    the lock leaves references unpinned (sync would not install them)."""
    from ..render.syncview import outcome_json, outcome_output
    from ..sync.job import SyncOptions, sync
    from ..sync.receipt import remember

    settings = project.settings
    options = SyncOptions(
        dry_run=True, prune=prune, nodes=not no_nodes, command="status", **env_options(env)
    )
    outcome = sync(project, options)
    if as_json or settings.json:
        click.echo(outcome_json(outcome))
        code, printed = 0, None
    else:
        printed, code = outcome_output(outcome, quiet=settings.quiet, applied=False)
        echo_printed(printed)
    remember(settings, outcome, code=code, nodes=not no_nodes, printed=printed, lock=project.lock)
    return code
