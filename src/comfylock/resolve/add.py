"""`comfylock add`: pin a model by hand in comfylock.toml, then update the lock.

The pin is checked (resolved) before comfylock.toml is touched, and the file is edited with
tomlkit so the user's comments and layout survive.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from ..config import config_path, load_config
from ..errors import FindingError, UsageError
from ..lock.file import atomic_write_text
from ..lock.model import ModelRef
from ..pathsafe import check_name
from ..settings import Settings

__all__ = ["add_pin", "default_name"]


def default_name(source: str) -> str | None:
    """The file name a source implies (None for Civitai: the API knows it)."""
    if source.startswith("hf:"):
        return PurePosixPath(source.split("/", 2)[-1]).name if source.count("/") >= 2 else None
    if "://" in source:
        return PurePosixPath(unquote(urlsplit(source).path)).name or None
    return None


def add_pin(
    settings: Settings, source: str, folder: str, name: str | None, *, refresh: bool = False
):
    """Check the pin, record it under ``[sources]``, and re-resolve. Returns the outcome."""
    from ..workflows.tables import canonical_folder
    from .job import run_resolve
    from .live import LiveSources

    folder = canonical_folder(check_name(folder, what="folder"))
    if "/" in folder:
        raise UsageError(
            f"--folder {folder!r} must be one folder name such as loras or checkpoints"
        )
    config = load_config(settings.project_dir)
    sources = LiveSources(settings, config, refresh=refresh)
    try:
        wanted = name or default_name(source) or ""
        probe = ModelRef(
            folder=folder, name=wanted or "unknown", node_id="", node_type="", input="add"
        )
        found = sources.hand_pin(source, probe)
    finally:
        sources.close()
    if found is None or not found.sha256 or found.size is None:
        raise FindingError(
            f"{source}: could not be resolved to a file with a published sha256 and size",
            hint="check the id/URL; plain URLs need `resolve --fetch` or a declared hash",
        )
    if not wanted and found.source is not None:
        wanted = _civitai_file_name(settings, source, found) or ""
    if not wanted:
        raise UsageError("cannot tell the file name", hint="pass --name NAME")
    key = f"{folder}/{check_name(wanted)}"
    _write_pin(settings, key, source)
    outcome = run_resolve(
        settings,
        (),
        upgrade=False,
        offline=False,
        check_only=False,
        allow_unresolved=False,
        fetch=False,
        refresh=refresh,
        progress=False,
    )
    return key, outcome


def _civitai_file_name(settings: Settings, source: str, found) -> str | None:
    from ..net.send import make_client
    from .sources.civitai import CivitaiClient, hits_from_version

    with make_client() as client:
        version = CivitaiClient(client).version(found.source.version_id)
    hit = (
        next((h for h in hits_from_version(version) if h.file_id == found.source.file_id), None)
        if version
        else None
    )
    return hit.file_name if hit else None


def _write_pin(settings: Settings, key: str, source: str) -> None:
    import tomlkit

    path = config_path(settings.project_dir)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    doc = tomlkit.parse(text)
    if "sources" not in doc:
        doc.add("sources", tomlkit.table())
    doc["sources"][key] = source
    atomic_write_text(path, tomlkit.dumps(doc))
