"""``comfylock status``: what sync would change, like ``git status``."""

from __future__ import annotations

import click

from ..cli import pass_settings

__all__ = ["render_outcome", "status_cmd"]


def render_outcome(settings, outcome, *, as_json: bool, applied: bool) -> int:
    """Print warnings (stderr) and the plan or its summary (stdout); return the exit code."""
    from ..sync.planview import plan_json, plan_lines, summary_line

    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        if outcome.report is None:
            click.echo(plan_json(outcome.plan))
        else:
            import msgspec

            report = msgspec.json.encode(outcome.report).decode()
            click.echo(plan_json(outcome.plan)[:-1] + f',"report":{report}}}')
        return 0
    if settings.quiet:
        return 0
    for line in plan_lines(outcome.plan, base=outcome.models_root):
        click.echo(line)
    plan = outcome.plan
    if plan.is_empty or not applied:
        click.echo(summary_line(plan))
    else:
        click.echo(f"Synced: {summary_line(plan)}")
    return 0


@click.command("status")
@click.option("--prune", is_flag=True, help="Also list links a sync --prune would remove.")
@click.option("--no-nodes", is_flag=True, help="Skip node packs.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@pass_settings
def status_cmd(settings, prune, no_nodes, as_json) -> int:
    """Show what `comfylock sync` would change. Exit 0 even when there is work to do."""
    from ..sync.job import SyncOptions, sync

    outcome = sync(settings, SyncOptions(dry_run=True, prune=prune, nodes=not no_nodes))
    return render_outcome(settings, outcome, as_json=as_json, applied=False)
