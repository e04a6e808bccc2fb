"""`comfylock add SOURCE --folder F [--name N]`: pin a model by hand."""

from __future__ import annotations

import click

from ..cli import json_option, pass_settings


@click.command("add")
@click.argument("source")
@click.option("--folder", required=True, help="Model folder, e.g. loras, checkpoints, vae.")
@click.option("--name", help="File name inside the folder (default: from the source).")
@click.option("--refresh", is_flag=True, help="Bypass the API response cache.")
@json_option
@pass_settings
def add_cmd(
    settings, source: str, folder: str, name: str | None, refresh: bool, as_json: bool
) -> int:
    """Pin a model outside any workflow, or override how one is found.

    \b
    SOURCE is one of:
      civitai:MODEL[@VERSION]          e.g. civitai:4201@130072
      hf:OWNER/REPO[@REV]/PATH         e.g. hf:stabilityai/sdxl-vae/sdxl_vae.safetensors
      https://…                        a plain URL (the file's hash must be known)

    Records it in comfylock.toml [sources] (comments kept) and updates comfy.lock.
    """
    import json

    from ..render import resolution_json, resolution_text
    from ..resolve.add import add_pin

    key, outcome = add_pin(settings, source, folder, name, refresh=refresh)
    if as_json or settings.json:
        click.echo(
            json.dumps({"added": key, "source": source, **resolution_json(outcome)}, indent=2)
        )
    else:
        click.echo(f"pinned {key} = {source} in comfylock.toml")
        click.echo(resolution_text(outcome), nl=False)
    return outcome.exit_code
