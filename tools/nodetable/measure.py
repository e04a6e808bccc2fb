"""Measure the reader on custom nodes against ground truth read from the packs' own code.

Usage: python -m tools.nodetable.measure DIR... [--truth tools/nodetable/heldout_truth.json] [--json]

For every model reference a custom node makes (core loaders, ``embedding:`` prompt text and
references without a node are not counted), the folder the reader gives is compared with
the folder the node's code reads (``--truth``, written by hand from the packs' code, not from
the knowledge table): right, wrong, or "cannot tell" (no folder). A reference whose class or
input the truth file does not cover is listed as unmeasured. Custom node instances count as
"pack named offline" when the node carries ``cnr_id``/``aux_id`` or the shipped knowledge
table (else the shipped class map) names its pack; a named pack is checked against the
truth's pack where it has one.
Targets (issue 10): >= 95% right, <= 2% wrong, >= 90% packs named.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from comfylock.workflows import nodetable, tables
from comfylock.workflows.discover import read_workflows

HERE = Path(__file__).resolve().parent

_POSITION = re.compile(r"^widgets_values\[(\d+)\]")


def _truth_folder(truth: dict, class_type: str, label: str) -> tuple[bool, str | None]:
    """(covered, folder) the node's code reads for a reader's input label."""
    entry = truth.get(class_type)
    if entry is None:
        return False, None
    inputs = entry["inputs"]
    name = label.split(".")[-1]
    match = _POSITION.match(label)
    if match and entry.get("widgets"):
        index = int(match.group(1))
        name = entry["widgets"][index] if index < len(entry["widgets"]) else ""
    if name in inputs:
        return True, inputs[name]
    if name and (not match or entry.get("widgets")):
        return True, None  # a named widget that takes no model: no folder is right
    folders = set(inputs.values())
    if len(folders) == 1:  # one model folder: any unnamed model value of the node reads it
        return True, next(iter(folders))
    return False, None


def _canonical(folder: str | None) -> str | None:
    return tables.canonical_folder(folder) if folder else None


def _repo_key(repo: str | None) -> str:
    return (repo or "").lower().rstrip("/").removesuffix(".git").split("github.com/")[-1]


def measure(paths: list[str], truth: dict) -> dict:
    result = read_workflows(paths)
    refs = Counter()
    wrong, cannot, unmeasured = Counter(), Counter(), Counter()
    nodes = Counter()
    unnamed, misnamed = Counter(), Counter()
    answers: dict[tuple[str, str], set[str]] = {}  # (class, input) -> folders given
    for wf in result.workflows:
        for ref in wf.info.models:
            if not ref.node_type or tables.loader_inputs(ref.node_type):
                continue
            if ref.input == "text (embedding:)" or ref.node_type in tables.core_nodes():
                continue
            if ref.folder and not ref.input.startswith("widgets_values["):
                answers.setdefault((ref.node_type, ref.input), set()).add(ref.folder)
            covered, want = _truth_folder(truth, ref.node_type, ref.input)
            if not covered:
                unmeasured[(ref.node_type, ref.input)] += 1
                continue
            got = _canonical(ref.folder)
            if got is None:
                refs["right" if want is None else "cannot tell"] += 1
                if want is not None:
                    cannot[(ref.node_type, ref.input, ref.reason or "")] += 1
            elif got == _canonical(want):
                refs["right"] += 1
            else:
                refs["wrong"] += 1
                wrong[(ref.node_type, ref.input, f"got {got}, code reads {want}")] += 1
        for node in wf.info.nodes:
            if node.core:
                continue
            nodes["instances"] += 1
            packs, _via = nodetable.named_packs(node.class_type)
            if node.cnr_id or node.aux_id or packs:
                nodes["named"] += 1
                want_pack = truth.get(node.class_type, {}).get("pack")
                if _via == "map":
                    repos = [r for _p, r in nodetable.mapped_packs(node.class_type)]
                else:
                    repos = [nodetable.pack_repo(p) for p in packs]
                named = [_repo_key(r) for r in repos]
                if want_pack and packs and _repo_key(want_pack) not in named:
                    misnamed[(node.class_type, ", ".join(named))] += 1
            else:
                unnamed[node.class_type] += 1
    total = sum(refs.values())

    def pct(n: int, d: int) -> float:
        return round(100.0 * n / d, 1) if d else 0.0

    return {
        "workflows": len(result.workflows),
        "references": total,
        "right_pct": pct(refs["right"], total),
        "wrong_pct": pct(refs["wrong"], total),
        "cannot_tell_pct": pct(refs["cannot tell"], total),
        "counts": dict(refs),
        "unmeasured": sum(unmeasured.values()),
        "node_instances": nodes["instances"],
        "packs_named_pct": pct(nodes["named"], nodes["instances"]),
        "packs_misnamed": sum(misnamed.values()),
        "wrong": [f"{n}x {c}.{i}: {why}" for (c, i, why), n in wrong.most_common()],
        "cannot_tell": [f"{n}x {c}.{i}: {why}" for (c, i, why), n in cannot.most_common()],
        "unmeasured_inputs": [f"{n}x {c}.{i}" for (c, i), n in unmeasured.most_common()],
        "unnamed_classes": [f"{n}x {c}" for c, n in unnamed.most_common()],
        "misnamed_classes": [f"{n}x {c} -> {p}" for (c, p), n in misnamed.most_common()],
        "inconsistent_inputs": sorted(
            f"{c}.{i}: {sorted(f)}" for (c, i), f in answers.items() if len(f) > 1
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--truth", default=str(HERE / "heldout_truth.json"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    truth = json.loads(Path(args.truth).read_text())["classes"]
    report = measure(args.paths, truth)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(
        f"{report['workflows']} workflows, {report['references']} custom-node model references"
        f" ({report['unmeasured']} unmeasured): right {report['right_pct']}%,"
        f" wrong {report['wrong_pct']}%, cannot tell {report['cannot_tell_pct']}%"
    )
    print(
        f"{report['node_instances']} custom node instances: pack named offline"
        f" {report['packs_named_pct']}% ({report['packs_misnamed']} named differently from the truth)"
    )
    print(f"inputs given two folders across files/formats: {len(report['inconsistent_inputs'])}")
    keys = ("wrong", "cannot_tell", "unmeasured_inputs", "unnamed_classes", "misnamed_classes")
    for key in (*keys, "inconsistent_inputs"):
        if report[key]:
            print(f"\n{key.replace('_', ' ')}:")
            print("\n".join(f"  {line}" for line in report[key][:25]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
