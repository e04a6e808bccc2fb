"""Generate src/comfylock/workflows/data/custom_nodes.json from custom-node packs' source code.

Reads git snapshots of the packs listed in tools/nodetable/packs.txt from a mirror directory
(``<mirror>/<owner>+<repo>/repo``, bare git dirs) with Python's ``ast`` — their code is never
imported or run — and writes, per pack, the repo, the commit read and its date, the registry
id where known and the folders it registers; per node class, the folder each model input
lists, where its download-and-load inputs put Hugging Face repos, and which inputs are built
dynamically. Also writes data/node_map.json: ComfyUI-Manager's class -> pack facts for the
classes the table does not cover, with that data's source and licence. Both files record the
scanner version and are laid out one entry a line (``layout``). Prints what changed against
the previous files. See README.md beside this file.

    python -m tools.nodetable.generate [--mirror /work/.mirror] [--at-shipped]
                                       [--only OWNER/REPO[@REV]]...

A listed pack the mirror lacks keeps its entry from the previous table (reported), so a
partial mirror regenerates what it has. ``--only`` reads just the packs named (at REV when
given). ``--at-shipped`` reads each pack at the commit the shipped table records (the drift
test's mode: the same snapshots give the same bytes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from comfylock.packcode import SCANNER_VERSION
from comfylock.packcode.entries import merge_claims, pack_entry, registry_id
from comfylock.packcode.facts import pack_facts
from comfylock.packcode.frontend import FRONTEND_SUFFIXES
from comfylock.packcode.source import DATA_SUFFIXES, SourcePack
from comfylock.workflows.tables import core_facts

from .gitread import commit_date, head_commit, read_python, read_text
from .layout import NODE_MAP_LINES, TABLE_LINES, dumps
from .provenance import MANAGER_FILE, manager_source

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = ROOT / "src" / "comfylock" / "workflows" / "data"
OUT = DATA / "custom_nodes.json"
MAP_OUT = DATA / "node_map.json"
PACKS = HERE / "packs.txt"
MANAGER = ROOT.parent / "shared" / "comfyui" / "manager"
CORE_REPOS = {"https://github.com/comfyanonymous/comfyui", "https://github.com/comfy-org/comfyui"}


def pack_list(path: Path = PACKS) -> list[str]:
    rows = (line.split("#", 1)[0].split() for line in path.read_text().splitlines())
    return [row[0] for row in rows if row]


def norm_repo(url: str) -> str:
    key = url.strip().rstrip("/").lower()
    return key[:-4] if key.endswith(".git") else key


def owner_repo(url: str) -> str:
    """``owner/repo`` of a repository URL (the pack id when the registry has none)."""
    parts = [p for p in url.strip().rstrip("/").split("/") if p]
    name = parts[-1][:-4] if parts[-1].endswith(".git") else parts[-1]
    return f"{parts[-2]}/{name}"


def registry_ids(manager: Path) -> dict[str, str]:
    """repo (normalised) -> the id ComfyUI-Manager's custom-node list gives it (often the
    Manager's own short name, not the registry's: reported, not used as the pack id)."""
    data = json.loads((manager / "custom-node-list.slim.json").read_text())
    return {
        norm_repo(p["reference"]): p["id"]
        for p in data["custom_nodes"]
        if p.get("id") and p.get("reference")
    }


def own_registry_id(gitdir: str, commit: str) -> str | None:
    """The pack's own pyproject.toml ``[project] name`` when it has a ``[tool.comfy]`` table."""
    return registry_id(read_text(gitdir, commit, "pyproject.toml"))


def core_classes() -> set[str]:
    return set(json.loads((DATA / "comfyui.json").read_text())["core_nodes"])


def scan_dir(root: Path) -> dict:
    """Read a pack from a plain directory (the tests' fake packs)."""
    files = {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.suffix in (".py", *DATA_SUFFIXES, *FRONTEND_SUFFIXES) and p.is_file()
    }
    return pack_facts(SourcePack(root.name, files), core_facts())


