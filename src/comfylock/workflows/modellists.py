"""The model lists a workflow declares (``properties.models`` on a node, ``models`` at the top):
``{name, url, hash, hash_type, directory}`` entries merged into the widget reference naming
the same file, or added. A mixin of the reader (``reader._Reader``)."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ..basics.redact import strip_url_secrets
from ..pathsafe import normalise_name
from . import tables
from .refs import ModelRef

__all__ = ["ModelLists"]


class ModelLists:
    """The reader provides ``models`` and ``add_ref``."""

    models: list[ModelRef]

    def _read_properties_models(self, node, node_id, node_type, active) -> None:
        props = node.get("properties")
        entries = props.get("models") if isinstance(props, dict) else None
        self._read_model_entries(entries, node_id, node_type, active, "properties.models")

    def _read_workflow_models(self, entries: Any) -> None:
        self._read_model_entries(entries, "", "", True, "models")

    def _read_model_entries(
        self, entries: Any, node_id: str, node_type: str, active: bool, input: str
    ) -> None:
        """``{name, url, hash, hash_type, directory}`` entries, from a node's properties or the
        workflow-level list: merged into the widget reference naming the same file, or added."""
        if not isinstance(entries, list):
            return
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            directory = entry.get("directory") if isinstance(entry.get("directory"), str) else None
            folder, name = _split_directory(directory, entry["name"])
            self._merge_or_add(
                folder=folder,
                name=name,
                node_id=node_id,
                node_type=node_type,
                active=active,
                url=entry.get("url") if isinstance(entry.get("url"), str) else None,
                sha256=_entry_sha256(entry),
                directory=directory,
                input=input,
            )

    def _merge_or_add(
        self, *, folder, name, node_id, node_type, active, url, sha256, directory, input
    ) -> None:
        """Attach a declared url/hash/folder to the widget reference naming the same file
        (on the same node, or anywhere for the workflow-level list); else add a reference."""
        norm = normalise_name(name)
        canonical = tables.canonical_folder(folder) if folder else None
        merged = False
        for i, ref in enumerate(self.models):
            if ref.name != norm or (node_id and ref.node_id != node_id):
                continue
            declared_wins = ref.inferred or not tables.loader_inputs(ref.node_type)
            if canonical and ref.folder and not declared_wins and canonical != ref.folder:
                continue
            self.models[i] = msgspec.structs.replace(
                ref,
                folder=canonical if canonical and (declared_wins or not ref.folder) else ref.folder,
                url=ref.url or (strip_url_secrets(url) if url else None),
                sha256=ref.sha256 or sha256,
                directory=ref.directory or directory,
                inferred=ref.inferred and not canonical,
                reason=None if canonical else ref.reason,
            )
            merged = True
        if not merged:
            self.add_ref(
                folder=folder,
                name=name,
                node_id=node_id,
                node_type=node_type,
                input=input,
                active=active,
                url=url,
                sha256=sha256,
                directory=directory,
            )


def _split_directory(directory: str | None, name: str) -> tuple[str | None, str]:
    """``directory`` may carry a sub-path (``controlnet/SDXL``): folder is its first part."""
    if not directory:
        return None, name
    parts = normalise_name(directory).strip("/").split("/")
    folder = parts[0]
    if len(parts) > 1:
        name = "/".join([*parts[1:], normalise_name(name)])
    return folder, name


def _entry_sha256(entry: dict) -> str | None:
    value = entry.get("hash")
    kind = str(entry.get("hash_type", "sha256")).lower()
    if isinstance(value, str) and kind == "sha256" and re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return value.lower()
    return None
