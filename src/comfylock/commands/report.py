"""`comfylock report PATH...`: what each workflow lacks on this ComfyUI install."""

from __future__ import annotations

import click

from ..cli import pass_project


@click.command("report")
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "script"]),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for a page or an issue, json for tools, script for "
    "a bash script of aria2c downloads.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--licenses",
    is_flag=True,
    help="Instead: each model's licence and permissions, per workflow of the lock (offline).",
)
@pass_project
def report_cmd(project, paths: tuple[str, ...], fmt: str, as_json: bool, licenses: bool) -> int:
    """Report the models and custom nodes each workflow needs that this machine lacks.

    Needs --comfyui-root (or $COMFYUI_ROOT) or --models-dir. Honours extra_model_paths.yaml.
    When a comfy.lock is found, its pinned sources and hashes are used (the script checks
    each download's sha256). Exits 1 when something is missing, 0 when all is installed.

    With --licenses: the licence each model's source published ("unknown" when none) and
    Civitai's permission flags, for every workflow in comfy.lock (or the PATHs given).
    """
    import json

    from ..errors import UsageError

    if licenses:
        if fmt == "script":
            raise UsageError("--licenses has no script format", hint="use text, markdown or json")
        return _licenses(project, paths, fmt="json" if as_json else fmt)
    if not paths:
        raise click.UsageError("Missing argument 'PATH...'.")
    from ..machine.missing import find_gaps
    from ..pathsafe import printable
    from ..render.gaps import gaps_json, gaps_markdown, gaps_script, gaps_text
    from ..workflows import nodeknowledge
    from ..workflows.discover import read_workflows

    settings = project.settings
    if settings.comfyui_root is None and settings.models_dir is None:
        raise UsageError(
            "report needs a ComfyUI install",
            hint="pass --comfyui-root DIR (the folder with ComfyUI's main.py), set "
            "COMFYUI_ROOT, or pass --models-dir DIR",
        )
    if as_json or settings.json:
        fmt = "json"
    with nodeknowledge.pinned(project.knowledge):  # the packs installed in the root say more
        result = read_workflows(paths)
    paths_ = project.model_paths
    custom_nodes = settings.comfyui_root / "custom_nodes" if settings.comfyui_root else None
    gaps = find_gaps([(w.path, w.info) for w in result.workflows], paths_, custom_nodes)
    if settings.lock_path.is_file():
        from ..machine.missing import with_pins
        from ..sync.download.urls import pinned_urls

        gaps = with_pins(gaps, pinned_urls(project.lock))
    if any(g.models for g in gaps):
        from ..machine.inventory import scan_tree
        from ..machine.missing import with_suggestions

        gaps = with_suggestions(gaps, scan_tree(paths_, None, hash=False).files)
    where = {
        "comfyui_root": str(settings.comfyui_root) if settings.comfyui_root else None,
        "models_dir": str(paths_.models_dir) if paths_.models_dir else None,
    }
    if fmt == "json":
        click.echo(json.dumps(gaps_json(gaps, **where), indent=2))
    elif fmt == "script":
        click.echo(gaps_script(gaps), nl=False)
    elif fmt == "markdown":
        click.echo(gaps_markdown(gaps, **where), nl=False)
    else:
        click.echo(gaps_text(gaps, **where), nl=False)
    for error in result.errors:
        click.echo(f"error: {printable(str(error))}", err=True)
    if result.errors:
        return 2
    return 1 if any(g.models or g.nodes or g.invalid for g in gaps) else 0


def _licenses(project, paths: tuple[str, ...], *, fmt: str) -> int:
    """``report --licenses``: read from the lock; PATHs (files or folders) pick workflows."""
    import json
    from pathlib import Path

    from ..errors import UsageError
    from ..lock.licensing import license_rows
    from ..render.licenses import licenses_json, licenses_markdown, licenses_text

    lock, chosen = project.lock, None
    if paths:
        base = project.dir.resolve()
        wanted = []
        for p in paths:
            try:
                wanted.append(Path(p).resolve().relative_to(base).as_posix())
            except ValueError:
                raise UsageError(f"{p}: not inside the project ({base})") from None
        chosen = [
            w.path
            for w in lock.workflow
            if any(w.path == x or x in (".", "") or w.path.startswith(x + "/") for x in wanted)
        ]
        if not chosen:
            raise UsageError(f"no workflow of {project.lock_path} is at {', '.join(paths)}")
    groups = license_rows(lock, chosen)
    where = str(project.lock_path)
    if fmt == "json" or project.settings.json:
        click.echo(json.dumps(licenses_json(groups, lock_path=where), indent=2))
    elif fmt == "markdown":
        click.echo(licenses_markdown(groups, lock_path=where), nl=False)
    else:
        click.echo(licenses_text(groups, lock_path=where), nl=False)
    return 0
