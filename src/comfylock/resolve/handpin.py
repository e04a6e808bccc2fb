"""Hand pins (``comfylock add``): pin a model by hand in comfylock.toml, then update the lock.

The pin is checked (resolved) before comfylock.toml is touched, and the file is edited with
tomlkit so the user's comments and layout survive.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from ..basics.fileio import atomic_write_text
from ..config import config_path
from ..errors import FindingError, NoNetworkError, UsageError
from ..pathsafe import check_name
from ..project.loading import Project
from ..settings import Settings
from ..workflows.refs import ModelRef

__all__ = ["add_pin", "default_name"]


def default_name(source: str) -> str | None:
    """The file name a source implies (None for Civitai: the API knows it)."""
    if source.startswith("hf:"):
        return PurePosixPath(source.split("/", 2)[-1]).name if source.count("/") >= 2 else None
    if "://" in source:
        return PurePosixPath(unquote(urlsplit(source).path)).name or None
    return None


_SOURCE_FORMS = "civitai:MODEL[@VERSION], hf:OWNER/REPO[@REV]/PATH or an https URL"


def _check_source(source: str, sha256: str | None, fetch: bool, offline: bool) -> None:
    """Blame the argument, not comfylock.toml, when SOURCE or a flag cannot be used with it."""
    import re

    if offline and (fetch or not sha256 or "://" not in source):
        raise UsageError(
            "add --offline pins only a plain URL with --sha256 (its size is read from the "
            "bytes on this machine); Civitai, Hugging Face and --fetch need the network",
            hint="run add without --offline",
        )

    if not (source.startswith(("civitai:", "hf:")) or "://" in source):
        raise UsageError(
            f"SOURCE {source!r} is not a source comfylock reads", hint=f"use {_SOURCE_FORMS}"
        )
    from .live import CIVITAI_PIN

    if source.startswith("civitai:") and not CIVITAI_PIN.match(source.strip()):
        raise UsageError(
            f"SOURCE {source!r} is not a Civitai pin",
            hint="write civitai:MODEL or civitai:MODEL@VERSION, both numbers from the model's page",
        )
    if sha256 is not None:
        if "://" not in source:
            raise UsageError(
                "--sha256 is for plain URLs; Civitai and Hugging Face publish the hash",
                hint="drop --sha256, or pass the file's https URL as SOURCE",
            )
        if not re.fullmatch(r"[0-9a-f]{64}", sha256.lower()):
            raise UsageError(
                f"--sha256 {sha256!r} is not 64 hex digits", hint="copy it from `sha256sum FILE`"
            )


def _not_found_hint(source: str, sha256: str | None, fetch: bool, offline: bool) -> str:
    if offline:
        return (
            "offline, a URL's size comes only from its bytes on this machine, and neither the "
            "store nor the models tree (--comfyui-root) has a file with that sha256; run add "
            "without --offline"
        )
    if (
        "://" in source
        and not (sha256 or fetch)
        and not source.startswith("https://huggingface.co")
    ):
        return "a URL alone does not say which bytes: pass --sha256 HEX, or --fetch to download it once and hash it"
    return "check the model id, version or path (open it in a browser), then run add again"


def add_pin(
    project: Project,
    source: str,
    folder: str,
    name: str | None,
    *,
    refresh: bool = False,
    sha256: str | None = None,
    fetch: bool = False,
    offline: bool = False,
):
    """Check the pin, re-resolve with it, write the lock, then record it in comfylock.toml.

    NOTE: comfylock.toml is edited only after the lock was written (or was already right), so
    a failed add leaves both files as they were. Returns (key, outcome, toml_written)."""
    from ..workflows.tables import canonical_folder, under_root
    from .live import LiveSources

    _check_source(source, sha256, fetch, offline)
    folder = canonical_folder(check_name(folder, what="folder"))
    if "/" in folder and not under_root(folder):  # a pack's own directory is one too
        raise UsageError(
            f"--folder {folder!r} must be one folder name such as loras or checkpoints, or "
            "a node's own directory under the ComfyUI root (custom_nodes/PACK/DIR)"
        )
    settings, config = project.settings, project.config
    sources = LiveSources(settings, config, offline=offline, refresh=refresh, fetch=fetch)
    try:
        wanted = name or default_name(source) or ""
        probe = ModelRef(
            folder=folder,
            name=wanted or "unknown",
            node_id="",
            node_type="",
            input="add",
            sha256=sha256.lower() if sha256 else None,
        )
        found = sources.hand_pin(source, probe)
    except NoNetworkError as exc:
        if sha256 and "://" in source:
            exc.hint = (
                f"{exc.hint}; or, with the file on this machine (the store or --comfyui-root), "
                "run add again with --offline: the declared sha256 and the local bytes pin it"
            )
        raise
    finally:
        sources.close()
    if found is None or not found.sha256 or found.size is None:
        raise FindingError(
            f"{source}: could not be resolved to a file with a known sha256 and size",
            hint=_not_found_hint(source, sha256, fetch, offline),
        )
    if not wanted and found.source is not None:
        wanted = _civitai_file_name(settings, source, found) or ""
    if not wanted:
        raise UsageError("cannot tell the file name", hint="pass --name NAME")
    key = f"{folder}/{check_name(wanted)}"
    outcome = _resolve_with(project, key, source, found, refresh=refresh, offline=offline)
    written = outcome.exit_code == 0
    if written:
        _write_pin(settings, key, source)
    return key, outcome, written


def _resolve_with(project: Project, key: str, source: str, found, *, refresh: bool, offline: bool):
    """Resolve the project as `resolve` would, with the new pin in place (in memory)."""
    import msgspec

    from ..lock.structs import LockedModel
    from ..workflows.tables import split_key
    from .job import run_resolve

    folder, name = split_key(key)
    pinned = LockedModel(
        folder=folder,
        name=name,
        size=found.size,
        sha256=found.sha256,
        blake3=found.blake3,
        source=(found.source,) if found.source is not None else (),
    )
    config = project.config
    config = msgspec.structs.replace(config, sources={**config.sources, key: source})
    return run_resolve(
        Project(project.settings, config=config),
        (),
        upgrade=False,
        offline=offline,
        check_only=False,
        allow_unresolved=True,  # other references may wait for their own `add`
        fetch=False,
        refresh=refresh,
        progress=False,
        extra_pins=(pinned,),
    )


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
