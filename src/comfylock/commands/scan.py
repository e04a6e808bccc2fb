"""``comfylock scan [DIR]``: list every model file with its size and digests.

Thin shell over ``inventory.scan_models``; the table and the progress bar live here
because they are presentation.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..cli import pass_settings

__all__ = ["scan_cmd"]


@click.command("scan")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--no-hash", is_flag=True, help="Stat only: list files, digests only from the cache.")
@pass_settings
def scan_cmd(settings, directory: Path | None, as_json: bool, no_hash: bool) -> int:
    """Inventory a models tree: folder, name, size, sha256, blake3 of every model file.

    DIR is a ComfyUI root (its extra_model_paths.yaml is honoured) or a models directory;
    it defaults to --models-dir, else --comfyui-root/models, else $COMFYUI_ROOT/models.
    Digests are cached, so a rescan of an unchanged tree reads no file.
    """
    from ..machine.inventory import scan_models
    from ..pathsafe import printable

    as_json = as_json or settings.json
    show_bar = sys.stderr.isatty() and not (settings.quiet or as_json)
    with _progress_bar(show_bar, color=settings.color) as progress:
        inventory = scan_models(directory, settings, hash=not no_hash, progress=progress)
    if not settings.quiet:
        for problem in inventory.problems:
            click.echo(f"warning: {printable(problem)}", err=True)
    if as_json:
        click.echo(_as_json(inventory))
    elif not settings.quiet:
        _print_table(inventory, color=settings.color)
    return 0


def _as_json(inventory) -> str:
    import msgspec

    doc = {
        "models_dir": inventory.models_dir,
        "files": [msgspec.structs.asdict(f) for f in inventory.files],
        "hashed": inventory.hashed,
        "cached": inventory.cached,
    }
    return msgspec.json.format(msgspec.json.encode(doc), indent=2).decode()


def _print_table(inventory, *, color: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ..basics.units import human_size
    from ..pathsafe import printable

    table = Table(box=None, pad_edge=False)
    table.add_column("folder")
    table.add_column("name", overflow="fold")
    table.add_column("size", justify="right")
    table.add_column("sha256")
    table.add_column("blake3")
    for f in inventory.files:
        table.add_row(
            escape(printable(f.folder)),
            escape(printable(f.name)),
            human_size(f.size),
            (f.sha256 or "-")[:12],
            (f.blake3 or "-")[:12],
        )
    # NOTE: piped output (a file, grep) must not wrap names at 80 columns: lines stay whole.
    wide = None if sys.stdout.isatty() else 100_000
    console = Console(no_color=not color, highlight=False, width=wide, soft_wrap=wide is not None)
    if inventory.files:
        console.print(table)
    count = len(inventory.files)
    console.print(
        f"{count} file{'s' if count != 1 else ''}, {human_size(inventory.total_size)}, "
        f"{inventory.hashed} hashed, {inventory.cached} from cache"
    )


class _progress_bar:  # noqa: N801 — used like a function in a with-statement
    """A rich bar on stderr (bytes, rate, ETA) while hashing, or a no-op."""

    def __init__(self, enabled: bool, *, color: bool = True) -> None:
        self.enabled = enabled
        self.color = color
        self._bar = None
        self._task = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        # NOTE: rich's TransferSpeedColumn prints decimal MB/s; every size here is binary.
        self._bar = Progress(
            "hashing",
            BarColumn(),
            DownloadColumn(binary_units=True),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True, no_color=not self.color),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("hashing", total=None, rate="")
        self._started = time.monotonic()
        return self._update

    def _update(self, done: int, total: int) -> None:
        from ..basics.progress import rate_text

        rate = rate_text(done, time.monotonic() - self._started)
        self._bar.update(self._task, completed=done, total=total, rate=rate)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