def snapshot_gitdir(mirror: Path, owner_repo: str) -> str | None:
    """The git directory of a pack's snapshot: ``<owner>+<repo>/repo`` (bare, or a clone's
    ``repo/.git``), the owner and name matched without regard to case."""
    name = owner_repo.replace("/", "+", 1)
    base = mirror / name
    if not base.is_dir():
        found = (
            [p for p in mirror.iterdir() if p.name.lower() == name.lower()]
            if mirror.is_dir()
            else []
        )
        base = found[0] if found else base
    for cand in (base / "repo" / ".git", base / "repo"):
        if (cand / "HEAD").is_file():
            return str(cand)
    return None


def read_pack(mirror: Path, owner_repo: str, commit: str | None) -> dict | None:
    gitdir = snapshot_gitdir(mirror, owner_repo)
    if gitdir is None:
        return None
    commit = head_commit(gitdir, commit or "HEAD")
    if commit is None:
        return None
    files = read_python(gitdir, commit)
    result = pack_facts(SourcePack(owner_repo.split("/", 1)[1], files), core_facts())
    result["commit"] = commit
    result["commit-date"] = commit_date(gitdir, commit)
    result["own-id"] = own_registry_id(gitdir, commit)
    return result


def build(
    mirror: Path,
    manager: Path,
    packs: list[str],
    at: dict | None = None,
    old: dict | None = None,
    only: dict | None = None,
) -> tuple[dict, dict]:
    """The table from the snapshots under ``mirror``, and a report: the packs the mirror
    lacks, the packs kept from ``old``, the packs whose pyproject.toml names another registry
    id than the Manager list. ``at`` pins repo (normalised) -> commit. ``only`` (repo
    (normalised) -> a revision or None) reads just those packs; every other listed pack, and a
    listed pack the mirror lacks, keeps its entry in ``old`` (the previous table) and its
    classes keep their facts from it."""
    core = core_classes()
    ids = registry_ids(manager)
    previous = {norm_repo(p["repo"]): (pid, p) for pid, p in (old or {}).get("packs", {}).items()}
    out_packs: dict = {}
    claims: dict[str, list] = {}  # class -> [(pack id, facts)], in ranking order
    report: dict[str, list] = {
        "missing": [],
        "kept": [],
        "older": [],
        "id-differs": [],
        "same-id": [],
    }
    for owner_repo in packs:
        key = norm_repo(f"https://github.com/{owner_repo}")
        pinned = (only or {}).get(key) or (at or {}).get(key)
        if at is not None and pinned is None:
            continue
        wanted = only is None or key in only
        res = read_pack(mirror, owner_repo, pinned) if wanted else None
        if res is None:
            if key in previous:
                pid, pack = previous[key]
                out_packs[pid] = _read_by(pack, old or {})
                report["kept"].append(owner_repo)
                if out_packs[pid].get("scanner"):
                    report["older"].append(owner_repo)
                for name in pack.get("nodes", ()):
                    claims.setdefault(name, []).append((pid, _facts_of((old or {}), name, pid)))
            elif wanted:
                report["missing"].append(owner_repo)
            continue
        pid, pack = pack_entry(
            owner_repo,
            res,
            commit=res["commit"],
            registry=res["own-id"],
            core=core,
            commit_date=res["commit-date"],
        )
        reg = ids.get(key)
        if reg and pack["registry-id"] != reg:
            report["id-differs"].append(f"{owner_repo}: {reg} -> {pack['registry-id']}")
        if not _newest_of_its_id(pid, pack, out_packs, claims, report):
            continue
        out_packs[pid] = pack
        for name in pack["nodes"]:
            claims.setdefault(name, []).append((pid, res["classes"][name]))
    return {
        "version": 1,
        "generator": generator(),
        "ranking": "tools/nodetable/packs.txt",
        "packs": dict(sorted(out_packs.items())),
        "classes": merge_claims(claims),
    }, report


