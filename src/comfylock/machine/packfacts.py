"""What the custom-node packs installed in a ComfyUI root say about their classes.

The shipped knowledge table covers the packs it was generated from, at the commits it read.
The machine that resolves a workflow usually has the pack it uses installed, at the version
the workflow was made with: its code is right there in ``custom_nodes/``. Each installed pack
the table does not hold at that commit is read with ``packcode`` (``ast`` only: never imported,
never run, no network) and its facts join the table for this run (``nodeknowledge.pinned``), each
answer saying where it came from (``installed pack at <commit>``).

A pack is identified by its directory and its git commit (``.git/HEAD``, read as files; no git
process), or, when it is not a git checkout, by a digest of its source files' names, sizes and
modification times. Facts are cached per (directory, identity, scanner version) in
``<cache dir>/packfacts.sqlite``, so a second run reads nothing but that: a cache that cannot be
read or written only costs time.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from pathlib import Path

import msgspec

from ..packcode import SCANNER_VERSION
from ..packcode.frontend import FRONTEND_SUFFIXES
from ..packcode.source import DATA_SUFFIXES
from ..workflows import nodeknowledge, nodetable
from .installed import read_bounded

__all__ = ["InstalledPack", "installed_knowledge", "installed_packs", "read_installed_pack"]

MAX_SOURCE = 600_000  # bytes: a bigger .py file is generated data, not node code
MAX_DATA = 1_000_000  # a data file (.json, .yaml) a pack's code loads
MAX_FILES = 5_000
SKIP_DIRS = frozenset({".git", "__pycache__", "node_modules", ".venv", "venv"})
CODE = (".py", *FRONTEND_SUFFIXES)  # the pack's Python, and browser code registering nodes
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_URL = re.compile(r"^\s*url\s*=\s*(\S+)\s*$", re.M)


class InstalledPack(msgspec.Struct, frozen=True):
    """One installed pack: its directory name, identity (a commit, or ``content:<digest>``),
    origin remote (when a git checkout names one), registry id and what its code says."""

    dirname: str
    ident: str
    remote: str | None
    registry_id: str | None
    facts: dict

    @property
    def origin(self) -> str:
        if self.ident.startswith("content:"):
            return "installed pack (not a git checkout)"
        return f"installed pack at {self.ident[:12]}"


def installed_knowledge(comfyui_root: Path, cache_dir: Path | None) -> nodeknowledge.Knowledge:
    """The facts of the packs under ``comfyui_root/custom_nodes`` that the shipped table does
    not hold at the commit installed, as ``Knowledge`` over it."""
    from ..packcode.entries import merge_claims, pack_entry
    from ..workflows.tables import core_nodes

    packs: dict = {}
    claims: dict = {}
    digest = hashlib.sha256()
    held: set[str] = set()  # the table's packs installed here at the commit it read

    def skip(remote: str | None, ident: str) -> bool:
        pack_id = _table_holds(remote, ident)
        if pack_id is not None:
            held.add(pack_id)
        return pack_id is not None

    for pack in installed_packs(comfyui_root, cache_dir, skip=skip):
        owner_repo = _owner_repo(pack.remote) or f"local/{pack.dirname}"
        pack_id, entry = pack_entry(
            owner_repo,
            pack.facts,
            commit=pack.ident if _HEX40.match(pack.ident) else "",
            registry=pack.registry_id,
            core=set(core_nodes()),
            repo=pack.remote or f"custom_nodes/{pack.dirname}",
        )
        entry["origin"] = pack.origin
        packs[pack_id] = entry
        for name in entry["nodes"]:
            claims.setdefault(name, []).append((pack_id, pack.facts["classes"][name]))
        digest.update(f"{pack.dirname}\0{pack.ident}\0".encode())
    data = {"packs": packs, "classes": merge_claims(claims)}
    read = nodeknowledge.knowledge(data, digest=f"installed:{digest.hexdigest()[:16]}")
    # a class several of the table's packs provide: the one installed here is the one read
    chosen = nodetable.installed_variants(held | set(packs))
    return nodeknowledge.combine(chosen, read) or read


def installed_packs(comfyui_root: Path, cache_dir: Path | None, skip=None) -> list[InstalledPack]:
    """Every pack directory under ``custom_nodes/`` (not hidden, not ``.disabled``), read or
    taken from the cache; ``skip(remote, identity)``: packs not to read at all (the shipped
    table holds them), told from the checkout before any source is read."""
    base = comfyui_root / "custom_nodes"
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return []
    cache = _Cache(cache_dir / "packfacts.sqlite") if cache_dir else None
    out = []
    try:
        for entry in entries:
            if entry.name.startswith((".", "__")) or entry.name.endswith(".disabled"):
                continue
            if not entry.is_dir():
                continue
            path = Path(entry.path)
            ident = _identity(path)
            if skip is not None and skip(_remote(path), ident):
                continue
            pack = _cached_or_read(path, cache, ident)
            if pack is not None:
                out.append(pack)
    finally:
        if cache is not None:
            cache.close()
    return out


def read_installed_pack(path: Path) -> InstalledPack:
    """Read one installed pack's code (see the module docstring)."""
    from ..packcode.entries import registry_id
    from ..packcode.facts import pack_facts
    from ..packcode.source import SourcePack
    from ..workflows.tables import core_facts

    files = _source_files(path)
    facts = pack_facts(SourcePack(path.name, files), core_facts())
    return InstalledPack(
        dirname=path.name,
        ident=_identity(path),
        remote=_remote(path),
        registry_id=registry_id(files.get("pyproject.toml")),
        facts=facts,
    )


