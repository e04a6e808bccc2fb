"""``comfylock diff [OLD] [NEW]``: what changed in the lock, for a review or a release note."""

from __future__ import annotations

import click

from ..cli import pass_project

__all__ = ["diff_cmd"]


@click.command("diff")
@click.argument("old", required=False, default="HEAD", metavar="[OLD]")
@click.argument("new", required=False, metavar="[NEW]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for a pull-request comment, json for tools.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the locks differ (as git diff).")
@pass_project
def diff_cmd(project, old: str, new: str | None, fmt: str, as_json: bool, exit_code: bool) -> int:
    """Compare comfy.lock with the lock at git revision OLD (default HEAD) or the lock file
    OLD; NEW (a revision or a lock file) instead of the lock on disk.

    Lists models, node packs, repo snapshots, ComfyUI, Python and its packages, and
    workflows added, removed and changed (sha256, size, sources, licence, commit, version,
    …). Offline.
    """
    import json

    from ..lock.changes import diff_locks
    from ..lock.sides import side_of_file

    before, old_name = _side(project, old)
    if new:
        after, new_name = _side(project, new)
    else:
        after, new_name = side_of_file(project.lock_path), str(project.lock_path)
    diff = diff_locks(before, after)
    if as_json or project.settings.json or fmt == "json":
        from ..render.lockdiff import diff_json

        click.echo(json.dumps(diff_json(diff, old=old_name, new=new_name), indent=2))
    else:
        from ..render.lockdiff import diff_markdown, diff_text

        render = diff_markdown if fmt == "markdown" else diff_text
        click.echo(render(diff, old=old_name, new=new_name), nl=False)
    return 1 if exit_code and not diff.is_empty else 0


def _side(project, spec: str):
    """(one side, its name): a lock file when ``spec`` is one, else the lock at that
    revision; each with the Python lock files it names."""
    from pathlib import Path

    from ..lock.sides import side_at, side_of_file

    if Path(spec).is_file():
        return side_of_file(Path(spec)), spec
    side, present = side_at(spec, project.lock_path)
    return side, spec if present else f"{spec} (no {project.lock_path.name})"
