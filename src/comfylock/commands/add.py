"""`comfylock add SOURCE --folder F [--name N]`: pin a model by hand."""

from __future__ import annotations

import click

from ..cli import json_option, pass_project


@click.command("add")
@click.argument("source")
@click.option("--folder", required=True, help="Model folder, e.g. loras, checkpoints, vae.")
@click.option("--name", help="File name inside the folder (default: from the source).")
@click.option(
    "--sha256", metavar="HEX", help="For a plain URL: the file's sha256 (its bytes are pinned)."
)
@click.option(
    "--fetch", is_flag=True, help="For a plain URL: download it once into the store to hash it."
)
@click.option(
    "--offline",
    is_flag=True,
    help="For a plain URL with --sha256: take its size from the file on this machine "
    "(the store, or the models tree of --comfyui-root); nothing is asked of the network.",
)
@click.option("--refresh", is_flag=True, help="Bypass the API response cache.")
@json_option
@pass_project
def add_cmd(
    project,
    source: str,
    folder: str,
    name: str | None,
    sha256: str | None,
    fetch: bool,
    offline: bool,
    refresh: bool,
    as_json: bool,
) -> int:
    """Pin a model outside any workflow, or override how one is found.

    \b
    SOURCE is one of:
      civitai:MODEL[@VERSION]          e.g. civitai:4201@130072
      hf:OWNER/REPO[@REV]/PATH         e.g. hf:stabilityai/sdxl-vae/sdxl_vae.safetensors
      https://…                        a plain URL, with --sha256 HEX or --fetch

    Resolves the project as `resolve` does with the pin in place, writes comfy.lock, and
    only then records the pin in comfylock.toml [sources] (comments kept).
    """
    import json

    from ..basics.redact import strip_url_secrets
    from ..pathsafe import printable
    from ..render.resolution import resolution_json, resolution_text
    from ..resolve.handpin import add_pin
    from . import shown_path

    source = strip_url_secrets(source) if "://" in source else source
    key, outcome, written = add_pin(
        project, source, folder, name, refresh=refresh, sha256=sha256, fetch=fetch, offline=offline
    )
    settings = project.settings
    if as_json or settings.json:
        doc = {"added": key if written else None, "source": source, **resolution_json(outcome)}
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(resolution_text(outcome, shown_lock=shown_path(outcome.lock_path)), nl=False)
        if written:
            click.echo(printable(f"pinned {key} = {source} in comfylock.toml"))
        else:
            click.echo("comfylock.toml not changed (the lock could not be written)")
    return outcome.exit_code
