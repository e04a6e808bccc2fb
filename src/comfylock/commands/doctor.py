"""``comfylock doctor``: where everything is and whether it works; exit 1 on any problem."""

from __future__ import annotations

import click

from ..cli import json_option, pass_project

__all__ = ["doctor_cmd"]


@click.command("doctor")
@json_option
@pass_project
def doctor_cmd(project, as_json: bool) -> int:
    """Show the lock, ComfyUI root, models dirs, store, aria2c, git, tokens and cache.

    Each problem comes with the command or action that fixes it. Exit 1 on any problem.
    Token values are never shown, only whether they are set.
    """
    from ..checkup.checks import run_checks
    from ..pathsafe import printable

    settings = project.settings
    checks = run_checks(project)
    problems = [c for c in checks if not c.ok]
    if as_json or settings.json:
        import msgspec

        doc = {"ok": not problems, "checks": msgspec.to_builtins(checks)}
        click.echo(msgspec.json.format(msgspec.json.encode(doc), indent=2).decode())
        return 1 if problems else 0
    width = max(len(c.name) for c in checks)
    for c in checks:
        mark = "ok " if c.ok else "!! "
        click.echo(printable(f"{mark} {c.name:<{width}}  {c.detail}"))
        if c.fix:
            click.echo(printable(f"    {'':<{width}}  fix: {c.fix}"))
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found.")
    elif not settings.quiet:
        click.echo("No problems found.")
    return 1 if problems else 0
