"""``comfylock gc``: delete store blobs that no registered lock references."""

from __future__ import annotations

import click

from ..cli import pass_settings

__all__ = ["gc_cmd"]


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@pass_settings
def gc_cmd(settings, dry_run, as_json) -> int:
    """Delete blobs no lock that synced into this store still references."""
    import msgspec

    from ..basics.units import human_size
    from ..store.blobs import Store
    from ..store.sweep import gc

    plan = gc(Store(settings.store_dir), dry_run=dry_run)
    if as_json or settings.json:
        doc = {**msgspec.to_builtins(plan), "freed": plan.freed, "dry_run": dry_run}
        click.echo(msgspec.json.format(msgspec.json.encode(doc), indent=2).decode())
        return 0
    verb = "would delete" if dry_run else "deleted"
    for item in plan.delete:
        click.echo(f"{verb}  {item.sha256} ({human_size(item.size)})")
    from ..basics.units import count
    from ..pathsafe import printable

    click.echo(
        f"{verb.capitalize()} {count(len(plan.delete), 'blob')} ({human_size(plan.freed)}); "
        f"kept {count(plan.kept, 'blob')} in use ({count(len(plan.locks), 'lock')}, "
        f"{count(len(plan.linked), 'link')} the locks no longer name)."
    )
    if plan.linked:
        click.echo(
            f"kept because still linked ({count(len(plan.linked), 'path')}; remove them or run "
            "`comfylock sync --prune` to free their blobs):"
        )
        for path in plan.linked:
            click.echo(f"  {printable(path)}")
    return 0
