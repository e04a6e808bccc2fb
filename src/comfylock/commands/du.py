"""``comfylock du``: what takes the disk: the store, each models folder, each lock."""

from __future__ import annotations

import click

from ..cli import json_option, pass_project

__all__ = ["du_cmd"]


@click.command("du")
@click.option(
    "--unused",
    is_flag=True,
    help="List what nothing uses: the blobs `gc` would delete (exactly `gc --dry-run`'s list) "
    "and model files no workflow or lock names.",
)
@json_option
@pass_project
def du_cmd(project, unused: bool, as_json: bool) -> int:
    """Show the store and each models folder by size, what each lock on this machine uses,
    and what no lock uses (the candidates for `comfylock gc`). Reads only.

    The models tree is --comfyui-root's (or --models-dir); without one, only the store.
    """
    import json

    import msgspec

    from ..machine.diskuse import measure
    from ..render.disk import disk_text
    from ..store.blobs import Store

    settings = project.settings
    inventory = None
    if settings.models_root() is not None:
        from ..machine.inventory import scan_tree

        inventory = scan_tree(project.model_paths, None, hash=False)
    use = measure(Store(settings.store_dir), inventory, named=_named(project), unused=unused)
    if as_json or settings.json:
        click.echo(json.dumps(msgspec.to_builtins(use), indent=2))
    else:
        click.echo(disk_text(use, listed=unused), nl=False)
    return 0


def _named(project) -> set[tuple[str, str]]:
    """(folder, name) of what this project's lock pins and its workflows name; nothing when
    there is no lock here (a folder that is no project is never searched for workflows)."""
    from ..errors import InputError, NoWorkflowsError
    from ..machine.diskuse import lock_names
    from ..workflows.tables import canonical_folder

    lock = project.lock_if_present()
    if lock is None:
        return set()
    named = lock_names(lock)
    try:
        workflows = project.workflows(strict_names=False)
    except (InputError, NoWorkflowsError):
        workflows = []
    for wf in workflows:
        named |= {(canonical_folder(r.folder), r.name) for r in wf.info.models if r.folder}
    return named
