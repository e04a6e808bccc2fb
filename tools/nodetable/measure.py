"""Measure the reader on custom nodes against truth written by hand from the packs' own code.

Usage: python -m tools.nodetable.measure DIR... --truth FILE [--comfyui-root ROOT] [--json]

With ``--comfyui-root`` the reader also reads the packs installed there, as ``inspect`` and
``resolve`` do on a machine with a ComfyUI root (``sample.py install`` makes one from a mirror).

The truth file (``truth_heldout.json``, ``truth_tune.json``) says, per custom node class, which
of its inputs name a model and where the node's code reads or puts it:

- a ``folder_paths`` key (``"checkpoints"``): the value is a file of that folder;
- ``{"download": DIR}``: the node downloads what the value names (a Hugging Face repo, a
  label its code maps to a repo or URL) into DIR, relative to the ComfyUI root; ``{value}``
  and ``{repo_name}`` in DIR stand for the value and a repo id's last part; a dict maps
  each value to its DIR (``"*"``: any other value);
- ``null``: the value names no file comfylock can place (only "cannot tell" is right).

Each (node instance, truth input) whose value in the workflow is set counts once:
**right** (the reader's folder, or the directory of its repo/file download, is the truth's),
**wrong** (another folder or directory), **cannot tell** (the reader reported the value
without a place) or **not reported** (no reference at all: the model silently outside the
lock). A reference on a ``null`` input counts right when it is "cannot tell", wrong with a
folder. A reference on an input the truth does not list as a model input is a **false
alarm** when it is "cannot tell" (counted apart, outside the references: ``check`` would fail
on it for nothing; until round 4 it counted as right) and wrong when it has a folder.
Instances whose value the file does not let us find (an unnamed UI widget and no
``widgets`` order in the truth) are unmeasured, as are classes the truth does not cover.
Custom node instances count as "pack named offline" when the node carries ``cnr_id`` /
``aux_id``, or the reader names its pack (the knowledge table, the packs installed under
``--comfyui-root``, the shipped class map).
Targets (issue 17, held-out part): right >= 90%, wrong <= 1%, not reported 0%, packs named >= 95%.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from comfylock.pathsafe import normalise_name
from comfylock.workflows import nodeknowledge, nodetable, tables
from comfylock.workflows.discover import read_workflows
from comfylock.workflows.repos import ALWAYS_INPUT
from comfylock.workflows.widgets import POSITION, is_api, last_key

HERE = Path(__file__).resolve().parent

_NONE = {"", "none", "None", "null", "disabled", "Disabled", "NONE", "[None]"}


def _canonical(folder: str | None) -> str | None:
    return tables.canonical_folder(folder) if folder else None


def _repo_key(repo: str | None) -> str:
    return (repo or "").lower().rstrip("/").removesuffix(".git").split("github.com/")[-1]


# --- the workflow's own values, read independently of the reader ----------------------------


def _ui_instances(graph: dict, prefix: str = "", depth: int = 0, defs=None):
    """(node id as the reader forms it, node dict) of a UI graph, subgraph instances
    expanded (``<instance id>:<inner id>``); definitions never placed under their own id."""
    if defs is None:
        defs = {}
        for sub in (graph.get("definitions") or {}).get("subgraphs") or []:
            if isinstance(sub, dict) and isinstance(sub.get("id"), str):
                defs[sub["id"]] = sub
    placed = set()
    for node in graph.get("nodes") or []:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            continue
        nid = f"{prefix}{node.get('id')}"
        if node["type"] in defs and depth < 8:
            placed.add(node["type"])
            yield from _ui_instances(defs[node["type"]], f"{nid}:", depth + 1, defs)
        else:
            yield nid, node
    if depth == 0:
        for def_id, sub in defs.items():
            if def_id not in placed:
                for nid, node in _ui_instances(sub, f"{def_id}:", 1, defs):
                    yield nid, node


def _instances(obj) -> list[tuple[str, str, dict, dict]]:
    """(node id, class, {input name: value}, {position: input name}) of every node."""
    if isinstance(obj, dict) and not isinstance(obj.get("nodes"), list) and not is_api(obj):
        for key in ("workflow", "prompt"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    out = []
    if isinstance(obj, dict) and isinstance(obj.get("nodes"), list):
        for nid, node in _ui_instances(obj):
            values = node.get("widgets_values")
            names = [
                i["widget"].get("name")
                for i in node.get("inputs") or []
                if isinstance(i, dict) and isinstance(i.get("widget"), dict)
            ]
            if isinstance(values, dict):
                out.append((nid, node["type"], dict(values), {}))
            elif isinstance(values, list):
                named = names if len(names) == len(values) else []
                by_name = {n: v for n, v in zip(named, values) if isinstance(n, str)}
                positions = {i: n for i, n in enumerate(named)}
                out.append((nid, node["type"], by_name, {"_list": values, **positions}))
            else:
                out.append((nid, node["type"], {}, {}))
    elif is_api(obj):
        for nid, node in obj.items():
            inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
            out.append((str(nid), node["class_type"], dict(inputs), {}))
    return out


def _value_and_names(entry: dict, values: dict, positions: dict, name: str):
    """(value, {position: input name}) of a truth input on one instance; value None when
    the file does not let us find it."""
    if name in values:
        return values[name], positions
    raw = positions.get("_list")
    order = entry.get("widgets")  # the truth's widget order (a prefix is enough)
    if raw is not None and order and name in order and order.index(name) < len(raw):
        by_pos = {i: n for i, n in enumerate(order)}
        return raw[order.index(name)], by_pos
    return None, positions


# --- scoring ---------------------------------------------------------------------------------


def _truth_dir(want, value: str) -> str | None:
    place = want.get("download")
    if isinstance(place, dict):
        place = place.get(value, place.get("*"))
    if not isinstance(place, str):
        return None
    repo_name = value.rsplit("/", 1)[-1]
    return place.replace("{value}", value).replace("{repo_name}", repo_name).rstrip("/")


def _place(answer) -> tuple[str, str | None]:
    """("folder" | "dir" | "none", where) of one reader answer (ModelRef or RepoRef)."""
    if hasattr(answer, "repo"):
        return "dir", answer.dir.rstrip("/")
    if answer.folder is None:
        return "none", None
    if "/" in answer.folder:  # a pack-local or root-relative directory
        return "dir", answer.folder.rstrip("/")
    return "folder", _canonical(answer.folder)


def _dirs_of(folder: str) -> set[str]:
    """The directories (relative to the ComfyUI root) a folder key names."""
    out = {f"models/{d}" for d in tables.default_dirs(folder)}
    return out | set(nodetable.folder_dirs(folder)) | set(nodetable.folder_dirs(_canonical(folder)))


def _score(want, value: str, answer) -> str:
    """A folder and a directory agree when the folder's first directory is the one
    (``sams`` and ``models/sams``): what counts is where the file lands."""
    kind, where = _place(answer)
    if kind == "none":
        return "right" if want is None else "cannot tell"
    if want is None:
        return "wrong"
    wanted = {_truth_dir(want, value)} if isinstance(want, dict) else _dirs_of(want)
    if kind == "folder" and isinstance(want, str) and where == _canonical(want):
        return "right"
    got = _dirs_of(where) if kind == "folder" else {where}
    return "right" if got & wanted else "wrong"


def _answers_of(wf_info) -> dict[str, list]:
    by_node: dict[str, list] = {}
    for ref in (*wf_info.models, *wf_info.repos):
        by_node.setdefault(ref.node_id, []).append(ref)
    return by_node


def _input_of(answer, names_by_pos: dict) -> str:
    match = POSITION.match(answer.input)
    if match:
        return names_by_pos.get(int(match.group(1)), answer.input)
    return last_key(answer.input)


def _same_value(answer, value) -> bool:
    if not isinstance(value, str):
        return False
    if hasattr(answer, "repo"):
        return answer.repo == value
    return answer.name == normalise_name(value) or (answer.url or "") == value


class _Tally:
    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.detail: dict[str, Counter] = {k: Counter() for k in ("wrong", "cannot", "missing")}
        self.unmeasured: Counter = Counter()
        self.alarms: Counter = Counter()  # "cannot tell" on an input that takes no model
        self.own: Counter = Counter()  # files a node downloads whatever its values: unjudged

    def add(self, outcome: str, what: str) -> None:
        self.counts[outcome] += 1
        key = {"wrong": "wrong", "cannot tell": "cannot", "not reported": "missing"}.get(outcome)
        if key:
            self.detail[key][what] += 1


def _measure_instance(tally: _Tally, entry: dict, cls: str, values, positions, answers) -> None:
    used: set[int] = set()
    for name, want in entry.get("inputs", {}).items():
        value, by_pos = _value_and_names(entry, values, positions, name)
        if value is None and name not in values:
            if want is not None:
                tally.unmeasured[f"{cls}.{name}"] += 1
            continue
        if not isinstance(value, str) or value.strip() in _NONE:
            continue
        mine = [a for a in answers if id(a) not in used and _input_of(a, by_pos) == name]
        mine = mine or [a for a in answers if id(a) not in used and _same_value(a, value)]
        if not mine:
            if want is not None:
                tally.add("not reported", f"{cls}.{name} = {value[:60]!r}")
            continue
        used.update(id(a) for a in mine)
        outcome = _score(want, value, mine[0])
        got = _place(mine[0])
        tally.add(outcome, f"{cls}.{name}: got {got[1] or mine[0].reason}")
    for answer in answers:  # references on inputs the truth says take no model
        if id(answer) in used:
            continue
        if answer.input == ALWAYS_INPUT:  # the node's own, no input's: the truth is per input
            what = getattr(answer, "repo", None) or f"{answer.folder}/{answer.name}"
            tally.own[f"{cls}: {what}"] += 1
            continue
        name = _input_of(answer, positions)
        if name in entry.get("inputs", {}) or POSITION.match(name):
            continue
        outcome = _score(None, "", answer)
        if outcome == "right":  # a "cannot tell" no model stands behind: a false alarm
            tally.alarms[f"{cls}.{name}"] += 1
        else:
            tally.add(outcome, f"{cls}.{name}: not a model input")


def measure(paths: list[str], truth: dict, comfyui_root: Path | None = None) -> dict:
    """Score the reader on ``paths``; with ``comfyui_root``, as ``inspect`` reads them there
    (the packs installed under its ``custom_nodes/`` read from their code)."""
    with reading_as_inspect(comfyui_root):
        return _measure(paths, truth)


@contextmanager
def reading_as_inspect(comfyui_root: Path | None):
    """The reader as ``inspect`` runs it: with ``comfyui_root``, the packs installed there
    are read from their code too; without, the shipped table alone."""
    knowledge = None
    if comfyui_root is not None:
        from comfylock.machine.packfacts import installed_knowledge
        from comfylock.settings import default_cache_dir

        knowledge = installed_knowledge(comfyui_root, default_cache_dir())
    with nodeknowledge.pinned(knowledge):
        yield


def _measure(paths: list[str], truth: dict) -> dict:
    result = read_workflows(paths)
    tally = _Tally()
    nodes: Counter = Counter()
    unnamed: Counter = Counter()
    misnamed: Counter = Counter()
    for wf in result.workflows:
        try:
            obj = json.loads(Path(wf.path).read_bytes())
        except (OSError, ValueError):
            obj = None  # an image: its workflow is measured through the reader only
        answers = _answers_of(wf.info)
        for nid, cls, values, positions in _instances(obj) if obj is not None else ():
            entry = truth.get(cls)
            if entry is not None:
                _measure_instance(tally, entry, cls, values, positions, answers.get(nid, []))
        for node in wf.info.nodes:
            if node.core:
                continue
            nodes["instances"] += 1
            if node.cnr_id or node.aux_id or node.packs:
                nodes["named"] += 1
                want_pack = truth.get(node.class_type, {}).get("pack")
                named = [_repo_key(r) for r in _pack_repos(node)]
                if want_pack and node.packs and _repo_key(want_pack) not in named:
                    misnamed[(node.class_type, ", ".join(node.packs))] += 1
            else:
                unnamed[node.class_type] += 1
    return _report(result, tally, nodes, unnamed, misnamed)


def _pack_repos(node) -> list[str]:
    """The repositories of the packs the reader named for a node (the map names repos)."""
    if node.packs_via == "map":
        return [r for _p, r in nodetable.mapped_packs(node.class_type)]
    return [nodetable.pack_repo(p) or p for p in node.packs]


def _report(result, tally: _Tally, nodes, unnamed, misnamed) -> dict:
    total = sum(tally.counts.values())

    def pct(n: int, d: int) -> float:
        return round(100.0 * n / d, 1) if d else 0.0

    def listed(counter: Counter) -> list[str]:
        return [f"{n}x {what}" for what, n in counter.most_common()]

    return {
        "workflows": len(result.workflows),
        "references": total,
        "right_pct": pct(tally.counts["right"], total),
        "wrong_pct": pct(tally.counts["wrong"], total),
        "cannot_tell_pct": pct(tally.counts["cannot tell"], total),
        "not_reported_pct": pct(tally.counts["not reported"], total),
        "counts": dict(tally.counts),
        "unmeasured": sum(tally.unmeasured.values()),
        "false_alarms": sum(tally.alarms.values()),
        "node_downloads": sum(tally.own.values()),
        "node_instances": nodes["instances"],
        "packs_named_pct": pct(nodes["named"], nodes["instances"]),
        "packs_misnamed": sum(misnamed.values()),
        "wrong": listed(tally.detail["wrong"]),
        "cannot_tell": listed(tally.detail["cannot"]),
        "not_reported": listed(tally.detail["missing"]),
        "unmeasured_inputs": listed(tally.unmeasured),
        "false_alarm_inputs": listed(tally.alarms),
        "node_download_files": listed(tally.own),
        "unnamed_classes": listed(unnamed),
        "misnamed_classes": [f"{n}x {c} -> {p}" for (c, p), n in misnamed.most_common()],
    }


def summary(report: dict) -> list[str]:
    return [
        f"{report['workflows']} workflows, {report['references']} custom-node model references"
        f" ({report['unmeasured']} unmeasured): right {report['right_pct']}%,"
        f" wrong {report['wrong_pct']}%, cannot tell {report['cannot_tell_pct']}%,"
        f" not reported {report['not_reported_pct']}%;"
        f" false alarms {report['false_alarms']}; node downloads {report['node_downloads']}"
        " (files a node fetches whatever its values: not judged, the truth is per input)",
        f"{report['node_instances']} custom node instances: pack named offline"
        f" {report['packs_named_pct']}% ({report['packs_misnamed']} named differently from the truth)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--truth", required=True)
    parser.add_argument(
        "--comfyui-root",
        type=Path,
        help="read the packs installed under DIR/custom_nodes too (sample.py install makes one)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--summary", action="store_true", help="the two summary lines only")
    args = parser.parse_args(argv)
    truth = json.loads(Path(args.truth).read_text())["classes"]
    report = measure(args.paths, truth, args.comfyui_root)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print("\n".join(summary(report)))
    if args.summary:
        return 0
    keys = ("wrong", "cannot_tell", "not_reported", "unmeasured_inputs", "unnamed_classes")
    keys += ("node_download_files",)
    for key in (*keys, "misnamed_classes"):
        if report[key]:
            print(f"\n{key.replace('_', ' ')}:")
            print("\n".join(f"  {line}" for line in report[key][:25]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
