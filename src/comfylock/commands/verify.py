"""``comfylock verify``: re-hash store blobs and linked files; quarantine corrupt blobs."""

from __future__ import annotations

import click

from ..cli import pass_settings

__all__ = ["verify_cmd"]


@click.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_settings
def verify_cmd(settings, as_json) -> int:
    """Re-hash every blob in the store and check the links sync placed (exit 4 if corrupt)."""
    import msgspec

    from ..errors import FindingError, IntegrityError
    from ..pathsafe import printable
    from ..store.audit import verify_store
    from ..store.blobs import Store

    report = verify_store(Store(settings.store_dir))
    if as_json or settings.json:
        click.echo(msgspec.json.format(msgspec.json.encode(report), indent=2).decode())
    else:
        for sha in report.quarantined:
            click.echo(f"corrupt   {sha} (moved to quarantine/)")
        for line in report.bad_links:
            click.echo(f"bad link  {printable(line)}")
        click.echo(f"Checked {report.blobs_checked} blobs and {report.links_checked} links.")
    if report.quarantined:
        raise IntegrityError(
            f"{len(report.quarantined)} corrupt blobs quarantined",
            hint="run `comfylock sync` to fetch them again",
        )
    if report.bad_links:
        raise FindingError(
            f"{len(report.bad_links)} placed links are broken or modified",
            hint="run `comfylock sync`",
        )
    return 0
