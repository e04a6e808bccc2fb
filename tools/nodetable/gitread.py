"""Read a pack's Python files from a bare git snapshot (no work tree, nothing checked out), and
the facts the tables record about where they came from (a commit's date, which commit holds a
given file)."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import datetime, timezone

from comfylock.packcode.frontend import FRONTEND_SUFFIXES  # browser code registering nodes
from comfylock.packcode.source import DATA_SUFFIXES as DATA_FILES  # data the code loads

__all__ = ["blob_id", "commit_date", "commit_holding", "head_commit", "read_python", "read_text"]

MAX_FILE = 600_000  # bytes; larger .py files are generated data, not node code


def head_commit(gitdir: str, rev: str = "HEAD") -> str | None:
    proc = subprocess.run(
        ["git", "--git-dir", gitdir, "rev-parse", "--verify", "-q", rev + "^{commit}"],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() or None


MAX_DATA = 1_000_000


def read_python(gitdir: str, commit: str) -> dict[str, str]:
    """Every ``.py`` and ``.js`` file of ``commit`` and its small data files (path -> text),
    skipping oversized and absent blobs."""
    listing = subprocess.run(
        ["git", "--git-dir", gitdir, "ls-tree", "-r", "-l", "-z", commit],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    wanted: list[tuple[str, str]] = []
    for row in listing:
        if not row:
            continue
        meta, _, path = row.partition(b"\t")
        mode, kind, sha, size = meta.split()
        name = path.decode("utf-8", "replace")
        if kind != b"blob" or not size.isdigit():
            continue
        if (
            name.endswith((".py", *FRONTEND_SUFFIXES))
            and int(size) <= MAX_FILE
            and "/node_modules/" not in name
            or name.endswith(DATA_FILES)
            and int(size) <= MAX_DATA
            and "/node_modules/" not in name
        ):
            wanted.append((name, sha.decode()))
    if not wanted:
        return {}
    proc = subprocess.run(
        ["git", "--git-dir", gitdir, "cat-file", "--batch"],
        input="".join(f"{sha}\n" for _, sha in wanted).encode(),
        capture_output=True,
    )
    out: dict[str, str] = {}
    data, pos = proc.stdout, 0
    for name, _sha in wanted:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] != b"blob":
            continue  # missing object in a partial snapshot
        size = int(header[2])
        out[name] = data[pos : pos + size].decode("utf-8", "replace")
        pos += size + 1
    return out


def read_text(gitdir: str, commit: str, path: str) -> str | None:
    proc = subprocess.run(
        ["git", "--git-dir", gitdir, "show", f"{commit}:{path}"], capture_output=True
    )
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def commit_date(gitdir: str, commit: str) -> str | None:
    """The commit's committer date in UTC (``2025-11-26T12:41:55Z``): when it landed."""
    proc = subprocess.run(
        ["git", "--git-dir", gitdir, "show", "-s", "--format=%ct", commit],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    stamp = datetime.fromtimestamp(int(proc.stdout.strip()), tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def blob_id(data: bytes) -> str:
    """The id git gives a file of these bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def commit_holding(gitdir: str, path: str, blob: str) -> str | None:
    """The first commit whose ``path`` has exactly the bytes of ``blob``, or None."""
    proc = subprocess.run(
        ["git", "--git-dir", gitdir, "log", "--all", "--reverse", "--format=%H"]
        + [f"--find-object={blob}", "--", path],
        capture_output=True,
        text=True,
    )
    for commit in proc.stdout.split():
        # --find-object lists the commits that add the blob and the ones that drop it
        held = subprocess.run(
            ["git", "--git-dir", gitdir, "rev-parse", "-q", "--verify", f"{commit}:{path}"],
            capture_output=True,
            text=True,
        )
        if held.stdout.strip() == blob:
            return commit
    return None
