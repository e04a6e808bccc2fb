"""The fake custom-node packs of ``fixtures/nodepacks/`` as the pack reader takes them, and
as a ComfyUI root has them installed (a copy under ``custom_nodes/`` with a ``.git`` that
names its commit and remote, as a clone does)."""

from __future__ import annotations

import shutil
from pathlib import Path

from comfylock.packcode.entries import merge_claims, pack_entry
from comfylock.packcode.facts import pack_facts
from comfylock.packcode.frontend import FRONTEND_SUFFIXES
from comfylock.packcode.source import DATA_SUFFIXES, SourcePack
from comfylock.workflows.tables import core_facts

from .environment import bare_clone, commit_all, git
from .paths import FIXTURES

__all__ = ["PACKS", "install_pack", "pack_repo", "read_pack", "table_of"]

PACKS = FIXTURES / "nodepacks"
TEXT = (".py", *DATA_SUFFIXES, *FRONTEND_SUFFIXES, ".toml")


def read_pack(name: str) -> dict:
    """``pack_facts`` of one fixture pack (its Python and data files)."""
    root = PACKS / name
    files = {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.suffix in TEXT and p.is_file()
    }
    return pack_facts(SourcePack(root.name, files), core_facts())


def table_of(*names: str) -> dict:
    """A knowledge table (``custom_nodes.json``'s shape) made of fixture packs, each read as
    ``fake/<name>`` at a made-up commit."""
    packs: dict = {}
    claims: dict = {}
    for name in names:
        facts = read_pack(name)
        pack_id, entry = pack_entry(
            f"fake/{name}", facts, commit="0" * 40, registry=None, core=set()
        )
        packs[pack_id] = entry
        for cls in entry["nodes"]:
            claims.setdefault(cls, []).append((pack_id, facts["classes"][cls]))
    return {"version": 1, "packs": packs, "classes": merge_claims(claims)}


def install_pack(
    comfyui_root: Path,
    name: str,
    *,
    commit: str = "c0ffee" * 6 + "c0ff",
    remote: str | None = None,
    dirname: str | None = None,
) -> Path:
    """Copy a fixture pack into ``comfyui_root/custom_nodes/<dirname>`` as a clone would
    leave it (``.git/HEAD`` at ``commit``; ``remote``: its origin). Returns its directory."""
    target = comfyui_root / "custom_nodes" / (dirname or name)
    shutil.copytree(PACKS / name, target)
    git = target / ".git"
    git.mkdir()
    (git / "HEAD").write_text(commit + "\n")
    if remote:
        (git / "config").write_text(f'[remote "origin"]\n\turl = {remote}\n')
    return target


def pack_repo(where: Path, name: str) -> tuple[Path, str]:
    """A bare git repository ``where/<name>.git`` holding the fixture pack (a team's mirror of
    it, as ``sync`` clones it), and its commit."""
    work = where / f"{name}-src"
    shutil.copytree(PACKS / name, work)
    git("init", "-q", "-b", "main", cwd=work)
    commit = commit_all(work, {}, "v1")
    return bare_clone(work, where / f"{name}.git"), commit
