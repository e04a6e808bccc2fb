"""``comfylock status``: what sync would change, like ``git status``."""

from __future__ import annotations

import click

from ..cli import pass_settings
from ..pathsafe import printable

__all__ = ["render_outcome", "render_plan", "status_cmd"]


def render_plan(settings, outcome, *, applied: bool) -> None:
    """Warnings so far (stderr) and the plan (stdout); for a sync, before the work."""
    from ..sync.planview import plan_lines, summary_line

    for warning in outcome.warnings:
        click.echo(f"warning: {printable(warning)}", err=True)
    if settings.quiet:
        return
    for line in plan_lines(outcome.plan, base=outcome.models_root):
        click.echo(printable(line))  # NOTE: names may carry ESC sequences or a \r
    prefix = "Plan: " if applied and not outcome.plan.is_empty else ""
    click.echo(prefix + summary_line(outcome.plan), nl=True)


def _unresolved_error(outcome) -> None:
    names = list(outcome.unresolved)
    shown = printable(", ".join(names[:3])) + (
        f" and {len(names) - 3} more" if len(names) > 3 else ""
    )
    n = len(names)
    click.echo(
        f"error: {n} reference{'s are' if n != 1 else ' is'} not pinned in the lock, so "
        f"{'they were' if n != 1 else 'it was'} not installed: {shown} (hint: pin each with "
        "`comfylock add SOURCE --folder F --name N`; `comfylock resolve` lists candidates)",
        err=True,
    )


def render_outcome(
    settings, outcome, *, as_json: bool, applied: bool, plan_shown: int | None = None
) -> int:
    """Print the outcome; return the exit code (1 after a sync that left references unpinned).

    ``plan_shown`` is how many warnings the plan already printed before a sync's work."""
    from ..sync.planview import done_line, plan_json

    if as_json:
        import msgspec

        doc = msgspec.json.decode(plan_json(outcome.plan))
        if outcome.report is not None:
            doc["report"] = msgspec.to_builtins(outcome.report)
        doc["unresolved"] = list(outcome.unresolved)
        click.echo(msgspec.json.format(msgspec.json.encode(doc), indent=2).decode())
        return 1 if applied and outcome.unresolved else 0
    if plan_shown is None:
        render_plan(settings, outcome, applied=False)
    else:
        for warning in outcome.warnings[plan_shown:]:
            click.echo(f"warning: {printable(warning)}", err=True)
        if not settings.quiet:
            click.echo(done_line(outcome.plan, outcome.report, outcome.seconds))
            _remote_lines(outcome)
    if outcome.unresolved:
        if applied:
            _unresolved_error(outcome)
            return 1
        if not settings.quiet:
            n = len(outcome.unresolved)
            click.echo(f"{n} reference{'s' if n != 1 else ''} not pinned (sync will exit 1)")
    return 0


def _remote_lines(outcome) -> None:
    """Where the fetched blobs came from, and what ``sync --push`` uploaded (SPEC §8)."""
    report = outcome.report
    if report is not None and report.from_remote:
        click.echo(
            f"Fetched {len(report.from_remote)} from team remotes, "
            f"{len(report.from_origin)} from origins"
        )
    for line in outcome.pushed:
        click.echo(f"Pushed to {line}")


@click.command("status")
@click.option("--prune", is_flag=True, help="Also list links a sync --prune would remove.")
@click.option("--no-nodes", is_flag=True, help="Skip node packs.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@pass_settings
def status_cmd(settings, prune, no_nodes, as_json) -> int:
    """Show what `comfylock sync` would change. Exit 0 even when there is work to do."""
    from ..sync.job import SyncOptions, sync

    outcome = sync(settings, SyncOptions(dry_run=True, prune=prune, nodes=not no_nodes))
    code = render_outcome(settings, outcome, as_json=as_json or settings.json, applied=False)
    from .noop import remember

    remember(settings, outcome, code=code, nodes=not no_nodes)
    return code
