"""`comfylock why NAME`: which workflows and nodes use a model or a node pack."""

from __future__ import annotations

import click

from ..cli import json_option, pass_settings


@click.command("why")
@click.argument("name")
@json_option
@pass_settings
def why_cmd(settings, name: str, as_json: bool) -> int:
    """Show which workflows and nodes use NAME.

    NAME may be a model (folder/name, a path inside its folder, or a bare file name), a
    node pack id from the lock, or a node class name. Exit 1 when nothing uses it.
    """
    import json

    from ..config import load_config
    from ..lock.file import load
    from ..pathsafe import printable
    from ..workflows.project import collect_workflows
    from ..workflows.usage import find_uses

    config = load_config(settings.project_dir)
    workflows, _ = collect_workflows((), settings.project_dir, config, strict_names=False)
    lock = load(settings.lock_path) if settings.lock_path.exists() else None
    uses = find_uses(name, workflows, lock)
    if as_json or settings.json:
        click.echo(json.dumps({"name": name, "uses": uses}, indent=2))
    elif uses:
        for use in uses:
            click.echo(
                printable(
                    f"{use['workflow']}: node {use['node_id']} ({use['node_type']}{'.' + use['input'] if use.get('input') else ''}) uses {use['what']}"
                )
            )
    else:
        click.echo(f"nothing in this project uses {printable(repr(name))}", err=True)
    return 0 if uses else 1
