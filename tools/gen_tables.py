#!/usr/bin/env python3
"""Generate src/comfylock/workflows/data/comfyui.json from the ComfyUI facts in ../shared/comfyui/.

The package ships the derived table (not the source files) so it works on a machine without
../shared. Run `make tables` after the facts change; tests/test_tables.py fails when the
committed table is stale against ../shared.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACTS = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "comfyui"
OUT = ROOT / "src" / "comfylock" / "workflows" / "data" / "comfyui.json"

# Values a core loader accepts that name no file (loader_inputs.json "special_values").
FILELESS = {
    "VAELoader.vae_name": ["pixel_space", "taesd", "taesd3", "taesdxl", "taef1"],
    "TrainLoraNode.existing_lora": ["[None]"],
}


def build(facts: Path) -> dict:
    folder_paths = json.loads((facts / "folder_paths.json").read_text())
    loaders = json.loads((facts / "loader_inputs.json").read_text())
    core = json.loads((facts / "core_nodes.json").read_text())

    folders: dict[str, dict] = {}
    for table in folder_paths["versions"].values():  # later (newer) versions extend earlier ones
        for name, spec in table.items():
            folders[name] = {
                "dirs": spec["default_dirs"],
                "extensions": spec["extensions"],
                "relative_to": spec.get("relative_to", "models"),
            }

    by_node: dict[str, dict[str, dict]] = {}
    for row in loaders["inputs"]:
        by_node.setdefault(row["node"], {})[row["input"]] = {
            "folder": row["folders"][0],
            "widget_index": row["widget_index"],
        }

    return {
        "generated_from": "shared/comfyui (folder_paths.json, loader_inputs.json, core_nodes.json)",
        "model_extensions": sorted(folder_paths["supported_pt_extensions"]),
        "legacy_aliases": folder_paths["legacy_aliases"],
        "folders": dict(sorted(folders.items())),
        "loaders": dict(sorted(by_node.items())),
        "fileless_values": FILELESS,
        "frontend_only": sorted(core["frontend_only_node_types"]),
        "core_nodes": sorted(core["nodes"]),
    }


def main() -> int:
    if not FACTS.is_dir():
        print(f"no ComfyUI facts at {FACTS}; nothing generated", file=sys.stderr)
        return 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(FACTS), indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