def _newest_of_its_id(pid: str, pack: dict, packs: dict, claims: dict, report: dict) -> bool:
    """Whether ``pack`` takes the id ``pid``: two listed repositories naming one registry id
    (a renamed or moved repository whose old copy is still listed) are one pack, the one
    with the newer commit; the other's classes are withdrawn (a class never names a pack
    the table does not hold)."""
    other = packs.get(pid)
    if other is None or norm_repo(other["repo"]) == norm_repo(pack["repo"]):
        return True
    newer = (pack.get("commit-date") or "") > (other.get("commit-date") or "")
    old, new = (other, pack) if newer else (pack, other)
    report["same-id"].append(f"{pid}: {new['repo']} kept, {old['repo']} left out")
    if not newer:
        return False
    for name in other.get("nodes", ()):
        rest = [c for c in claims.get(name, ()) if c[0] != pid]
        if rest:
            claims[name] = rest
        else:
            claims.pop(name, None)
    return True


def _read_by(pack: dict, old: dict) -> dict:
    """A kept pack entry saying which scanner read it when that is not this one: a mirror
    rarely holds every listed pack at once, so a new scanner reads what it has and the rest
    keep an older reading, marked (``scanner``), until their snapshots are there."""
    was = pack.get("scanner") or old.get("generator", {}).get("scanner-version", 1)
    rest = {k: v for k, v in pack.items() if k != "scanner"}
    return rest if was == SCANNER_VERSION else {**rest, "scanner": was}


def generator() -> dict:
    """What made the data: recorded in both files (``scanner-version``: see SCANNER_VERSION)."""
    return {"tool": "tools/nodetable", "scanner-version": SCANNER_VERSION}


def _facts_of(old: dict, name: str, pack_id: str) -> dict:
    """A kept pack's facts about a class: its own, where packs' code disagreed
    (``variants``), else what the previous table merged for the class."""
    entry = old.get("classes", {}).get(name, {})
    own = entry.get("variants", {}).get(pack_id)
    if own is not None:
        return dict(own)
    return {k: v for k, v in entry.items() if k not in ("pack", "packs", "claimed-by", "variants")}


def node_map(manager: Path, table: dict, core: set, source: dict) -> dict:
    """ComfyUI-Manager's class -> pack facts for the classes the table does not cover: per
    pack [id, repo, [class, ...]] in the source's repo order (one class a line in the file),
    ``patterns`` [regex, repo of the pack it names] from the packs' ``nodename_pattern``;
    ``source`` is the provenance record (``provenance.manager_source``)."""
    data = json.loads((manager / MANAGER_FILE).read_text())
    covered = {n for p in table["packs"].values() for n in p.get("nodes", ())}
    packs: list[list] = []
    patterns: list[list[str]] = []
    for repo in sorted(data):
        if norm_repo(repo) in CORE_REPOS:
            continue
        names, meta = data[repo][0], (data[repo][1] if len(data[repo]) > 1 else {})
        own = sorted({n for n in names if isinstance(n, str) and "\n" not in n} - covered - core)
        pattern = meta.get("nodename_pattern")
        if not own and not pattern:
            continue
        if pattern:
            patterns.append([pattern, repo])
        packs.append([owner_repo(repo), repo, own])
    return {
        "version": 2,
        "generator": generator(),
        "source": source,
        "packs": packs,
        "patterns": patterns,
    }


def summarise(old: dict, new: dict) -> list[str]:
    lines = []
    op, np_ = old.get("packs", {}), new["packs"]
    added, removed = sorted(set(np_) - set(op)), sorted(set(op) - set(np_))
    moved = sorted(p for p in set(op) & set(np_) if op[p].get("commit") != np_[p]["commit"])
    lines.append(
        f"packs: {len(np_)} ({len(added)} new, {len(removed)} gone, {len(moved)} at a new commit)"
    )
    lines += [f"  + {p}" for p in added[:20]] + [f"  - {p}" for p in removed[:20]]
    lines += [
        f"  ~ {p} {op[p].get('commit', '')[:8]} -> {np_[p]['commit'][:8]}" for p in moved[:20]
    ]
    oc, nc = old.get("classes", {}), new["classes"]
    changed = sorted(c for c in set(oc) & set(nc) if oc[c] != nc[c])
    lines.append(
        f"classes with facts: {len(nc)} ({len(set(nc) - set(oc))} new, "
        f"{len(set(oc) - set(nc))} gone, {len(changed)} changed)"
    )
    lines += [f"  ~ {c}: {oc[c]} -> {nc[c]}" for c in changed[:20]]
    return lines


