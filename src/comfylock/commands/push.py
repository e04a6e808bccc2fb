"""``comfylock push``: upload the blobs the lock pins to a team remote (SPEC §8)."""

from __future__ import annotations

import sys

import click

from ..cli import pass_settings

__all__ = ["push_cmd"]


@click.command("push")
@click.option("--remote", "remote_name", metavar="NAME", help="Push to this remote only.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_settings
def push_cmd(settings, remote_name, as_json) -> int:
    """Upload every blob the lock pins that the remote lacks (HEAD first, parallel)."""
    from ..sync.push import push, summary_line

    progress = None
    if not (as_json or settings.quiet):
        from ..sync.progress import make_progress

        progress = make_progress("tty" if sys.stderr.isatty() else "plain", sys.stderr)
    try:
        results = push(settings, remote_name, progress)
    finally:
        if progress is not None:
            progress.close()
    if as_json:
        import msgspec

        click.echo(msgspec.json.encode(results).decode())
    elif not settings.quiet:
        for r in results:
            click.echo(f"Pushed to {summary_line(r)}")
    return 0
