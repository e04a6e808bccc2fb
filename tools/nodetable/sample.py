"""The measurement sample: real example workflows shipped in custom-node repositories, split by
repository (never by file) into a TUNE part and a HELD-OUT part.

    python -m tools.nodetable.sample split [--round 2] [--mirror DIR]   # sample_split[2].json
    python -m tools.nodetable.sample extract OUT [--round 2] [--mirror DIR] [--corpus DIR]
    python -m tools.nodetable.sample install ROOT [--mirror DIR]
    python -m tools.nodetable.sample candidates [--round N] [--mirror DIR]  # sample_reposN.txt

``split`` lists, for every repository in ``sample_repos.txt`` that the mirror holds, the
workflow files of its snapshot (``.json``/``.png``/``.webp`` files the reader accepts as a
workflow) and puts the repository in one part: ``tune`` when the list forces it, else
held-out when ``sha256("<SEED>:<owner/repo lowercased>")`` is even. The split depends on
the seed and the names only, not on the order of the list or on anything the scanner says.
``extract`` writes those files, at the commits recorded in the split, to
``OUT/<part>/<owner>+<repo>/<path>``, with the shared corpus' custom-node workflows
(``custom_node_workflows/<owner>_<repo>/``) joining their repository's part. ``install``
makes ``ROOT`` a ComfyUI root whose ``custom_nodes/`` holds every pack of the mirror (its
source and text files at the snapshot's HEAD, with a ``.git`` that names the commit and the
remote, as a clone would): the machine ``measure --comfyui-root`` reads installed packs from.

Round 2 (issue 17, second round) is a second sample with its own list, seed and parts
(``tune2``/``heldout2``): ``candidates`` lists every repository of the mirror outside round
1's list that ships a workflow file, and repositories fetched later only to measure packs
outside the shipped table are appended with the tag ``heldout`` (forced into ``heldout2``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from comfylock.errors import WorkflowError
from comfylock.workflows.reader import parse

from .gitread import head_commit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SUFFIXES = (".json", ".png", ".webp")


@dataclass(frozen=True)
class Round:
    """One measurement sample: its list, split file, seed and the names of its two parts."""

    repos: Path
    split: Path
    seed: str
    tune: str
    heldout: str


ROUNDS = {
    1: Round(HERE / "sample_repos.txt", HERE / "sample_split.json", "issue17", "tune", "heldout"),
    2: Round(
        HERE / "sample_repos2.txt", HERE / "sample_split2.json", "issue17b", "tune2", "heldout2"
    ),
    3: Round(
        HERE / "sample_repos3.txt", HERE / "sample_split3.json", "issue17c", "tune3", "heldout3"
    ),
    4: Round(
        HERE / "sample_repos4.txt", HERE / "sample_split4.json", "issue17d", "tune4", "heldout4"
    ),
}
REPOS, SPLIT, SEED = ROUNDS[1].repos, ROUNDS[1].split, ROUNDS[1].seed


def listed(path: Path = REPOS) -> list[tuple[str, str | None]]:
    """(owner/repo, the part a tag forces it into: "tune", "heldout" or None) from a list."""
    rows = (line.split("#", 1)[0].split() for line in path.read_text().splitlines())
    tags = ("tune", "heldout")
    return [(row[0], next((t for t in tags if t in row[1:]), None)) for row in rows if row]


def part_of(repo: str, forced: str | None, sample: Round = ROUNDS[1]) -> str:
    if forced is not None:
        return sample.tune if forced == "tune" else sample.heldout
    digest = hashlib.sha256(f"{sample.seed}:{repo.lower()}".encode()).digest()
    return sample.heldout if digest[-1] % 2 == 0 else sample.tune


def _gitdir(mirror: Path, repo: str) -> str | None:
    from .generate import snapshot_gitdir

    return snapshot_gitdir(mirror, repo)


def _blob(gitdir: str, commit: str, path: str) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", gitdir, "show", f"{commit}:{path}"], capture_output=True, check=True
    ).stdout


def workflow_files(gitdir: str, commit: str) -> list[str]:
    """Paths at ``commit`` that hold a workflow the reader accepts."""
    names = subprocess.run(
        ["git", "--git-dir", gitdir, "ls-tree", "-r", "--name-only", "-z", commit],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "replace")
    out = []
    for path in sorted(n for n in names.split("\0") if n.lower().endswith(SUFFIXES)):
        try:
            parse(_blob(gitdir, commit, path), name=path)
        except (WorkflowError, subprocess.CalledProcessError):
            continue
        out.append(path)
    return out


def split(mirror: Path, sample: Round = ROUNDS[1]) -> dict:
    repos: dict[str, dict] = {}
    absent = []
    for repo, forced in listed(sample.repos):
        gitdir = _gitdir(mirror, repo)
        commit = head_commit(gitdir) if gitdir else None
        if commit is None:
            absent.append(repo)
            continue
        files = workflow_files(gitdir, commit)
        if files:
            part = part_of(repo, forced, sample)
            repos[repo] = {"part": part, "commit": commit, "files": files}
        else:
            absent.append(repo)
    return {
        "about": __doc__.split("\n\n")[0].replace("\n", " "),
        "seed": sample.seed,
        "rule": f"{sample.heldout} iff forced (tag heldout) or, not forced into {sample.tune},"
        " sha256('<seed>:<owner/repo lowercased>') ends in an even byte",
        "repos": repos,
        "no-workflows": sorted(absent),
    }


_NOT_PACKS = {"Comfy-Org+ComfyUI", "Comfy-Org+ComfyUI-Manager", "ltdrdata+ComfyUI-Manager"}


def candidates(mirror: Path, before: int = 2) -> list[str]:
    """Repositories of the mirror outside the lists of the rounds before ``before`` that ship
    a workflow file."""
    taken = {repo.lower() for n in range(1, before) for repo, _ in listed(ROUNDS[n].repos)}
    out = []
    for entry in sorted(mirror.iterdir(), key=lambda p: p.name.lower()):
        repo = entry.name.replace("+", "/", 1)
        if "/" not in repo or repo.lower() in taken or entry.name in _NOT_PACKS:
            continue
        gitdir = _gitdir(mirror, repo)
        commit = head_commit(gitdir) if gitdir else None
        if commit is not None and workflow_files(gitdir, commit):
            out.append(repo)
    return out


def extract(data: dict, mirror: Path, out: Path, corpus: Path | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for repo, entry in data["repos"].items():
        gitdir = _gitdir(mirror, repo)
        if gitdir is None:
            print(f"missing from the mirror: {repo}", file=sys.stderr)
            continue
        base = out / entry["part"] / repo.replace("/", "+", 1)
        for path in entry["files"]:
            target = base / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_blob(gitdir, entry["commit"], path))
            counts[entry["part"]] = counts.get(entry["part"], 0) + 1
        shared = corpus / repo.replace("/", "_", 1) if corpus else None
        if shared and shared.is_dir():
            for src in sorted(shared.rglob("*")):
                if src.is_file() and src.suffix.lower() in SUFFIXES:
                    target = base / "_corpus" / src.relative_to(shared)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, target)
                    counts[entry["part"]] = counts.get(entry["part"], 0) + 1
    return counts


# what an installed pack holds that the reader reads (its browser code registers nodes too)
_INSTALLED = (".py", ".js", ".toml", ".json", ".yaml", ".yml", ".txt", ".cfg", ".ini")


def install(mirror: Path, root: Path) -> int:
    """Every pack of the mirror as an installed pack under ``root/custom_nodes``."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    count = 0
    for entry in sorted(mirror.iterdir()):
        gitdir = _gitdir(mirror, entry.name.replace("+", "/", 1))
        commit = head_commit(gitdir) if gitdir and entry.name not in _NOT_PACKS else None
        if commit is None:
            continue
        owner, _, name = entry.name.partition("+")
        pack = root / "custom_nodes" / name
        if (pack / ".git" / "HEAD").exists():
            continue
        for path, data in _text_files(gitdir, commit):
            target = pack / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (pack / ".git").mkdir(parents=True, exist_ok=True)
        (pack / ".git" / "HEAD").write_text(commit + "\n")
        (pack / ".git" / "config").write_text(
            f'[remote "origin"]\n\turl = https://github.com/{owner}/{name}\n'
        )
        count += 1
    return count


