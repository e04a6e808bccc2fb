"""The two sides of ``comfylock diff``: a lock with the Python lock files it names
(``pylock.<target>.toml`` beside it), read from disk or as a git revision has them.

A revision is read with ``git show REV:./comfy.lock`` run in the lock's directory, so the lock
may sit anywhere in the repository. A revision git does not know, no git, or no repository is
a usage error (exit 2) naming what to do; a revision without the lock file gives an empty
lock, so the diff shows everything as added (a pull request that adds ``comfy.lock``). The
text read is parsed and checked like any lock file; a Python lock file that is missing is
left out (its packages then show as added or removed, never as an error).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..constants import LOCK_VERSION
from ..errors import UsageError
from .changes import LockSide
from .file import load, loads
from .structs import Lock

__all__ = ["side_at", "side_of_file"]


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, check=False, timeout=60
        )
    except FileNotFoundError:
        raise UsageError(
            "git is not installed", hint="install git, or pass another lock file to compare"
        ) from None


def _pylock_names(lock: Lock) -> list[str]:
    return [t.file for t in lock.python.target] if lock.python is not None else []


def side_of_file(path: Path) -> LockSide:
    """A lock file and the Python lock files beside it that it names."""
    lock = load(path)
    texts = {}
    for name in _pylock_names(lock):
        try:
            texts[name] = (path.parent / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return LockSide(lock=lock, pylocks=texts)


def _commit_of(rev: str, where: Path) -> str:
    if rev.startswith("-"):
        raise UsageError(f"{rev!r} is not a revision", hint="name a commit, branch or tag")
    found = _git(where, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if found.returncode == 0:
        return found.stdout.decode().strip()
    if _git(where, "rev-parse", "--is-inside-work-tree").returncode != 0:
        raise UsageError(
            f"{where} is not in a git repository, and {rev!r} is no lock file",
            hint="pass a lock file to compare with, or run diff in a git checkout",
        )
    raise UsageError(
        f"{rev!r} is neither a lock file nor a revision git knows",
        hint="name a commit, branch or tag (`git log --oneline`), or a lock file",
    )


def _show(where: Path, commit: str, rev: str, name: str) -> str | None:
    """The text of ``name`` (beside the lock) at ``commit``; None where it does not exist."""
    shown = _git(where, "show", f"{commit}:./{name}")
    if shown.returncode == 0:
        return shown.stdout.decode("utf-8", errors="replace").replace("\r\n", "\n")
    problem = shown.stderr.decode("utf-8", errors="replace").strip()
    if "exist" in problem:  # "does not exist in" / "exists on disk, but not in"
        return None
    first = (problem.splitlines() or ["git failed"])[0]
    raise UsageError(f"git show {rev}:{name}: {first}")


def side_at(rev: str, lock_path: Path) -> tuple[LockSide, bool]:
    """(the lock at ``rev`` with its Python lock files, whether the lock exists there)."""
    where = lock_path.parent
    commit = _commit_of(rev, where)
    text = _show(where, commit, rev, lock_path.name)
    if text is None:
        return LockSide(lock=Lock(version=LOCK_VERSION)), False
    lock = loads(text, source=f"{rev}:{lock_path.name}")
    texts = {n: t for n in _pylock_names(lock) if (t := _show(where, commit, rev, n)) is not None}
    return LockSide(lock=lock, pylocks=texts), True
