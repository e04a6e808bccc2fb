"""``comfylock push``: upload the blobs the lock pins to a team remote (SPEC §8)."""

from __future__ import annotations

import sys

import click

from ..cli import pass_project

__all__ = ["push_cmd"]


@click.command("push")
@click.option("--remote", "remote_name", metavar="NAME", help="Push to this remote only.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_project
def push_cmd(project, remote_name, as_json) -> int:
    """Upload every blob the lock pins that the remote lacks (HEAD first, parallel).

    Input files (images, masks, audio a workflow loads) are taken from beside the workflow
    or the ComfyUI root's input/ when the store lacks them. Each blob is verified as it is
    uploaded (a corrupt one moves to the store's quarantine/, exit 4); a remote copy proven
    wrong, or found wrong by a sync here, is replaced.
    """
    from ..remotes.upload import push, push_summary
    from ..store.blobs import Store

    settings = project.settings

    progress = None
    if not (as_json or settings.quiet):
        from ..basics.progress import make_progress

        progress = make_progress("tty" if sys.stderr.isatty() else "plain", sys.stderr)
    try:
        results = push(
            project.lock,
            project.remote_specs,
            project.allow_http,
            Store(settings.store_dir),
            remote_name,
            progress,
            project_dir=project.dir,
            comfyui_root=settings.comfyui_root,
        )
    finally:
        if progress is not None:
            progress.close()
    if as_json:
        import msgspec

        click.echo(msgspec.json.encode(results).decode())
    elif not settings.quiet:
        for r in results:
            click.echo(f"Pushed to {push_summary(r)}")
    return 0
