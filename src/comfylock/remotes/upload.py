"""``push`` and ``sync --push``: copy store blobs the lock pins to a team remote (SPEC §8).

HEAD first (what the remote has is never uploaded again), then parallel uploads (S3's
transfer manager splits big blobs into multipart parts). Nothing leaves the store
unverified: the read that sends a blob hashes it (``hashing.VerifyingReader``), and a blob
whose bytes no longer match its name (bit rot, a tool writing through a link) is refused and
quarantined as ``verify`` does. A remote copy is skipped only when its HEAD does not prove it
wrong (``Remote.has``) and no sync on this machine found its bytes wrong (the store index's
``rejects``); such copies are replaced. Input files the lock pins that the store lacks are
first copied into it (verified) from where this machine has them (beside the workflow, the
ComfyUI root's input/): they exist nowhere else, and a push is how other machines get them
(SPEC §10).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec

from ..errors import ComfylockError, FindingError, IntegrityError, UsageError
from ..store.blobs import Store
from ..store.hashing import Expected
from . import Remote, RemoteSpec

__all__ = [
    "PushResult",
    "push",
    "push_blobs",
    "push_summary",
    "push_targets",
    "push_to",
    "stage_inputs",
]

_PARALLEL = 4


class PushResult(msgspec.Struct, kw_only=True):
    remote: str
    uploaded: list[str] = msgspec.field(default_factory=list)  # sha256
    present: list[str] = msgspec.field(default_factory=list)  # the remote had them already
    absent: list[str] = msgspec.field(default_factory=list)  # keys not in the local store
    bytes: int = 0
    failures: list[str] = msgspec.field(default_factory=list)
    exit_code: int = 0  # of the first failure


def push_targets(specs: Sequence[RemoteSpec], name: str | None) -> list[RemoteSpec]:
    """The remotes to push to: ``--remote NAME``, else every remote with ``push = true``."""
    if name is not None:
        chosen = [s for s in specs if s.name == name]
        if not chosen:
            known = ", ".join(s.name for s in specs) or "none configured"
            raise UsageError(f"no remote named {name!r} ({known})", hint="see comfylock.toml")
        if chosen[0].kind != "s3":
            raise UsageError(
                f"remote {name!r} is a read-only mirror",
                hint="push to an s3:// remote; fill a mirror by copying a store's blobs/ into it",
            )
        if not chosen[0].push:
            raise UsageError(
                f"remote {name!r} is not pushable", hint="set push = true in its [[remote]]"
            )
        return chosen
    chosen = [s for s in specs if s.push]
    if not chosen:
        raise UsageError(
            "no remote to push to",
            hint="add a [[remote]] with push = true to comfylock.toml, or set COMFYLOCK_REMOTE",
        )
    return chosen


def _push_one(
    remote: Remote, store: Store, item, result: PushResult, progress, rejected: frozenset[str]
) -> None:
    sha, size, key = item
    try:
        if sha not in rejected and remote.has(sha, size):
            result.present.append(sha)
            return
        expected = Expected(size=size, sha256=sha)
        remote.upload(store.blob_path(sha), expected, progress.task(key, size))
        progress.finished(key, size, verb="pushed")
        if sha in rejected:
            with store.file_lock("store"):
                store.index.forget_reject(remote.spec.url, sha)
        result.uploaded.append(sha)
        result.bytes += size
    except IntegrityError as exc:
        store.quarantine(sha)
        result.failures.append(
            f"{key}: the store's copy is corrupt ({exc.message}); not pushed, moved to "
            "quarantine/ (the next sync fetches it again)"
        )
        result.exit_code = exc.exit_code
    except ComfylockError as exc:
        result.failures.append(f"{key}: {exc.message}")
        result.exit_code = result.exit_code or exc.exit_code


def push_to(remote: Remote, store: Store, wanted, progress, done=()) -> PushResult:
    """Upload what ``remote`` lacks among ``wanted`` [(sha256, size, key)], and what a sync
    here found wrong on it. ``done``: [(sha256, size)] this run already pushed there (a
    cold farm's claims), counted as uploaded."""
    result = PushResult(remote=remote.name)
    result.uploaded = [sha for sha, _ in done]
    result.bytes = sum(size for _, size in done)
    claimed = set(result.uploaded)
    wanted = [w for w in wanted if w[0] not in claimed]
    have = [w for w in wanted if store.has(w[0])]
    result.absent = [w[2] for w in wanted if not store.has(w[0])]
    remote.ping()  # NOTE: one clear error (down, no credentials) instead of one per blob
    if have:
        rejected = store.index.rejected(remote.spec.url)
        with ThreadPoolExecutor(_PARALLEL) as pool:
            list(pool.map(lambda w: _push_one(remote, store, w, result, progress, rejected), have))
    return result


def push_blobs(specs, store: Store, wanted, allow_http, progress, done=None) -> list[str]:
    """``sync --push``: push ``wanted`` to every push remote; one summary line per remote.
    ``done``: {remote name: [(sha256, size)]} pushed there already by this run's claims."""
    from ..basics.progress import NullProgress
    from . import open_remote

    lines = []
    for spec in [s for s in specs if s.push]:
        remote = open_remote(spec, allow_http)
        claimed = (done or {}).get(spec.name, [])
        try:
            r = push_to(remote, store, wanted, progress or NullProgress(), claimed)
        finally:
            remote.close()
        lines.append(push_summary(r))
    return lines


def stage_inputs(lock, store: Store, project_dir: Path, comfyui_root: Path | None) -> list[str]:
    """Copy into the store (verified) the input files the lock pins that it lacks and this
    machine has; returns their keys."""
    from ..machine.inputfiles import find_copies
    from ..store.hashing import Expected
    from ..workflows.tables import INPUT_FOLDER

    inputs = [m for m in lock.model if m.folder == INPUT_FOLDER and not store.has(m.sha256)]
    wanted = {m.sha256: m.size for m in inputs}
    found = find_copies(inputs, wanted, project_dir, comfyui_root, None) if wanted else {}
    staged = []
    for model in inputs:
        path = found.get(model.sha256)
        if path is None or store.has(model.sha256):
            continue
        expected = Expected(size=model.size, sha256=model.sha256, blake3=model.blake3)
        with store.digest_lock(model.sha256):
            store.adopt(Path(path), expected, copy=True)
        staged.append(model.key)
    return staged


def push(
    lock,
    specs: Sequence[RemoteSpec],
    allow_http,
    store: Store,
    remote_name: str | None,
    progress=None,
    *,
    project_dir: Path | None = None,
    comfyui_root: Path | None = None,
) -> list[PushResult]:
    """``comfylock push``: every blob the lock pins, to the chosen remotes (input files
    from ``project_dir`` or ``comfyui_root`` when the store lacks them)."""
    from ..basics.progress import NullProgress
    from . import open_remote

    targets = push_targets(specs, remote_name)
    if project_dir is not None:
        stage_inputs(lock, store, project_dir, comfyui_root)
    wanted = list({m.sha256: (m.sha256, m.size, m.key) for m in lock.model}.values())
    results = []
    for spec in targets:
        remote = open_remote(spec, allow_http)
        try:
            results.append(push_to(remote, store, wanted, progress or NullProgress()))
        finally:
            remote.close()
    failed = [r for r in results if r.failures]
    if failed:
        corrupt = failed[0].exit_code == IntegrityError.exit_code
        err = ComfylockError(
            f"push to {failed[0].remote} failed: {failed[0].failures[0]}",
            hint="run `comfylock sync` to fetch it again, then push; what was uploaded stays"
            if corrupt
            else "fix the cause and push again; what was uploaded stays",
        )
        err.exit_code = failed[0].exit_code
        raise err
    missing = sorted({k for r in results for k in r.absent})
    if missing:
        raise FindingError(
            f"{len(missing)} pinned blobs are not in the local store ({missing[0]}, …); "
            + "; ".join(push_summary(r) for r in results),
            hint="run `comfylock sync` on this machine first, then push again",
        )
    return results


def push_summary(r: PushResult) -> str:
    from ..basics.units import human_size

    text = f"{r.remote}: pushed {len(r.uploaded)} blobs ({human_size(r.bytes)})"
    text += f", {len(r.present)} already there"
    if r.failures:
        text += f", {len(r.failures)} failed ({r.failures[0]})"
    return text
