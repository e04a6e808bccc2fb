"""`comfylock check`: the CI gate. Offline."""

from __future__ import annotations

import click

from ..cli import json_option, pass_settings


@click.command("check")
@click.option("--strict", is_flag=True, help="Also fail on models matched only by file name.")
@click.option(
    "--installed",
    is_flag=True,
    help="Also fail when this machine's models tree does not match the lock.",
)
@json_option
@pass_settings
def check_cmd(settings, strict: bool, installed: bool, as_json: bool) -> int:
    """Exit 0 only if comfy.lock is up to date with the workflows and everything is pinned.

    Names each stale workflow and what changed (added, removed, renamed references) and
    each unpinned reference. Needs no network; run it in CI after every change.
    """
    import json

    from ..config import load_config
    from ..lock.cache import load_lock_cached
    from ..lock.staleness import compare
    from ..render import staleness_json, staleness_text
    from ..workflows.project import collect_workflows

    lock = load_lock_cached(settings.lock_path, settings.cache_dir)
    config = load_config(settings.project_dir)
    workflows, _ = collect_workflows((), settings.project_dir, config, cache_dir=settings.cache_dir)
    staleness = compare(lock, workflows)
    failed = not staleness.ok or (strict and bool(staleness.name_only))
    problems: list[str] = []
    if installed:
        from ..sync.installcheck import installed_problems

        problems = installed_problems(settings)
        failed = failed or bool(problems)
    if as_json or settings.json:
        click.echo(
            json.dumps(
                {
                    **staleness_json(staleness, strict=strict),
                    "installed": problems,
                    "ok": not failed,
                },
                indent=2,
            )
        )
    elif not settings.quiet or failed:
        click.echo(staleness_text(staleness, lock, strict=strict, installed=problems), nl=False)
    return 1 if failed else 0
