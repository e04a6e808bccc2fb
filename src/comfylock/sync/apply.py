"""Run a ``SyncPlan``: the only code that changes the models tree and ``custom_nodes/``.

Fixed order: conflicts are checked before anything is touched (exit 5, nothing changed);
then fetch → ingest (verified) → adopt → displace (``--force``) → prune → link → node packs.
Each item that fails is recorded and the items that depend on it are skipped; the rest go on.
Every write is checked right before it happens: its parent directory, symlinks resolved, must
be inside the models tree (``roots``) or ``custom_nodes/`` (``nodes_root``), whatever a
directory symlink made of the path since it was observed.
Ctrl-C stops the downloads (partial files stay in ``tmp/`` for resume), stops aria2c, and
never leaves a half-placed file: every placement is an ``os.replace``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import msgspec

from ..errors import (
    ComfylockError,
    ConflictError,
    DiskSpaceError,
    IntegrityError,
    Interrupted,
    RemoteError,
)
from ..pathsafe import check_parent_within, real_roots
from .linking import Linker
from .plan import Fetch, SyncPlan
from .store import LinkRow, Store
from .workspace import Expected

__all__ = ["ApplyContext", "ApplyReport", "Failure", "NullProgress", "check_disk_space", "run"]


class Failure(msgspec.Struct, frozen=True):
    item: str
    error: str
    exit_code: int
    hint: str = ""


class ApplyReport(msgspec.Struct, frozen=True, kw_only=True):
    fetched: tuple[str, ...] = ()
    adopted: tuple[str, ...] = ()
    displaced: tuple[str, ...] = ()
    pruned: tuple[str, ...] = ()
    linked: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()
    warnings: tuple[str, ...] = ()
    link_modes: dict[str, int] = {}
    from_remote: tuple[str, ...] = ()  # digests a team remote served (verified)
    from_origin: tuple[str, ...] = ()  # digests the origins served (what sync --push uploads)


class NullProgress:
    """Progress sink that shows nothing (not a TTY, --quiet, --json, tests)."""

    def task(self, label: str, total: int) -> Callable[[int], None]:
        return lambda done: None

    def finished(self, label: str, size: int, verb: str = "fetched") -> None:
        pass

    def close(self) -> None:
        pass


class ApplyContext(msgspec.Struct, kw_only=True):
    """What ``run`` needs besides the plan; built by the sync command from Settings."""

    store: Store
    lock_path: str
    models_root: Path | None = None
    roots: tuple[str, ...] = ()  # observe.write_roots(); empty means just models_root
    nodes_root: Path | None = None  # <ComfyUI root>/custom_nodes
    link_mode: str = "auto"
    jobs: int = 8
    use_aria2: bool = True
    allow_http: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    progress: object = msgspec.field(default_factory=NullProgress)
    downloader_factory: Callable | None = None  # (tmp_dir, jobs, cancel) -> (Downloader, note)
    remotes: Mapping[str, object] = {}  # name -> remotes.Remote, for Fetch.remote


def _model_roots(ctx: ApplyContext) -> tuple[str, ...]:
    return ctx.roots or real_roots([ctx.models_root] if ctx.models_root is not None else [])


def check_disk_space(store: Store, fetches: Sequence[Fetch]) -> None:
    """Refuse to start downloads that cannot fit (counting bytes already in tmp/)."""
    need = 0
    for f in fetches:
        tmp = store.tmp_path(f.sha256)
        have = (
            tmp.stat().st_size
            if tmp.exists() and not tmp.with_name(tmp.name + ".aria2").exists()
            else 0
        )
        need += max(0, f.size - have)
    free = shutil.disk_usage(store.tmp_dir).free
    if need > free:
        from .planview import human_size

        raise DiskSpaceError(
            f"downloads need {human_size(need)} but {store.tmp_dir} has {human_size(free)} "
            "free; nothing was downloaded",
            hint="free some space, or run sync with --store DIR on a bigger disk",
        )


def _failure(item: str, exc: BaseException) -> Failure:
    if isinstance(exc, ComfylockError):
        return Failure(item, exc.message or type(exc).__name__, exc.exit_code, exc.hint or "")
    if isinstance(exc, OSError):  # a local disk problem: say what it is and what to do
        from ..errors import describe_os_error

        return Failure(item, describe_os_error(exc), 6)
    return Failure(item, str(exc) or type(exc).__name__, 6)


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
) -> None:
    from .download.urls import url_groups

    store, expected = ctx.store, Expected(size=f.size, sha256=f.sha256, blake3=f.blake3)
    groups = url_groups(f.sources, ctx.env, ctx.allow_http)
    with store.digest_lock(f.sha256):
        if store.has(f.sha256):
            return  # another sync fetched it while we waited for the lock
        tmp = store.tmp_path(f.sha256)
        show = ctx.progress.task(f.keys[0], f.size)
        remote = ctx.remotes.get(f.remote) if f.remote else None
        if remote is None or not _from_remote(
            f, remote, groups, ctx, downloader, show, served, gate
        ):
            if cancel.is_set():
                raise Interrupted("download interrupted")
            _from_origins(f, groups, store, tmp, expected, downloader, show, cancel, gate)
            served[f.sha256] = "origin"
        ctx.progress.finished(f.keys[0], f.size)


def _from_remote(
    f: Fetch, remote, groups, ctx: ApplyContext, downloader, show, served, gate
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
        url = remote.fetch_url(f.sha256)
        streamed = downloader.fetch([url], tmp, expected, f.size, {}, show)
        try:
            with gate:
                store.ingest(tmp, expected, streamed=streamed)
        finally:
            if streamed is not None:
                streamed.close()
    except IntegrityError:
        served[f"!{f.sha256}"] = (
            f"remote {remote.name} served wrong bytes for {f.keys[0]}; fetched from the origins"
        )
        _discard(tmp)
        return False
    except Interrupted:
        raise
    except ComfylockError as exc:  # down, refused, a redirect to plain http, …
        served[f"!{f.sha256}"] = (
            f"remote {remote.name} failed for {f.keys[0]} ({exc.message}); "
            "fetching the rest from the origins"
        )
        return False
    served[f.sha256] = f"remote:{remote.name}"
    return True


def _discard(tmp: Path) -> None:
    for path in (tmp, tmp.with_name(tmp.name + ".aria2")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _from_origins(f: Fetch, groups, store, tmp, expected, downloader, show, cancel, gate) -> None:
    stale_tmp = tmp.exists()
    while True:
        last: RemoteError | None = RemoteError(f"{f.keys[0]}: no download source in the lock")
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
            with gate:
                store.ingest(tmp, expected, streamed=streamed)
            return
        except IntegrityError:
            if not stale_tmp or cancel.is_set():
                raise
            stale_tmp = False  # bytes left by an earlier run were bad: download afresh
        finally:
            if streamed is not None:
                streamed.close()


def _fetch_all(
    plan: SyncPlan,
    ctx: ApplyContext,
    failures: list[Failure],
    warnings: list[str],
    served: dict[str, str],
) -> list[str]:
    if not plan.fetch:
        return []
    check_disk_space(ctx.store, plan.fetch)
    cancel = threading.Event()
    factory = ctx.downloader_factory or _default_factory(ctx)
    downloader, note = factory(ctx.store.tmp_dir, ctx.jobs, cancel)
    if note:
        warnings.append(note)
    done: list[str] = []
    gate = _StoreGate(cancel)
    try:
        for f, exc in _in_threads(
            plan.fetch,
            lambda f: _fetch_one(f, ctx, downloader, cancel, served, gate),
            ctx.jobs,
            cancel,
        ):
            if exc is None:
                done.append(", ".join(f.keys))
            elif isinstance(exc, (ComfylockError, OSError)):
                failures.append(_failure(", ".join(f.keys), exc))
            else:
                raise exc
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; partial downloads are kept in the store's tmp/ and the next sync resumes them"
        ) from None
    finally:
        cancel.set()  # NOTE: harmless when all are done; stops stragglers on any exception
        gate.drain()  # no worker may be inside the store when it is closed
        downloader.close()
    return done


def _in_threads(items: Sequence, fn: Callable, jobs: int, cancel: threading.Event) -> list[tuple]:
    """Run ``fn`` over ``items`` in ``jobs`` daemon threads; [(item, exception or None)].

    Daemon threads, not a ThreadPoolExecutor: on Ctrl-C a worker may sit in a socket read
    for a minute, and the executor would make the interpreter wait for it at exit. Here
    the main thread stops waiting at once; the workers see ``cancel`` and no blob can be
    half-placed (placement is one os.replace after verification).
    """
    pending = list(enumerate(items))
    results: dict[int, BaseException | None] = {}
    guard = threading.Condition()

    def worker() -> None:
        while not cancel.is_set():
            with guard:
                if not pending:
                    return
                index, item = pending.pop(0)
            try:
                fn(item)
                outcome = None
            except BaseException as exc:  # noqa: BLE001 — handed to the main thread
                outcome = exc
            with guard:
                results[index] = outcome
                guard.notify_all()

    for _ in range(min(max(1, jobs), len(items))):
        threading.Thread(target=worker, name="comfylock-fetch", daemon=True).start()
    try:
        with guard:
            while len(results) < len(items):
                guard.wait(0.2)
    except KeyboardInterrupt:
        cancel.set()
        raise
    return [(item, results[i]) for i, item in enumerate(items)]


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


def _adopt_all(plan: SyncPlan, ctx: ApplyContext, failures: list[Failure]) -> list[str]:
    done, roots = [], _model_roots(ctx)
    for a in plan.adopt:
        try:
            if not a.copy:  # a copy elsewhere is only read; an adopted target is replaced
                check_parent_within(a.path, roots)
            expected = Expected(size=a.size, sha256=a.sha256, blake3=a.blake3)
            ctx.store.adopt(Path(a.path), expected, copy=a.copy)
            done.append(a.path)
        except (ComfylockError, OSError) as exc:
            failures.append(_failure(a.key, exc))
    return done


def _displace_all(
    plan: SyncPlan, ctx: ApplyContext, failures: list[Failure]
) -> tuple[list[str], set[str]]:
    done, failed, roots = [], set(), _model_roots(ctx)
    run: Path | None = None
    for d in plan.displace:
        try:
            check_parent_within(d.target, roots)
            run = run or ctx.store.displace_dir()
            done.append(str(ctx.store.displace(Path(d.target), run)))
        except (ComfylockError, OSError) as exc:
            failed.add(d.target)
            failures.append(_failure(d.key, exc))
    return done, failed


def _is_ours(target: str, store: Store, row: LinkRow | None) -> bool:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return True  # nothing there: free to place
    if os.path.islink(target):
        dest = os.path.normpath(os.path.join(os.path.dirname(target), os.readlink(target)))
        return store.sha_of_blob_path(dest) is not None
    return row is not None and (row.size, row.mtime_ns, row.ino) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
    )


def _prune_all(
    plan: SyncPlan, ctx: ApplyContext, rows: dict[str, LinkRow], failures: list[Failure]
) -> list[str]:
    done, roots = [], _model_roots(ctx)
    for p in plan.prune:
        if not _is_ours(p.target, ctx.store, rows.get(p.target)):
            continue  # changed by the user since it was observed: not ours to remove
        try:
            check_parent_within(p.target, roots)
            os.unlink(p.target)
            ctx.store.index.forget_link(p.target)
            done.append(p.target)
        except FileNotFoundError:
            ctx.store.index.forget_link(p.target)
        except (ComfylockError, OSError) as exc:
            failures.append(_failure(p.target, exc))
    return done


def _link_all(
    plan: SyncPlan,
    ctx: ApplyContext,
    rows: dict[str, LinkRow],
    skip: set[str],
    failures: list[Failure],
    linker: Linker,
) -> list[str]:
    done, records = [], []
    fresh = {e.target for e in plan.link if e.target not in {d.target for d in plan.displace}}
    for e in (*plan.link, *plan.relink):
        if e.target in skip:
            continue
        if not ctx.store.has(e.sha256):
            if not any(f.item.startswith(e.key) or e.key in f.item for f in failures):
                failures.append(Failure(e.key, "blob not in the store", 4))
            continue
        if e.target in fresh and not _is_ours(e.target, ctx.store, rows.get(e.target)):
            failures.append(Failure(e.key, f"{e.target} appeared while syncing; left alone", 5))
            continue
        try:
            mode = linker.link(ctx.store.blob_path(e.sha256), Path(e.target))
        except (ComfylockError, OSError) as exc:
            failures.append(_failure(e.key, exc))
            continue
        st = os.lstat(e.target)
        sig = (None, None, None) if mode == "symlink" else (st.st_size, st.st_mtime_ns, st.st_ino)
        records.append(LinkRow(e.target, e.sha256, ctx.lock_path, mode, *sig))
        done.append(e.target)
    with ctx.store.file_lock("store"):
        for row in records:
            ctx.store.index.record_link(row)
    return done


def _nodes_all(plan: SyncPlan, ctx: ApplyContext, failures: list[Failure]) -> list[str]:
    from .nodepacks import checkout_pack, clone_pack, repo_url

    done = []
    project = Path(ctx.lock_path).parent
    roots = real_roots([ctx.nodes_root]) if ctx.nodes_root is not None else ()
    for n in plan.node_clone:
        try:
            check_parent_within(n.path, roots, what="custom_nodes/")
            clone_pack(repo_url(n.repo, project, ctx.allow_http), n.commit, Path(n.path))
            done.append(n.id)
        except (ComfylockError, OSError) as exc:
            failures.append(_failure(f"node {n.id}", exc))
    for n in plan.node_checkout:
        try:
            check_parent_within(n.path, roots, what="custom_nodes/")
            checkout_pack(n.commit, Path(n.path), repo_url(n.repo, project, ctx.allow_http))
            done.append(n.id)
        except (ComfylockError, OSError) as exc:
            failures.append(_failure(f"node {n.id}", exc))
    return done


def _preflight(plan: SyncPlan) -> None:
    """Tools the plan needs, checked before the first byte is downloaded (a missing git used
    to surface only after every download had finished)."""
    if (plan.node_clone or plan.node_checkout) and shutil.which("git") is None:
        from ..errors import UsageError

        n = len(plan.node_clone) + len(plan.node_checkout)
        raise UsageError(
            f"git is not installed, and {n} node pack{'s' if n != 1 else ''} need it; "
            "nothing was changed",
            hint="install git, or run `comfylock sync --no-nodes` to install only the models",
        )


def run(plan: SyncPlan, ctx: ApplyContext) -> ApplyReport:
    """Apply ``plan``. Raises ConflictError (nothing changed) if it has conflicts."""
    if plan.conflicts:
        first = plan.conflicts[0]
        more = f" (and {len(plan.conflicts) - 1} more)" if len(plan.conflicts) > 1 else ""
        raise ConflictError(
            f"{first.target}: {first.reason}{more}; nothing was changed",
            hint="move it away, or run `comfylock sync --force` to move it to the store's "
            "displaced/",
        )
    _preflight(plan)
    from .download.urls import url_groups

    for f in plan.fetch:  # NOTE: refuse unsafe URLs (plain http, odd schemes) before any change
        url_groups(f.sources, ctx.env, ctx.allow_http)
    store = ctx.store.ensure()
    failures: list[Failure] = []
    warnings: list[str] = []
    with store.file_lock("gc", shared=True):
        with store.file_lock("store"):
            store.index.register_lock(ctx.lock_path)
        served: dict[str, str] = {}
        fetched = _fetch_all(plan, ctx, failures, warnings, served)
        warnings.extend(v for k, v in sorted(served.items()) if k.startswith("!"))
        adopted = _adopt_all(plan, ctx, failures)
        displaced, skip = _displace_all(plan, ctx, failures)
        rows = {r.target: r for r in store.index.links()}
        pruned = _prune_all(plan, ctx, rows, failures)
        linker = Linker(ctx.link_mode, roots=_model_roots(ctx))
        linked = _link_all(plan, ctx, rows, skip, failures, linker)
        nodes = _nodes_all(plan, ctx, failures)
    return ApplyReport(
        fetched=tuple(fetched),
        adopted=tuple(adopted),
        displaced=tuple(displaced),
        pruned=tuple(pruned),
        linked=tuple(linked),
        nodes=tuple(nodes),
        failures=tuple(failures),
        warnings=tuple(warnings + linker.warnings),
        link_modes=dict(linker.used),
        from_remote=tuple(sorted(k for k, v in served.items() if v.startswith("remote:"))),
        from_origin=tuple(sorted(k for k, v in served.items() if v == "origin")),
    )
