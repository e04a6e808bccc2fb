"""``comfylock cache stats|clear``: look at or empty the API-response cache.

Why a command: the cache makes a second resolve free, and users need a way to see what it
holds and to drop it (``resolve --refresh`` bypasses it for one run instead).
"""

from __future__ import annotations

import click

__all__ = ["cache_cmd"]


@click.group("cache")
def cache_cmd() -> None:
    """The API-response cache (Civitai, Hugging Face, registry answers)."""


@cache_cmd.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def stats_cmd(settings, as_json: bool) -> None:
    """How many answers are cached, by kind, and how much space they take."""
    from ..net.httpcache import open_cache
    from ..pathsafe import printable

    with open_cache(settings) as cache:
        stats = cache.stats()
    if as_json or settings.json:
        import msgspec

        click.echo(msgspec.json.format(msgspec.json.encode(stats), indent=2).decode())
        return
    click.echo(f"cache: {printable(str(stats.path))}")
    click.echo(f"entries: {stats.entries} ({stats.negative} not-found answers)")
    click.echo(f"size: {_human(stats.bytes)}")
    for kind, count in stats.by_kind.items():
        click.echo(f"  {kind}: {count}")


@cache_cmd.command("clear")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def clear_cmd(settings, as_json: bool) -> None:
    """Delete every cached answer."""
    from ..net.httpcache import open_cache

    with open_cache(settings) as cache:
        removed = cache.clear()
    if as_json or settings.json:
        import json

        click.echo(json.dumps({"removed": removed}, indent=2))
    elif not settings.quiet:
        click.echo(f"removed {removed} cached answer{'s' if removed != 1 else ''}")


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
