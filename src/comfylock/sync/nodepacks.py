"""Node packs in ``custom_nodes/``: observe them, clone them, move them to a commit.

A pack lives in ``custom_nodes/<repo name>``. A clean clone of the same remote is fetched
and checked out at the pinned commit; a directory with local changes, one that is not a git
clone, or a clone of another remote is never touched (a conflict). Repos may be https URLs,
local paths or ``file://`` URLs (a team's mirror, a test's bare repo); ``git://`` and plain
http only for loopback or ``allow-http`` hosts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..environment.gitobjects import repo_url
from ..errors import RemoteError
from ..lock.structs import Lock, LockedNode
from ..pathsafe import check_name, check_parent_within, real_roots, safe_join, temp_sibling
from .workspace import NodeState

__all__ = ["checkout_pack", "clone_pack", "observe_nodes", "pack_dir", "repo_url"]


def _git(
    *args: str, cwd: Path | None = None, check: bool = True, repo: str = "", network: bool = False
) -> subprocess.CompletedProcess:
    """git with the protocol allow-list of ``repo`` (``git_env``): local commands pass none
    and may then reach https and file only. A ``network`` call (clone, fetch) runs bounded
    (``net.gitrun``: the downloads' stall limit and a silence watchdog)."""
    from ..net.urlpolicy import git_env

    env = git_env(repo)
    if network:
        from ..basics.redact import redact
        from ..net.gitrun import run_git

        proc = run_git(args, env=env, cwd=cwd, what=f"git {args[0]} {redact(repo)}".strip())
    else:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
    if check and proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        raise RemoteError(f"git {args[0]}: {err}")
    return proc


def pack_dir(node: LockedNode, custom_nodes: Path) -> Path:
    """``custom_nodes/<repo name>``, with the name checked like any name from a lock."""
    name = node.repo.rstrip("/").rsplit("/", 1)[-1]
    name = name[:-4] if name.endswith(".git") else name
    return safe_join(custom_nodes, check_name(name, what="node pack name"))


def _same_remote(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        u = u.rstrip("/")
        u = u[:-4] if u.endswith(".git") else u
        return u[len("file://") :] if u.startswith("file://") else u

    return norm(a).lower() == norm(b).lower()


def _observe_one(node: LockedNode, path: Path, url: str) -> NodeState:
    base = {"id": node.id, "path": str(path)}
    if not path.exists():
        return NodeState(**base, status="missing")
    if not (path / ".git").exists():
        return NodeState(
            **base, status="foreign", detail="a directory that is not a git clone is in the way"
        )
    remote = _git("config", "--get", "remote.origin.url", cwd=path, check=False).stdout.strip()
    if not _same_remote(remote, url):
        return NodeState(
            **base, status="foreign", detail=f"a clone of another remote ({remote or 'none'})"
        )
    head = _git("rev-parse", "HEAD", cwd=path, check=False).stdout.strip() or None
    dirty = _git(
        "status", "--porcelain", "--untracked-files=no", cwd=path, check=False
    ).stdout.strip()
    if dirty:
        return NodeState(
            **base,
            status="dirty",
            head=head,
            detail="local changes; commit or stash them, comfylock will not touch them",
        )
    if head == node.commit:
        return NodeState(**base, status="ok", head=head)
    return NodeState(**base, status="behind", head=head)


def observe_nodes(
    lock: Lock, comfyui_root: Path, project_dir: Path, allow_http: Sequence[str] = ()
) -> tuple[NodeState, ...]:
    custom_nodes = comfyui_root / "custom_nodes"
    roots = real_roots([custom_nodes])
    states = []
    for n in lock.node:
        path = pack_dir(n, custom_nodes)
        # NOTE: before git looks inside: a parent symlinked out of custom_nodes is refused
        check_parent_within(path, roots, what="custom_nodes/")
        states.append(_observe_one(n, path, repo_url(n.repo, project_dir, allow_http)))
    return tuple(states)


def _has_commit(path: Path, commit: str) -> bool:
    return _git("cat-file", "-e", f"{commit}^{{commit}}", cwd=path, check=False).returncode == 0


def clone_pack(url: str, commit: str, path: Path) -> None:
    """Clone beside the destination, check out the commit, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        _git("clone", "--quiet", "--no-checkout", "--", url, str(tmp), repo=url, network=True)
        if not _has_commit(tmp, commit):
            _git("fetch", "--quiet", "origin", commit, cwd=tmp, repo=url, network=True)
        _git("checkout", "--quiet", "--detach", commit, cwd=tmp)
        os.rename(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def checkout_pack(commit: str, path: Path, url: str = "") -> None:
    """Move a clean clone to ``commit``, fetching it first when it is not there yet. ``url``
    is the lock's repo (the clone's origin): it sets the protocols git may use."""
    if not _has_commit(path, commit):
        _git("fetch", "--quiet", "origin", cwd=path, repo=url, network=True)
        if not _has_commit(path, commit):
            with contextlib.suppress(RemoteError):
                _git("fetch", "--quiet", "origin", commit, cwd=path, repo=url, network=True)
    if not _has_commit(path, commit):
        raise RemoteError(f"{path.name}: commit {commit[:12]} not found in the remote")
    _git("checkout", "--quiet", "--detach", commit, cwd=path)