def stats(table: dict) -> str:
    classes = table["classes"]
    nodes = sum(len(p["nodes"]) for p in table["packs"].values())
    inputs = sum(len(c.get("inputs", {})) for c in classes.values())
    dyn = sum(len(c.get("dynamic", ())) for c in classes.values())
    dls = sum(len(c.get("downloads", {})) for c in classes.values())
    folders = sum(len(p.get("folders", {})) for p in table["packs"].values())
    return (
        f"{len(table['packs'])} packs, {nodes} classes, {inputs} model inputs with a folder, "
        f"{folders} registered folders, {dyn} dynamic inputs, {dls} download inputs"
    )


def parse_only(values: list[str] | None) -> dict | None:
    """``--only OWNER/REPO[@REV]`` values -> {repo (normalised): revision or None}."""
    if not values:
        return None
    out = {}
    for value in values:
        name, _, rev = value.partition("@")
        out[norm_repo(f"https://github.com/{name.strip().strip('/')}")] = rev or None
    return out


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _manager_git(mirror: Path, given: Path | None) -> Path | None:
    if given is not None:
        return given
    for name in ("Comfy-Org+ComfyUI-Manager", "ltdrdata+ComfyUI-Manager"):
        if (mirror / name / "repo").is_dir():
            return mirror / name / "repo"
    return None


def _arguments(argv) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", type=Path, default=ROOT.parent / ".mirror")
    ap.add_argument("--manager", type=Path, default=MANAGER)
    ap.add_argument(
        "--manager-git",
        type=Path,
        help="a git snapshot of ComfyUI-Manager, to find the commit of the class map read "
        "(default: <mirror>/Comfy-Org+ComfyUI-Manager/repo when present)",
    )
    ap.add_argument("--at-shipped", action="store_true")
    ap.add_argument(
        "--only",
        action="append",
        metavar="OWNER/REPO[@REV]",
        help="read just this pack (at REV, else HEAD or the shipped commit with --at-shipped); "
        "the other packs keep their entries. Repeatable",
    )
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = _arguments(argv)
    if not args.mirror.is_dir() or not args.manager.is_dir():
        print(f"need {args.mirror} and {args.manager}; nothing generated", file=sys.stderr)
        return 1
    old, old_map = _read_json(OUT), _read_json(MAP_OUT)
    at = None
    if args.at_shipped:
        at = {norm_repo(p["repo"]): p["commit"] for p in old.get("packs", {}).values()}
    listed, only = pack_list(), parse_only(args.only)
    unknown = set(only or ()) - {norm_repo(f"https://github.com/{o}") for o in listed}
    if unknown:
        print(f"not in {PACKS.name}: {' '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    table, report = build(args.mirror, args.manager, listed, at, old, only)
    previous = old_map.get("source") if isinstance(old_map.get("source"), dict) else {}
    source, note = manager_source(
        args.manager, _manager_git(args.mirror, args.manager_git), previous
    )
    print("\n".join(summarise(old, table)))
    print(stats(table))
    if report["kept"]:
        print(f"kept from the previous table ({len(report['kept'])} packs not read this time)")
    if report["older"]:
        print(
            f"read by an older scanner, marked so ({len(report['older'])} packs): fetch their "
            f"snapshots and run again to read them with scanner {SCANNER_VERSION}"
        )
    if report["missing"]:
        print(f"not in the mirror ({len(report['missing'])}): {' '.join(report['missing'])}")
    for line in report["same-id"]:
        print(f"one registry id, two repositories: {line}")
    if report["id-differs"]:
        print(f"ComfyUI-Manager's list id is not the registry id: {len(report['id-differs'])}")
    print(f"class map: {source['file']} @ {source['commit'] or 'unknown commit'} {note}".rstrip())
    OUT.write_text(dumps(table, TABLE_LINES))
    MAP_OUT.write_text(dumps(node_map(args.manager, table, core_classes(), source), NODE_MAP_LINES))
    print(
        f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes), "
        f"{MAP_OUT.relative_to(ROOT)} ({MAP_OUT.stat().st_size} bytes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
