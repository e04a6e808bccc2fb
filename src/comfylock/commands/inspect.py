"""`comfylock inspect PATH...`: what each workflow needs. No network."""

from __future__ import annotations

import click

from ..cli import json_option, pass_settings


@click.command("inspect")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@json_option
@pass_settings
def inspect_cmd(settings, paths: tuple[str, ...], as_json: bool) -> int:
    """List every model reference and node class in workflows (files or directories;
    default: the current directory).

    Reads UI and API JSON, PNG and WebP files with an embedded workflow, subgraphs and group
    nodes. Directories are searched recursively; files without a workflow are listed as
    skipped. With a ComfyUI root (--comfyui-root or COMFYUI_ROOT) the code of the
    custom-node packs installed there is read too (never run). --json gives the stable
    machine shape documented in docs/reference/commands.md.
    """
    import json

    from ..pathsafe import printable
    from ..project.loading import Project
    from ..render.references import inspect_json, inspect_text
    from ..workflows import nodeknowledge
    from ..workflows.discover import read_workflows

    with nodeknowledge.pinned(Project(settings).knowledge):  # the packs installed, when a root
        result = read_workflows(paths or (".",))
    items = [(w.path, w.info) for w in result.workflows]
    if as_json or settings.json:
        click.echo(json.dumps(inspect_json(items, result.skipped, result.errors), indent=2))
    else:
        click.echo(inspect_text(items, result.skipped, result.errors), nl=False)
    for error in result.errors:
        click.echo(f"error: {printable(str(error))}", err=True)
    return 2 if result.errors else 0
