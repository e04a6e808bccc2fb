"""`comfylock help [COMMAND]`: the same text as ``--help``, for people who type ``help``."""

from __future__ import annotations

import click


@click.command("help")
@click.argument("command", required=False)
@click.pass_context
def help_cmd(ctx: click.Context, command: str | None) -> int:
    """Show the help of comfylock, or of one COMMAND (the same as `COMMAND --help`)."""
    parent = ctx.parent
    group = parent.command
    if command is None:
        click.echo(group.get_help(parent))
        return 0
    found = group.get_command(parent, command)
    if found is None:
        raise click.UsageError(f"no such command {command!r}", ctx)
    with click.Context(found, info_name=command, parent=parent) as sub:
        click.echo(found.get_help(sub))
    return 0