def _text_files(gitdir: str, commit: str):
    listing = subprocess.run(
        ["git", "--git-dir", gitdir, "ls-tree", "-r", "-l", "-z", commit],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for row in listing:
        meta, _, raw = row.partition(b"\t")
        parts = meta.split()
        path = raw.decode("utf-8", "replace")
        if len(parts) != 4 or parts[1] != b"blob" or not path.lower().endswith(_INSTALLED):
            continue
        if not parts[3].isdigit() or int(parts[3]) > 2_000_000 or ".." in path.split("/"):
            continue
        got = subprocess.run(
            ["git", "--git-dir", gitdir, "cat-file", "blob", parts[2].decode()],
            capture_output=True,
        )
        if got.returncode == 0:  # a snapshot lacks its biggest files
            yield path, got.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("verb", choices=("split", "extract", "install", "candidates"))
    ap.add_argument("out", nargs="?", type=Path)
    ap.add_argument("--round", type=int, choices=sorted(ROUNDS), default=1, dest="round_")
    ap.add_argument("--mirror", type=Path, default=ROOT.parent / ".mirror")
    ap.add_argument(
        "--corpus",
        type=Path,
        default=ROOT.parent / "shared" / "corpus" / "custom_node_workflows",
    )
    args = ap.parse_args(argv)
    sample = ROUNDS[args.round_]
    if args.verb == "candidates":
        before = max(args.round_, 2)
        found = candidates(args.mirror, before)
        print("\n".join(found))
        rounds = "round 1" if before == 2 else f"rounds 1-{before - 1}"
        print(f"{len(found)} repositories outside {rounds} ship workflow files", file=sys.stderr)
        return 0
    if args.verb == "split":
        data = split(args.mirror, sample)
        sample.split.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        parts = [e["part"] for e in data["repos"].values()]
        print(
            f"{len(parts)} repositories with workflows: {parts.count(sample.tune)} "
            f"{sample.tune}, {parts.count(sample.heldout)} {sample.heldout};"
            f" {len(data['no-workflows'])} without"
        )
        return 0
    if args.out is None:
        ap.error(f"{args.verb} needs a directory")
    if args.verb == "install":
        print(f"installed {install(args.mirror, args.out)} packs under {args.out}/custom_nodes")
        return 0
    data = json.loads(sample.split.read_text())
    counts = extract(data, args.mirror, args.out, args.corpus if args.corpus.is_dir() else None)
    done = ", ".join(f"{n} {part}" for part, n in sorted(counts.items()))
    print(f"wrote {done} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
