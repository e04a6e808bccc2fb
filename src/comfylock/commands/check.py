"""`comfylock check`: the CI gate. Offline."""

from __future__ import annotations

import click

from ..cli import json_option, pass_project


@click.command("check")
@click.option("--strict", is_flag=True, help="Also fail on models matched only by file name.")
@click.option(
    "--installed",
    is_flag=True,
    help="Also fail when this machine's models tree does not match the lock.",
)
@click.option(
    "--deny-license",
    "deny",
    multiple=True,
    metavar="NAME",
    help="Also fail on any model under this licence (a glob such as 'cc-by-nc-*'; "
    "'unknown': no published licence). Repeatable.",
)
@json_option
@pass_project
def check_cmd(project, strict: bool, installed: bool, deny: tuple[str, ...], as_json: bool) -> int:
    """Exit 0 only if comfy.lock is up to date with the workflows and everything is pinned.

    Names each stale workflow and what changed (added, removed, renamed references) and
    each unpinned reference. Needs no network; run it in CI after every change.
    """
    import json

    from ..lock.staleness import compare
    from ..render.resolution import staleness_json, staleness_text

    settings, lock = project.settings, project.lock
    from ..environment.pin import stale_reasons

    staleness = compare(lock, project.workflows())
    environment = stale_reasons(lock, project.config, project.dir)
    failed = not staleness.ok or (strict and bool(staleness.name_only)) or bool(environment)
    problems: list[str] = []
    if installed:
        from ..render.syncview import plan_lines
        from ..sync.installcheck import installed_plan

        base = str(settings.models_root())
        problems = [
            s for s in (x.strip() for x in plan_lines(installed_plan(project), base=base)) if s
        ]
        failed = failed or bool(problems)
    denied = []
    if deny:
        from ..lock.licensing import denied_models

        denied = denied_models(lock, deny)
        failed = failed or bool(denied)
    if as_json or settings.json:
        import msgspec

        click.echo(
            json.dumps(
                {
                    **staleness_json(staleness, strict=strict),
                    "installed": problems,
                    "environment": environment,
                    "denied": msgspec.to_builtins(denied),
                    "ok": not failed,
                },
                indent=2,
            )
        )
    elif not settings.quiet or failed:
        click.echo(
            staleness_text(
                staleness, lock, strict=strict, installed=problems, environment=environment
            ),
            nl=False,
        )
        if deny and (denied or not settings.quiet):
            from ..render.licenses import denied_lines

            click.echo("\n".join(denied_lines(denied, deny)))
    return 1 if failed else 0
