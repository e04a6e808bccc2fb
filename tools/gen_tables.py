"""Generate src/comfylock/workflows/data/comfyui.json from the ComfyUI facts in ../shared/comfyui/
and, to keep the core class list current, from a snapshot of ComfyUI's own code.

The package ships the derived table (not the source files) so it works on a machine without
../shared. Run `make tables` after the facts change; tests/test_contracts.py fails when the
committed table is stale against ../shared.

    python -m tools.gen_tables [FACTS_DIR] [--comfyui GITDIR]

``--comfyui`` (default ``../.mirror/Comfy-Org+ComfyUI/repo`` when present) is a bare git
snapshot of ComfyUI: every node class its ``nodes.py``, ``comfy_extras/`` and
``comfy_api_nodes/`` define (V1 ``NODE_CLASS_MAPPINGS`` and V3 ``io.Schema(node_id=…)``, read
with ``ast`` by ``comfylock.packcode``) joins the core list, with the commit read recorded in
``core_source``. The same reading gives ``input_loaders``: the core inputs whose choices list
ComfyUI's ``input/`` folder (``LoadImage.image``, ``LoadAudio.audio``, ``LoadVideo.file``, …),
whose values are input files a workflow needs; and each core loader's inputs in order
(``core_inputs``), for the packs whose classes copy them. Without a snapshot the shipped
table's snapshot classes, input loaders and core inputs are kept as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACTS = ROOT.parent / "shared" / "comfyui"
OUT = ROOT / "src" / "comfylock" / "workflows" / "data" / "comfyui.json"
COMFYUI_REPO = "https://github.com/Comfy-Org/ComfyUI"
SNAPSHOT = ROOT.parent / ".mirror" / "Comfy-Org+ComfyUI" / "repo"
CORE_CODE = ("nodes.py", "comfy_extras/", "comfy_api_nodes/")
INPUT_FOLDER = "input"

# Values a core loader accepts that name no file (loader_inputs.json "special_values").
FILELESS = {
    "VAELoader.vae_name": ["pixel_space", "taesd", "taesd3", "taesdxl", "taef1"],
    "TrainLoraNode.existing_lora": ["[None]"],
}


def core_classes(gitdir: Path, commit: str = "HEAD", facts: Path = FACTS) -> dict:
    """The node classes ComfyUI's own code defines at ``commit``: {repo, commit, nodes,
    inputs, core_inputs}; ``inputs``: the input loaders (``input_loaders``); ``core_inputs``:
    each core loader's inputs in order, ``[name, kind, folder]``."""
    from comfylock.packcode import CoreFacts
    from comfylock.packcode.facts import pack_facts
    from comfylock.packcode.source import SourcePack

    from .nodetable.gitread import head_commit, read_python

    sha = head_commit(str(gitdir), commit)
    if sha is None:
        raise LookupError(f"{gitdir}: no commit {commit}")
    files = {p: t for p, t in read_python(str(gitdir), sha).items() if p.startswith(CORE_CODE)}
    folder_paths = json.loads((facts / "folder_paths.json").read_text())
    core = CoreFacts(_folders(folder_paths), folder_paths["legacy_aliases"])
    found = pack_facts(SourcePack("ComfyUI", files), core, layouts=True, input_files=True)
    loaders = {r["node"] for r in json.loads((facts / "loader_inputs.json").read_text())["inputs"]}
    inputs = {}
    for cls in sorted(loaders & set(found["classes"])):
        entry = found["classes"][cls]
        if entry.get("layout"):
            folders = entry.get("inputs", {})
            inputs[cls] = [
                [n, k, folders.get(n) if isinstance(folders.get(n), str) else None, *rest]
                for n, k, *rest in entry["layout"]
            ]
    return {
        "repo": COMFYUI_REPO,
        "commit": sha,
        "nodes": sorted(found["classes"]),
        "inputs": input_loaders(found["classes"]),
        "core_inputs": inputs,
    }


def input_loaders(classes: dict) -> dict:
    """{class: {input: {folder: "input", widget_index}}} for the inputs the scanner found
    listing ComfyUI's input/ folder; ``widget_index`` is the input's place in the UI's
    ``widgets_values`` (None when the widget order could not be read)."""
    out: dict[str, dict] = {}
    for name, entry in sorted(classes.items()):
        widgets = entry.get("widgets") or []
        for inp, folder in (entry.get("inputs") or {}).items():
            if folder == INPUT_FOLDER:
                index = widgets.index(inp) if inp in widgets else None
                out.setdefault(name, {})[inp] = {"folder": folder, "widget_index": index}
    return out


def _folders(folder_paths: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table in folder_paths["versions"].values():
        for name, spec in table.items():
            out[name] = spec["default_dirs"]
    return out


def shipped_snapshot(shared_core: set[str]) -> dict | None:
    """The snapshot part of the shipped table ({repo, commit, nodes}), or None."""
    if not OUT.exists():
        return None
    table = json.loads(OUT.read_text())
    source = table.get("core_source")
    if not source:
        return None
    return {
        **source,
        "nodes": sorted(set(table["core_nodes"]) - shared_core),
        "inputs": table.get("input_loaders", {}),
        "core_inputs": table.get("core_inputs", {}),
    }


def build(facts: Path, snapshot: dict | None = None) -> dict:
    """The table from the facts; ``snapshot`` ({repo, commit, nodes}) adds the classes a
    ComfyUI snapshot defines to the core list."""
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

    table = {
        "generated_from": "shared/comfyui (folder_paths.json, loader_inputs.json, core_nodes.json)",
        "model_extensions": sorted(folder_paths["supported_pt_extensions"]),
        "legacy_aliases": folder_paths["legacy_aliases"],
        "folders": dict(sorted(folders.items())),
        "loaders": dict(sorted(by_node.items())),
        "input_loaders": dict(sorted((snapshot or {}).get("inputs", {}).items())),
        "fileless_values": FILELESS,
        "frontend_only": sorted(core["frontend_only_node_types"]),
        "core_nodes": sorted(core["nodes"]),
    }
    if snapshot:
        frontend = set(table["frontend_only"])
        extra = set(snapshot["nodes"]) - frontend
        table["core_nodes"] = sorted(set(core["nodes"]) | extra)
        table["core_source"] = {"repo": snapshot["repo"], "commit": snapshot["commit"]}
        if snapshot.get("core_inputs"):
            table["core_inputs"] = snapshot["core_inputs"]
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("facts", nargs="?", type=Path, default=FACTS)
    ap.add_argument("--comfyui", type=Path, default=SNAPSHOT)
    args = ap.parse_args(argv)
    if not args.facts.is_dir():
        print(f"no ComfyUI facts at {args.facts}; nothing generated", file=sys.stderr)
        return 1
    shared_core = set(json.loads((args.facts / "core_nodes.json").read_text())["nodes"])
    if args.comfyui.is_dir():
        snapshot = core_classes(args.comfyui)
    else:
        print(f"no ComfyUI snapshot at {args.comfyui}: keeping the shipped core classes")
        snapshot = shipped_snapshot(shared_core)
    before = set(json.loads(OUT.read_text())["core_nodes"]) if OUT.exists() else set()
    table = build(args.facts, snapshot)
    after = set(table["core_nodes"])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(table, indent=1, sort_keys=False) + "\n")
    print(f"core classes: {len(after)} ({len(after - before)} new, {len(before - after)} gone)")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
