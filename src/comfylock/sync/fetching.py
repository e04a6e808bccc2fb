"""Fetching a plan's blobs into the store: the team remote first, the origins behind it.

Each ``Fetch`` is downloaded by a backend (aria2c or httpx) into ``<store>/tmp/``, verified,
and ingested (``os.replace`` into ``blobs/``) under its digest lock; several run at once on
worker threads. A remote that lacks a blob, is down or serves wrong bytes costs a fallback to
the origins, never a failed sync while an origin still works. Ctrl-C stops the downloads,
keeps partial files for resume, and waits until no worker is inside the store.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import (
    ComfylockError,
    DiskSpaceError,
    IntegrityError,
    Interrupted,
    NotFoundError,
    RemoteError,
)
from ..net.concurrency import run_each
from ..store.blobs import Store
from ..store.hashing import Expected
from .applytypes import ApplyContext, Failure, failure_of
from .download import discard_partial, partial_size
from .plan import Fetch, SyncPlan

__all__ = ["bytes_to_fetch", "check_disk_space", "fetch_all"]


def bytes_to_fetch(store: Store, sized: Iterable[tuple[str, int]]) -> int:
    """Bytes still to download for (sha256, size) pairs, counting what tmp/ holds."""
    need = 0
    for sha256, size in sized:
        tmp = store.tmp_path(sha256)
        have = (
            tmp.stat().st_size
            if tmp.exists() and not tmp.with_name(tmp.name + ".aria2").exists()
            else 0
        )
        need += max(0, size - have)
    return need


def check_disk_space(store: Store, fetches: Sequence[Fetch]) -> None:
    """Refuse to start downloads that cannot fit (counting bytes already in tmp/)."""
    need = bytes_to_fetch(store, ((f.sha256, f.size) for f in fetches))
    free = shutil.disk_usage(store.tmp_dir).free
    if need > free:
        from ..basics.units import human_size

        raise DiskSpaceError(
            f"downloads need {human_size(need)} but {store.tmp_dir} has {human_size(free)} "
            "free; nothing was downloaded",
            hint="free some space, or run sync with --store DIR on a bigger disk",
        )


class _StoreGate:
    """Counts fetch workers inside the store (ingest: hashing, SQLite, renames).

    On Ctrl-C the main thread closes the gate and waits for those inside to leave before it
    closes the store and the interpreter exits: a daemon worker still in SQLite or blake3
    while the index is closed or the interpreter finalises crashed with SIGSEGV. Workers
    left waiting on the network never enter again."""

    def __init__(self, cancel: threading.Event) -> None:
        self._cancel = cancel
        self._cond = threading.Condition()
        self._inside = 0

    def __enter__(self) -> None:
        with self._cond:
            if self._cancel.is_set():
                raise Interrupted("download interrupted")
            self._inside += 1

    def __exit__(self, *exc) -> None:
        with self._cond:
            self._inside -= 1
            self._cond.notify_all()

    def drain(self, timeout: float = 120.0) -> None:
        """After ``cancel`` is set: until no worker is inside (bounded)."""
        with self._cond:
            self._cond.wait_for(lambda: self._inside == 0, timeout)


def _fetch_one(
    f: Fetch,
    ctx: ApplyContext,
    downloader,
    cancel: threading.Event,
    served: dict,
    gate: _StoreGate,
    via: str | None,
    url: str | None = None,
    placer=None,
    resumed: int | None = None,
) -> None:
    """Download ``f`` into the store: from the remote named ``via`` first (with the origins
    behind it; ``url``: its URL if already made), else from the origins. ``placer``: the
    verified blob is placed off this thread (``store.durable``), the digest lock with it.
    ``resumed``: the bytes of a partial download there before this run handed anything to
    the downloader (a prefetched download has written more by the time this runs)."""
    from .download.urls import url_groups

    store, expected = ctx.store, Expected(size=f.size, sha256=f.sha256, blake3=f.blake3)
    groups = url_groups(f.sources, ctx.env, ctx.allow_http)
    with contextlib.ExitStack() as held:
        held.enter_context(store.digest_lock(f.sha256))
        if store.has(f.sha256):
            return  # another sync fetched it while we waited for the lock
        tmp = store.tmp_path(f.sha256)
        if resumed is None:
            resumed = partial_size(tmp)  # shown: not fetched by this run
        show = ctx.progress.task(f.keys[0], f.size, resumed)
        remote = ctx.remotes.get(via) if via else None

        def ingest(streamed) -> None:
            with gate:
                store.ingest(tmp, expected, streamed=streamed, placer=placer, held=held)

        if remote is None or not _from_remote(
            f, remote, ctx, downloader, show, served, gate, ingest, url
        ):
            if cancel.is_set():
                raise Interrupted("download interrupted")
            _from_origins(f, groups, tmp, expected, downloader, show, cancel, ingest)
            served[f.sha256] = "origin"
        ctx.progress.finished(f.keys[0], f.size)


def _from_remote(
    f: Fetch, remote, ctx: ApplyContext, downloader, show, served, gate, ingest, url=None
) -> bool:
    """Fetch from the remote (all of aria2's connections on it), verify; False: use origins.

    The origins stand right behind the remote in the same fetch: if the remote fails part
    way, the origins resume the bytes already there, and wrong bytes (the whole file is
    verified) are thrown away and fetched again from the origins only. They are not handed
    to aria2 beside the remote: aria2 spreads connections over every source, so each
    machine of a farm would pull from Civitai again, and our redirect check would cost an
    origin request per blob per machine (SPEC §7: the origins serve each blob once).
    No token travels with the remote's URL.
    """
    store, expected = ctx.store, Expected(size=f.size, sha256=f.sha256, blake3=f.blake3)
    tmp = store.tmp_path(f.sha256)
    try:
        url = url or remote.fetch_url(f.sha256)
        streamed = downloader.fetch([url], tmp, expected, f.size, {}, show)
        try:
            ingest(streamed)
        finally:
            if streamed is not None:
                streamed.close()
    except IntegrityError:
        served[f"!{f.sha256}"] = (
            f"remote {remote.name} served wrong bytes for {f.keys[0]}; fetched from the origins"
        )
        discard_partial(tmp)
        with gate, store.file_lock("store"):  # NOTE: push (sync --push too) replaces them
            store.index.record_reject(remote.spec.url, f.sha256)
        return False
    except Interrupted:
        raise
    except ComfylockError as exc:  # down, refused, a redirect to plain http, …
        if isinstance(exc, NotFoundError) and f.sha256 in ctx.unconfirmed:
            return False  # the early download was its probe: the remote lacks it
        served[f"!{f.sha256}"] = (
            f"remote {remote.name} failed for {f.keys[0]} ({exc.message}); "
            "fetching the rest from the origins"
        )
        return False
    served[f.sha256] = f"remote:{remote.name}"
    return True


def _no_source(f: Fetch) -> RemoteError:
    """Why nothing can be downloaded: an input file lives only in files (``FileSource``)
    that this machine lacks, and no team remote had it."""
    from ..lock.structs import FileSource

    files = [s for s in f.sources if isinstance(s, FileSource)]
    if not files or len(files) != len(f.sources):
        return RemoteError(f"{f.keys[0]}: no download source in the lock")
    where = ", ".join(
        f"{s.path} in the project" if s.root == "project" else f"{s.path} in a ComfyUI root"
        for s in files
    )
    return RemoteError(
        f"this machine does not have the input file ({where}) and no team remote has it",
        hint="run `comfylock push` on a machine that has it, or commit the file beside the "
        "workflow",
    )


def _from_origins(f: Fetch, groups, tmp, expected, downloader, show, cancel, ingest) -> None:
    stale_tmp = tmp.exists()
    while True:
        last: RemoteError | None = _no_source(f)
        streamed = None  # what a backend hashed while it downloaded, if anything
        for group in groups:
            try:
                streamed = downloader.fetch(
                    group.urls, tmp, expected, f.size, dict(group.headers), show
                )
                last = None
                break
            except RemoteError as exc:
                last = exc
        if last is not None:
            raise last
        try:
            ingest(streamed)
            return
        except IntegrityError:
            if not stale_tmp or cancel.is_set():
                raise
            stale_tmp = False  # bytes left by an earlier run were bad: download afresh
        finally:
            if streamed is not None:
                streamed.close()


def fetch_all(
    plan: SyncPlan,
    ctx: ApplyContext,
    failures: list[Failure],
    warnings: list[str],
    served: dict[str, str],
    *,
    also: Sequence[Fetch] = (),
    pushed: list[str] | None = None,
) -> list[str]:
    """Fetch ``plan.fetch`` and ``also`` (downloads decided while applying: a copy in the
    tree whose bytes proved other than the hash cache said). A plan with claims or blobs
    other machines hold is a cold farm's (``claims.fetch_claimed``); what it pushed goes in
    ``pushed``."""
    fetches = (*plan.fetch, *also)
    if not fetches:
        return []
    check_disk_space(ctx.store, fetches)
    if ctx.downloader is not None:  # started while the plan was made (``job.sync``)
        downloader, note, cancel = ctx.downloader, None, ctx.downloader.cancel
    else:
        cancel = threading.Event()
        factory = ctx.downloader_factory or _default_factory(ctx)
        downloader, note = factory(ctx.store.tmp_dir, ctx.jobs, cancel)
    if note:
        warnings.append(note)
    done: list[str] = []
    gate = _StoreGate(cancel)
    farm = any(f.claim or f.awaits for f in fetches)
    urls: dict[str, str] = {}  # sha256 -> the remote URL handed to the downloader
    partial: dict[str, int] = {}  # sha256 -> bytes already here before any download began
    if not farm and hasattr(downloader, "prefetch"):
        before = getattr(downloader, "sizes_before", {})  # downloads it began before the plan
        partial = {}
        for f in fetches:
            tmp = str(ctx.store.tmp_path(f.sha256))
            partial[f.sha256] = before[tmp] if tmp in before else partial_size(Path(tmp))
        downloader.prefetch(_known_downloads(fetches, ctx, urls))
    # NOTE: a farm pushes each blob the moment it is placed: it places them inline
    placer = None if farm else _placer(ctx.store)

    def one(f: Fetch, via: str | None) -> None:
        _fetch_one(
            f,
            ctx,
            downloader,
            cancel,
            served,
            gate,
            via,
            urls.get(f.sha256),
            placer,
            partial.get(f.sha256),
        )

    try:
        if farm:
            from .claims import fetch_claimed

            outcomes = fetch_claimed(
                fetches,
                ctx,
                one,
                cancel,
                pushed=pushed if pushed is not None else [],
                warnings=warnings,
            )
        else:
            outcomes = run_each(
                lambda f: one(f, f.remote), fetches, ctx.jobs, cancel, name="comfylock-fetch"
            )
        unplaced = _close_placer(placer)
        for f, exc in outcomes:
            exc = exc or unplaced.get(f.sha256)
            if exc is None:
                done.append(", ".join(f.keys))
            elif isinstance(exc, (ComfylockError, OSError)):
                failures.append(failure_of(", ".join(f.keys), exc))
            else:
                raise exc
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; partial downloads are kept in the store's tmp/ and the next sync resumes them"
        ) from None
    finally:
        cancel.set()  # NOTE: harmless when all are done; stops stragglers on any exception
        gate.drain()  # no worker may be inside the store when it is closed
        _close_placer(placer)  # the blobs verified so far are placed, even after Ctrl-C
        downloader.close()
    return done


def _placer(store: Store):
    from ..store.durable import Placer

    store.ensure()
    return Placer(store)


def _close_placer(placer) -> dict[str, BaseException]:
    """Finish the batch (every blob placed, directories and index synced once); the
    placements that failed, by sha256. Idempotent."""
    if placer is None:
        return {}
    failed = placer.failures()
    placer.close()
    return failed


def _known_downloads(fetches: Sequence[Fetch], ctx: ApplyContext, urls: dict[str, str]):
    """(urls, tmp path, size) of each download whose sources need no probe: a remote's
    blob (its presigned URL, kept in ``urls`` for the fetch to use the same one), or origins
    without a token. In plan order: the order the workers take them in."""
    from .download.urls import url_groups

    out = []
    for f in fetches:
        remote = ctx.remotes.get(f.remote) if f.remote else None
        try:
            if remote is not None:
                urls[f.sha256] = remote.fetch_url(f.sha256)
                found = [urls[f.sha256]]
            else:
                groups = url_groups(f.sources, ctx.env, ctx.allow_http)
                found = list(groups[0].urls) if groups and not groups[0].headers else []
        except ComfylockError:
            continue  # the fetch itself meets it and says what is wrong
        if found:
            out.append((found, ctx.store.tmp_path(f.sha256), f.size))
    return out


def _default_factory(ctx: ApplyContext):
    from .download import make_downloader

    def factory(tmp_dir, jobs, cancel):
        return make_downloader(
            tmp_dir=tmp_dir,
            jobs=jobs,
            use_aria2=ctx.use_aria2,
            cancel=cancel,
            allow_http=ctx.allow_http,
        )

    return factory
