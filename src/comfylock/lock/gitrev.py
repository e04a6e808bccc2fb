"""A lock as a git revision has it (``comfylock diff REV``): ``git show REV:./comfy.lock``
run in the lock's directory, so the lock may sit anywhere in the repository.

A revision git does not know, no git, or no repository is a usage error (exit 2) naming
what to do; a revision without the lock file gives an empty lock, so the diff shows
everything as added (a pull request that adds ``comfy.lock``). The text read is parsed and
checked like any lock file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..constants import LOCK_VERSION
from ..errors import UsageError
from .file import loads
from .structs import Lock

__all__ = ["lock_at"]


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, check=False, timeout=60
        )
    except FileNotFoundError:
        raise UsageError(
            "git is not installed", hint="install git, or pass another lock file to compare"
        ) from None


def lock_at(rev: str, lock_path: Path) -> tuple[Lock, bool]:
    """(the lock at ``rev``, whether the file exists there) for the lock at ``lock_path``."""
    if rev.startswith("-"):
        raise UsageError(f"{rev!r} is not a revision", hint="name a commit, branch or tag")
    where = lock_path.parent
    found = _git(where, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if found.returncode != 0:
        inside = _git(where, "rev-parse", "--is-inside-work-tree")
        if inside.returncode != 0:
            raise UsageError(
                f"{where} is not in a git repository, and {rev!r} is no lock file",
                hint="pass a lock file to compare with, or run diff in a git checkout",
            )
        raise UsageError(
            f"{rev!r} is neither a lock file nor a revision git knows",
            hint="name a commit, branch or tag (`git log --oneline`), or a lock file",
        )
    commit = found.stdout.decode().strip()
    shown = _git(where, "show", f"{commit}:./{lock_path.name}")
    if shown.returncode != 0:
        problem = shown.stderr.decode("utf-8", errors="replace").strip()
        if "exist" in problem:  # "does not exist in" / "exists on disk, but not in"
            return Lock(version=LOCK_VERSION), False
        first = (problem.splitlines() or ["git failed"])[0]
        raise UsageError(f"git show {rev}:{lock_path.name}: {first}")
    text = shown.stdout.decode("utf-8", errors="replace").replace("\r\n", "\n")
    return loads(text, source=f"{rev}:{lock_path.name}"), True
