"""`comfylock resolve [PATH...]`: pin every model and node pack into comfy.lock."""

from __future__ import annotations

import click

from ..cli import json_option, pass_project


@click.command("resolve")
@click.argument("paths", nargs=-1, metavar="[PATH...]")
@click.option(
    "--upgrade", is_flag=True, help="Re-resolve everything instead of keeping existing pins."
)
@click.option(
    "--offline", is_flag=True, help="Use only local files, workflow metadata, the lock and caches."
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 if the lock would change (offline).",
)
@click.option(
    "--allow-unresolved",
    is_flag=True,
    help="Write the lock even if some references stay unresolved.",
)
@click.option(
    "--fetch",
    is_flag=True,
    help="Download URL-only models once into the store to learn their hash (at most 64 GiB each; COMFYLOCK_FETCH_MAX_BYTES).",
)
@click.option("--refresh", is_flag=True, help="Bypass the API response cache.")
@json_option
@pass_project
def resolve_cmd(
    project, paths, upgrade, offline, check_only, allow_unresolved, fetch, refresh, as_json
) -> int:
    """Resolve workflows and write comfy.lock (deterministic, minimal diff).

    Default workflows: those listed in comfylock.toml, else every workflow under the lock's
    directory. Order per reference: existing pin, comfylock.toml pin, local file (by hash on
    Civitai), the workflow's own URL/hash, the known-models index, Civitai by exact name.
    """
    from ..render.resolution import resolution_json, resolution_text
    from ..resolve.job import run_resolve
    from . import shown_path

    outcome = run_resolve(
        project,
        paths,
        upgrade=upgrade,
        offline=offline or check_only,
        check_only=check_only,
        allow_unresolved=allow_unresolved,
        fetch=fetch,
        refresh=refresh,
        progress=not as_json,
    )
    settings = project.settings
    if as_json or settings.json:
        click.echo(__import__("json").dumps(resolution_json(outcome), indent=2))
    elif not settings.quiet or outcome.exit_code:
        click.echo(resolution_text(outcome, shown_lock=shown_path(outcome.lock_path)), nl=False)
    return outcome.exit_code