def _cached_or_read(path: Path, cache, ident: str) -> InstalledPack | None:
    key = (path.name, ident, SCANNER_VERSION)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit
    try:
        pack = read_installed_pack(path)
    except (OSError, RecursionError, ValueError):
        return None
    if cache is not None:
        cache.put(key, pack)
    return pack


def _source_files(root: Path) -> dict[str, str]:
    """The pack's Python and data files (path inside the pack -> text), bounded."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            limit = MAX_SOURCE if name.endswith(CODE) else MAX_DATA
            if not name.endswith((*CODE, *DATA_SUFFIXES)) and name != "pyproject.toml":
                continue
            full = os.path.join(dirpath, name)
            text = read_bounded(full, limit)
            if text is None:
                continue
            out[os.path.relpath(full, root).replace(os.sep, "/")] = text
            if len(out) >= MAX_FILES:
                return out
    return out


def _identity(path: Path) -> str:
    """The checkout's commit (``.git/HEAD``, a branch resolved through ``refs/`` or
    ``packed-refs``), else a digest of the source files' names, sizes and mtimes."""
    commit = _git_head(path / ".git")
    if commit:
        return commit
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith((*CODE, *DATA_SUFFIXES)):
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), path)
                digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return "content:" + digest.hexdigest()[:32]


def _git_head(gitdir: Path) -> str | None:
    try:
        if gitdir.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = gitdir.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            gitdir = (gitdir.parent / text[len("gitdir:") :].strip()).resolve()
        head = (gitdir / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if _HEX40.match(head):
        return head
    if not head.startswith("ref:"):
        return None
    ref = head[4:].strip()
    try:
        value = (gitdir / ref).read_text(encoding="utf-8", errors="replace").strip()
        if _HEX40.match(value):
            return value
    except OSError:
        pass
    try:
        for line in (gitdir / "packed-refs").read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name.strip() == ref and _HEX40.match(sha):
                return sha
    except OSError:
        pass
    return None


def _remote(path: Path) -> str | None:
    """The checkout's ``origin`` URL, as written in ``.git/config``."""
    try:
        text = (path / ".git" / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    section = text.split('[remote "origin"]', 1)
    if len(section) != 2:
        return None
    match = _URL.search(section[1].split("[", 1)[0])
    if match is None:
        return None
    from ..basics.redact import strip_url_secrets

    url = strip_url_secrets(match.group(1))
    return url.removesuffix(".git") if url.startswith("https://") else url


def _owner_repo(remote: str | None) -> str | None:
    if not remote or not remote.startswith("https://"):
        return None
    parts = [p for p in remote.rstrip("/").split("/") if p]
    return f"{parts[-2]}/{parts[-1]}" if len(parts) >= 4 else None


def _table_holds(remote: str | None, ident: str) -> str | None:
    """The shipped table's id of this very pack (its ``origin``) when it read it at this very
    commit, with this reader (a pack an older scanner read is read again here: this one may
    see more); None otherwise."""
    if not remote or not _HEX40.match(ident):
        return None
    key = remote.lower().rstrip("/").removesuffix(".git")
    for pack_id in nodetable.pack_ids():
        repo = (nodetable.pack_repo(pack_id) or "").lower().rstrip("/")
        if repo == key:
            same = nodetable.pack_commit(pack_id) == ident
            return pack_id if same and nodetable.pack_scanner(pack_id) == SCANNER_VERSION else None
    return None


class _Cache:
    """(pack directory, identity, scanner version) -> the pack's facts (msgpack) in SQLite."""

    def __init__(self, path: Path) -> None:
        self.db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=5)
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS packs (dir TEXT, ident TEXT, scanner INTEGER,"
                " data BLOB, PRIMARY KEY (dir, ident, scanner))"
            )
        except (OSError, sqlite3.Error):
            self.db = None

    def get(self, key: tuple) -> InstalledPack | None:
        if self.db is None:
            return None
        try:
            row = self.db.execute(
                "SELECT data FROM packs WHERE dir = ? AND ident = ? AND scanner = ?", key
            ).fetchone()
            return msgspec.msgpack.decode(row[0], type=InstalledPack) if row else None
        except (sqlite3.Error, msgspec.DecodeError, msgspec.ValidationError):
            return None

    def put(self, key: tuple, pack: InstalledPack) -> None:
        if self.db is None:
            return
        try:
            with self.db:
                self.db.execute(
                    "INSERT OR REPLACE INTO packs VALUES (?, ?, ?, ?)",
                    (*key, msgspec.msgpack.encode(pack)),
                )
        except sqlite3.Error:
            pass

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
