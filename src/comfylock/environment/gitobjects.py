"""Files of a git repository at a commit, read from git's objects.

Requirements are read this way (``git show COMMIT:requirements.txt``), never from a work
tree and never by running a pack, so a pack's files are what its pinned commit holds even
when a clone has local changes. The objects come from a clone already on this machine (the
ComfyUI root, a pack in ``custom_nodes/``) when it has the commit, else from a bare mirror
in comfylock's cache (``<cache>/git/<name>-<digest>.git``, blobless where the remote
allows), fetched once and reused.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import RemoteError

__all__ = [
    "dirty_files",
    "grep_words",
    "has_commit",
    "head",
    "is_checkout",
    "ls_remote_tag",
    "mirror",
    "origin_url",
    "read_file",
    "repo_url",
    "run_git",
]

# A clone or fetch of a big repository (ComfyUI is ~100 MB) on a slow link: generous.
GIT_TIMEOUT = 600.0


def run_git(
    *args: str, cwd: Path | None = None, repo: str = "", check: bool = True
) -> subprocess.CompletedProcess:
    """git with the protocol allow-list of ``repo`` (``net.urlpolicy.git_env``), no prompt;
    a call given ``repo`` may reach the network and is bounded (``net.gitrun``)."""
    from ..net.urlpolicy import git_env

    if repo:  # it may reach the network: bounded like every download (net.gitrun)
        from ..basics.redact import redact
        from ..net.gitrun import run_git as bounded

        what = f"git {args[0]} {redact(repo)}"
        proc = bounded(args, env=git_env(repo), cwd=cwd, what=what, wall=GIT_TIMEOUT)
        if check and proc.returncode != 0:
            err = (proc.stderr.strip().splitlines() or ["failed"])[-1]
            raise RemoteError(f"git {args[0]}: {err}")
        return proc
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=git_env(repo),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=GIT_TIMEOUT,
        )
    except FileNotFoundError:
        raise RemoteError(
            "git is not installed", hint="install git (apt install git, brew install git)"
        ) from None
    except subprocess.TimeoutExpired:
        raise RemoteError(f"git {args[0]} took longer than {GIT_TIMEOUT:.0f} s") from None
    if check and proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        raise RemoteError(f"git {args[0]}: {err}")
    return proc


def repo_url(repo: str, project_dir: Path, allow_http: Sequence[str] = ()) -> str:
    """A repo from the lock as git should see it: the https-only rule of ``check_repo``, and
    local paths made absolute against the lock's directory (node packs, the ComfyUI core)."""
    from ..net.urlpolicy import check_repo, is_local_repo

    check_repo(repo, allow_http)
    if not is_local_repo(repo) or urlsplit(repo).scheme.lower() == "file":
        return repo
    path = Path(repo).expanduser()
    return str(path if path.is_absolute() else (project_dir / path).resolve())


def is_checkout(path: Path) -> bool:
    """A git work tree whose top is ``path`` itself (not a folder inside another repo)."""
    return (path / ".git").exists()


def head(path: Path) -> str | None:
    out = run_git("rev-parse", "HEAD", cwd=path, check=False).stdout.strip()
    return out if re.fullmatch(r"[0-9a-f]{40}", out) else None


def origin_url(path: Path) -> str | None:
    out = run_git("config", "--get", "remote.origin.url", cwd=path, check=False).stdout.strip()
    return out or None


def dirty_files(path: Path) -> list[str]:
    """Tracked files with local changes (untracked files — models, packs — do not count)."""
    out = run_git("status", "--porcelain", "--untracked-files=no", cwd=path, check=False).stdout
    return sorted(line[3:] for line in out.splitlines() if len(line) > 3)


def has_commit(gitdir: Path, commit: str) -> bool:
    return (
        run_git("cat-file", "-e", f"{commit}^{{commit}}", cwd=gitdir, check=False).returncode == 0
    )


def read_file(gitdir: Path, commit: str, path: str) -> str | None:
    """The text of ``path`` at ``commit``, or None when the commit has no such file."""
    proc = run_git("show", f"{commit}:{path}", cwd=gitdir, check=False)
    if proc.returncode != 0:
        if has_commit(gitdir, commit):
            return None
        raise RemoteError(f"{gitdir.name}: commit {commit[:12]} is not in this repository")
    return proc.stdout


def grep_words(gitdir: Path, commit: str, words, pathspec: str = "*.py") -> set[str]:
    """Which of ``words`` appear as quoted strings in the files at ``commit`` (one
    ``git grep`` over the objects, no checkout)."""
    words = sorted(set(words))
    if not words:
        return set()
    args = ["grep", "-h", "-o", "-F"]
    for word in words:
        args += ["-e", f'"{word}"']
    proc = run_git(*args, commit, "--", pathspec, cwd=gitdir, check=False)
    return {line.strip().strip('"') for line in proc.stdout.splitlines()} & set(words)


def ls_remote_tag(repo: str, tag: str) -> str | None:
    """The commit a tag names on the remote (an annotated tag peeled), or None."""
    out = run_git("ls-remote", "--", repo, f"refs/tags/{tag}", f"refs/tags/{tag}^{{}}", repo=repo)
    found = dict(reversed(line.split("\t", 1)) for line in out.stdout.splitlines() if "\t" in line)
    return found.get(f"refs/tags/{tag}^{{}}") or found.get(f"refs/tags/{tag}")


def _mirror_dir(cache_dir: Path, repo: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", repo.rstrip("/").rsplit("/", 1)[-1])[:40] or "repo"
    digest = hashlib.sha256(repo.encode()).hexdigest()[:16]
    return cache_dir / "git" / f"{name}-{digest}.git"


def mirror(repo: str, commit: str, cache_dir: Path, *, offline: bool = False) -> Path:
    """A bare mirror of ``repo`` in the cache that has ``commit`` (cloned or fetched as
    needed; never with ``offline``). Raises RemoteError when the commit cannot be had."""
    path = _mirror_dir(cache_dir, repo)
    if path.exists() and has_commit(path, commit):
        return path
    if offline:
        raise RemoteError(
            f"{repo} at {commit[:12]} is not on this machine (offline)",
            hint="run resolve without --offline once, or clone it into custom_nodes/",
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        run_git("clone", "--quiet", "--bare", "--filter=blob:none", "--", repo, str(tmp), repo=repo)
        tmp.rename(path)
    if not has_commit(path, commit):
        run_git("fetch", "--quiet", "origin", cwd=path, repo=repo, check=False)
    if not has_commit(path, commit):
        run_git("fetch", "--quiet", "origin", commit, cwd=path, repo=repo, check=False)
    if not has_commit(path, commit):
        raise RemoteError(f"{repo}: commit {commit[:12]} not found in the remote")
    return path
