"""JSON Schemas of comfy.lock and comfylock.toml, generated from the msgspec Structs the
code decodes with, so editors (taplo) validate exactly what comfylock accepts."""

from __future__ import annotations

import json

import msgspec

from ..config import Config
from .structs import Lock

__all__ = ["SCHEMAS", "render_schema"]

SCHEMAS = {
    "comfy.lock.schema.json": (
        Lock,
        "comfy.lock",
        "The comfylock lock file (generated; commit it).",
    ),
    "comfylock.toml.schema.json": (
        Config,
        "comfylock.toml",
        "comfylock's optional project file (edited by people).",
    ),
}


def render_schema(filename: str) -> str:
    struct, title, description = SCHEMAS[filename]
    schema = msgspec.json.schema(struct)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://comfylock.dev/schemas/{filename}",
        "title": title,
        "description": description,
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
