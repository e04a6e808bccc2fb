"""`comfylock why NAME`: which workflows and nodes use a model or a node pack."""

from __future__ import annotations

import click

from ..cli import json_option, pass_project


@click.command("why")
@click.argument("name")
@json_option
@pass_project
def why_cmd(project, name: str, as_json: bool) -> int:
    """Show which workflows and nodes use NAME.

    NAME may be a model (folder/name, a path inside its folder, or a bare file name), a
    node pack id from the lock, or a node class name. Exit 1 when nothing uses it.
    """
    import json

    from ..lock.usage import find_uses
    from ..pathsafe import printable

    workflows = project.workflows(strict_names=False)
    uses = find_uses(name, workflows, project.lock_if_present(), project.config.sources)
    if as_json or project.settings.json:
        click.echo(json.dumps({"name": name, "uses": uses}, indent=2))
    elif uses:
        for use in uses:
            if use.get("hand_pin"):
                click.echo(
                    printable(
                        f"comfylock.toml: {use['what']} is pinned by hand to {use['hand_pin']} "
                        "([sources], what `comfylock add` writes)"
                    )
                )
                continue
            click.echo(
                printable(
                    f"{use['workflow']}: node {use['node_id']} ({use['node_type']}{'.' + use['input'] if use.get('input') else ''}) uses {use['what']}"
                )
            )
    else:
        click.echo(f"nothing in this project uses {printable(repr(name))}", err=True)
    return 0 if uses else 1
