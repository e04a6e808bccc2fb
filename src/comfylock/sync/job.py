"""The sync stage's job (the same role as ``resolve/job.py`` for resolve): ``sync`` and
``status`` end to end, load → observe → plan → (apply), one call per command.

This is the glue the thin commands call: it turns the Project into the objects the pure and
the effectful parts need. The fast path (nothing to do) reads the lock's msgpack copy
(``lock.fastcopy``), stats the targets and never imports httpx, aria2p, tomllib or rich
(SPEC §7).
"""

from __future__ import annotations

import os

import msgspec

from ..errors import (
    ComfylockError,
    ConflictError,
    FindingError,
    IntegrityError,
    RemoteError,
    UsageError,
)
from ..lock.structs import Lock
from ..machine.hashcache import LazyHashCache
from ..project.loading import Project
from ..store.blobs import Store
from ..workflows.tables import INPUT_FOLDER
from .plan import SyncPlan, make_plan

__all__ = [
    "Prepared",
    "SyncOptions",
    "SyncOutcome",
    "prepare",
    "sync",
]


class SyncOptions(msgspec.Struct, frozen=True, kw_only=True):
    dry_run: bool = False
    locked: bool = False
    link: str = "auto"
    prune: bool = False
    force: bool = False
    jobs: int = 8
    use_aria2: bool = True
    nodes: bool = True
    push: bool = False  # push what this run fetched from origins to the push remotes (§8)
    # the environment (SPEC §9): the ComfyUI core and ComfyUI's Python packages
    core: bool = True
    python: bool = True
    python_path: str | None = None  # --python PATH (else COMFYLOCK_PYTHON, the root's venv)
    python_target: str | None = None
    exact: bool = False  # also remove packages the target does not name
    torch: bool = False  # let the torch stack change too
    install_comfyui: bool = False  # clone ComfyUI and make its .venv in an empty root
    command: str = "sync"  # which command runs (its hints name it: `status` or `sync`)


class SyncOutcome(msgspec.Struct, kw_only=True):
    plan: SyncPlan
    models_root: str | None = None
    report: object = None  # apply.ApplyReport after a real run
    pushed: list[str] = msgspec.field(default_factory=list)  # "NAME: n blobs" (sync --push)
    warnings: list[str] = msgspec.field(default_factory=list)
    unresolved: tuple[str, ...] = ()  # "folder/name" of the lock's [[unresolved]] entries
    unresolved_reasons: tuple[str, ...] = ()  # and why each is unpinned
    seconds: float = 0.0  # how long apply took
    environment: object = None  # environment.install.EnvReport after a real run
    install_scripts: tuple[str, ...] = ()  # packs this plan places whose scripts never run


class Prepared(msgspec.Struct, kw_only=True):
    """What ``prepare`` read and decided: the plan, and the remotes it was made with."""

    lock: Lock
    store: Store
    plan: SyncPlan
    allow_http: tuple[str, ...] = ()
    remotes: list = msgspec.field(default_factory=list)  # opened Remote clients (§8)
    notes: list[str] = msgspec.field(default_factory=list)  # remote trouble, for the user
    # blobs taken to be on a remote because an early download asks it (not HEAD-ed)
    unconfirmed: frozenset[str] = frozenset()


def prepare(
    project: Project,
    options: SyncOptions,
    *,
    elsewhere: bool = False,
    opened=None,
    asked: dict | None = None,
) -> Prepared:
    """Read the lock, observe this machine, and plan. Reads only.

    With ``elsewhere`` (sync, status) and something to fetch, also look where the bytes may
    already be: a file elsewhere in the tree the hash cache knows, then the team remotes.
    ``asked``: sha256 -> the remote an early download of it asks (``early``): not HEAD-ed.
    """
    from .observe import observe, store_view

    settings = project.settings
    lock = project.lock
    if settings.models_root() is None:
        from ..settings import root_hint

        raise UsageError(
            "no ComfyUI root or models dir",
            hint=root_hint(options.command, settings.project_dir),
        )
    allow_http = project.allow_http
    store = Store(settings.store_dir)
    cache = LazyHashCache(settings.cache_dir)
    try:
        view = store_view(lock, store)
        workspace = observe(
            lock,
            project.model_paths,
            store,
            lock_path=str(settings.lock_path),
            hash_cache=cache,
            comfyui_root=settings.comfyui_root,
            view=view,
        )
        if options.nodes and lock.node and settings.comfyui_root is not None:
            from .nodepacks import observe_nodes

            nodes = observe_nodes(lock, settings.comfyui_root, project.dir, allow_http)
            workspace = msgspec.structs.replace(workspace, nodes=nodes)
        notes: list[str] = []
        if options.prune and workspace.extra_links:
            workspace = _keep_shared_links(project, store, workspace, notes)
        plan = make_plan(lock, workspace, view, prune=options.prune, force=options.force)
        prepared = Prepared(lock=lock, store=store, plan=plan, allow_http=allow_http)
        prepared.notes.extend(notes)
        if elsewhere and plan.fetch:
            view = _look_elsewhere(
                project,
                plan,
                cache,
                prepared,
                push=options.push,
                opened=opened or {},
                asked=asked or {},
            )
            prepared.plan = make_plan(
                lock, workspace, view, prune=options.prune, force=options.force
            )
    finally:
        cache.close()
    env = _environment_plan(project, lock, options)
    if env is not None:
        prepared.plan = msgspec.structs.replace(prepared.plan, environment=env)
    return prepared


def _environment_plan(project: Project, lock: Lock, options: SyncOptions):
    """The core and Python part of the plan (SPEC §9), or None when the lock pins neither
    or both are skipped."""
    root = project.settings.comfyui_root
    if root is None or (lock.comfyui is None and lock.python is None):
        return None
    from ..environment.steps import make_env_plan
    from ..environment.survey import observe_core, observe_python

    core = py = None
    if options.core and lock.comfyui is not None:
        core = observe_core(root, lock.comfyui.commit)
    if options.python and lock.python is not None:
        py = observe_python(
            lock,
            project.dir,
            root,
            given=options.python_path,
            target_name=options.python_target,
            install=options.install_comfyui,
        )
    if core is None and py is None:
        return None
    version = lock.python.version if lock.python is not None else None
    return make_env_plan(lock.comfyui, version, core, py, exact=options.exact, torch=options.torch)


def _keep_shared_links(project: Project, store: Store, workspace, notes: list[str]):
    """``--prune`` removes a link of this lock's only when no other lock registered in the
    store pins that path on this machine (two projects sharing one ComfyUI root); if one
    cannot be read, nothing is pruned (it may pin any of them)."""
    from .observe import pinned_by_other_locks

    settings = project.settings
    pins, unreadable = pinned_by_other_locks(
        str(settings.lock_path), store, project.model_paths, settings.comfyui_root
    )
    extra = workspace.extra_links
    if unreadable:
        notes.append(
            f"nothing pruned: {unreadable[0]} synced into this store and cannot be read, "
            "so it may pin any of them (fix or delete it, then prune again)"
        )
        kept = ()
    else:
        kept = tuple(p for p in extra if p.target not in pins)
        shared = [p for p in extra if p.target in pins]
        if shared:
            first = shared[0]
            more = f" (and {len(shared) - 1} more)" if len(shared) > 1 else ""
            notes.append(f"kept {first.target}{more}: {pins[first.target]} still pins it")
    return msgspec.structs.replace(workspace, extra_links=kept)


def _look_elsewhere(
    project: Project,
    plan: SyncPlan,
    cache,
    prepared: Prepared,
    *,
    push: bool,
    opened: dict,
    asked: dict,
):
    """The store view plus local copies and the remotes' answers (HEAD) for ``plan.fetch``;
    with ``push``, the remote this run claims the rest on (a cold farm: the first push
    remote that keeps leases). A blob an early download already asks a remote for is not
    asked again (``probe``'s ``asked``)."""
    from .observe import local_copies, store_view

    view = store_view(prepared.lock, prepared.store)
    wanted = {f.sha256: f.size for f in plan.fetch}
    copies = local_copies(wanted, project.model_paths, cache)
    copies.update(_file_copies(project, prepared.lock, wanted, copies, cache))
    view = msgspec.structs.replace(view, copies=copies)
    rest = [sha for sha in wanted if sha not in copies]
    specs = project.remote_specs
    if not rest or not specs:
        return view
    from ..remotes import open_remote
    from ..remotes.probe import probe

    # NOTE: a remote opened before the plan (``early``) is the one used: same presigned URLs
    prepared.remotes = [
        opened.pop(spec.name, None) or open_remote(spec, prepared.allow_http) for spec in specs
    ]
    answer = probe(prepared.remotes, rest, wanted, asked=asked)
    prepared.notes.extend(answer.notes)
    prepared.unconfirmed = answer.unconfirmed
    claims = None
    if push:
        up = (r for r in prepared.remotes if r.name not in answer.down)
        claims = next((r.name for r in up if r.spec.push and r.supports_leases), None)
    return msgspec.structs.replace(view, remotes=answer.found, leased=answer.leased, claims=claims)


def _file_copies(project: Project, lock: Lock, wanted: dict, copies: dict, cache) -> dict:
    """Input files the lock's file sources name here (the file beside the workflow in this
    checkout of the project, or the ComfyUI root's input/), when they hold the locked bytes."""
    rest = {sha: size for sha, size in wanted.items() if sha not in copies}
    if not rest:
        return {}
    from ..machine.inputfiles import find_copies

    root = project.settings.comfyui_root
    return find_copies(lock.model, rest, project.dir, root, cache)


def _register_if_new(store: Store, lock_path: str) -> None:
    """A lock already in sync (a copied project) still registers, so gc keeps its blobs."""
    if store.index_path.exists() and lock_path not in store.index.locks():
        with store.file_lock("store"):
            store.index.register_lock(lock_path)
    store.close()


_BY_CODE = {4: IntegrityError, 3: RemoteError, 5: ConflictError, 2: UsageError}


def _raise_failures(failures) -> None:
    code = next(
        (c for c in (4, 3, 5, 6, 2, 130) if any(f.exit_code == c for f in failures)),
        failures[0].exit_code,
    )
    first = next(f for f in failures if f.exit_code == code)
    more = f" (and {len(failures) - 1} more failures)" if len(failures) > 1 else ""
    cls = _BY_CODE.get(code, ComfylockError)
    # A local disk failure leads with what happened ("disk full", "read-only filesystem"):
    # that, not the model's name, is what the user has to act on.
    text = f"{first.error} [{first.item}]" if code == 6 else f"{first.item}: {first.error}"
    hint = first.hint or "fix the cause and run sync again"
    err = cls(f"{text}{more}", hint=f"{hint}; finished items are kept")
    err.exit_code = code
    raise err


def sync(
    project: Project, options: SyncOptions, *, progress=None, on_plan=None, plan_only=False
) -> SyncOutcome:
    """Make the models tree and custom_nodes/ match the lock (or only plan, with dry_run).

    ``on_plan(outcome)`` is called once the plan is known and before anything changes, so
    the command can show the plan before the work rather than after it. ``plan_only``: a
    plan with work is returned as it is, before anything changes (the console script's
    planned path answers only a sync with nothing to do; ``__main__``)."""
    import contextlib

    held = contextlib.nullcontext()
    if not options.dry_run:
        # NOTE: from before the first observation to the last placement: a gc between the
        # plan and its apply deleted a blob the plan links (the lock registers in apply).
        held = Store(project.settings.store_dir).file_lock("gc", shared=True)
    early = None
    opened: dict = {}  # remotes opened before the plan (``early``), by name
    asked: dict = {}  # sha256 -> the remote an early download asks
    # NOTE: one ``finally`` from the early start on: a Ctrl-C (or a failure) while waiting
    # for the store's lock must stop the aria2c already started, not leave it running
    try:
        if not options.dry_run and _store_lacks_a_blob(project):
            # NOTE: this sync downloads: what it will need starts now, overlapping the plan
            # (from the planned path's pass when there was one: ~0.1 s sooner than the CLI's)
            early, opened, asked = _HANDED.pop(_handoff_key(project, options), (None, {}, {}))
            if early is None:
                from ..remotes import warm

                with contextlib.suppress(ComfylockError):  # a bad remote: reported where used
                    warm(project.remote_specs)
                early = _aria2_early(project, options, opened, asked)
        with held:
            # NOTE: a plan only for a no-op never asks the network (a plan with work is
            # made again, remotes and all, by the full command)
            prepared = prepare(
                project, options, elsewhere=not plan_only, opened=opened, asked=asked
            )
            try:
                outcome = _sync(project, options, prepared, progress, on_plan, plan_only, early)
                if plan_only and early is not None and not outcome.plan.is_empty:
                    # the full command makes this plan again: its downloads are under way
                    if not _HANDED:
                        import atexit

                        atexit.register(drop_handed)
                    _HANDED[_handoff_key(project, options)] = (early, opened, asked)
                    early, opened = None, {}
                return outcome
            finally:
                for remote in prepared.remotes:
                    remote.close()
    finally:
        if early is not None:
            early.close()  # unused (nothing to fetch after all), or done with
        for remote in opened.values():  # opened early, never asked by the plan
            remote.close()


# The planned path's early downloads, for the full command of the same process (``__main__``
# plans a sync without click first; when the plan has work, the CLI plans it again).
_HANDED: dict[tuple, tuple] = {}


def _handoff_key(project: Project, options: SyncOptions) -> tuple:
    settings = project.settings
    return (str(settings.lock_path), str(settings.store_dir), options.use_aria2, options.jobs)


def drop_handed() -> None:
    """Close what the planned path started and the full command never took (an error
    before its sync): aria2c stops with this process anyway; this removes its files now."""
    while _HANDED:
        early, opened, _ = _HANDED.popitem()[1]
        early.close()
        for remote in opened.values():
            remote.close()


def _store_lacks_a_blob(project: Project) -> bool:
    """Whether the store lacks a blob the lock pins (one stat per model): then this sync
    will most likely download."""
    blobs = str(Store(project.settings.store_dir).blobs_dir)
    isfile = os.path.isfile
    return not all(isfile(os.path.join(blobs, m.sha256[:2], m.sha256)) for m in project.lock.model)


def _aria2_early(project: Project, options: SyncOptions, opened: dict, asked: dict):
    """aria2c, started now so that its start-up overlaps the plan, when this sync will
    download (the store lacks a blob the lock pins) and aria2 is wanted and installed, with
    the downloads already known then (``early``) under way (the remote each asks goes in
    ``asked``). None otherwise (the downloader is then made when the first fetch needs it)."""
    import shutil

    exe = shutil.which("aria2c") if options.use_aria2 else None
    if exe is None:
        return None
    store = Store(project.settings.store_dir)
    from .download.aria2_backend import Aria2Downloader
    from .early import likely_downloads

    downloader = Aria2Downloader(
        tmp_dir=store.tmp_dir, jobs=options.jobs, executable=exe, allow_http=project.allow_http
    )
    try:
        first = likely_downloads(project, push=options.push, opened=opened, via=asked)
    except ComfylockError:
        first = []  # a bad remote or yaml: the plan meets it and says what is wrong
    downloader.start_soon(first)
    return downloader


def _sync(
    project: Project,
    options: SyncOptions,
    prepared: Prepared,
    progress,
    on_plan,
    plan_only,
    early=None,
):
    settings = project.settings
    lock, store, plan = prepared.lock, prepared.store, prepared.plan
    allow_http = prepared.allow_http
    outcome = SyncOutcome(
        plan=plan,
        models_root=str(settings.models_root()),
        unresolved=tuple(f"{u.folder}/{u.name}" for u in lock.unresolved),
        unresolved_reasons=tuple(u.reason for u in lock.unresolved),
    )
    outcome.warnings.extend(prepared.notes)
    state, message = project.staleness()
    if state == "incomplete":  # the unpinned entries are reported with their fix
        state = "fresh"
    if state != "fresh" and options.locked:
        raise FindingError(
            f"the lock is stale: {message}" if state == "stale" else message,
            hint="run `comfylock resolve` and commit comfy.lock"
            if state == "stale"
            else "run sync without --locked",
        )
    if state != "fresh":
        outcome.warnings.append(message if state == "unknown" else f"the lock is stale: {message}")
    if options.nodes and lock.node and settings.comfyui_root is None:
        outcome.warnings.append(
            "node packs skipped: no ComfyUI root (pass --comfyui-root DIR, the folder with main.py)"
        )
    if settings.comfyui_root is None and any(
        not s.dir.startswith("models/") for s in lock.snapshot
    ):
        outcome.warnings.append("repo snapshots outside models/ skipped: no ComfyUI root")
    if settings.comfyui_root is None and any(m.folder == INPUT_FOLDER for m in lock.model):
        outcome.warnings.append("input files skipped: no ComfyUI root (they go to its input/)")
    env = plan.environment
    placed = {n.id for n in (*plan.node_clone, *plan.node_checkout)}
    outcome.install_scripts = tuple(n.id for n in lock.node if n.install_script and n.id in placed)
    if options.dry_run:
        return outcome
    if plan.is_empty:
        _register_if_new(store, str(settings.lock_path))
        return outcome
    if plan_only:
        return outcome
    if on_plan is not None:
        on_plan(outcome)
    import time

    from ..basics.progress import NullProgress
    from .apply import ApplyContext, refuse_conflicts, run

    _refuse_env_conflicts(env)
    refuse_conflicts(plan)
    started = time.monotonic()
    if env is not None and not env.is_empty:
        from ..environment.install import apply_env

        outcome.environment = apply_env(env, project.dir, allow_http=allow_http, progress=progress)
    from .observe import write_roots

    root = settings.comfyui_root
    ctx = ApplyContext(
        store=store,
        lock_path=str(settings.lock_path),
        models_root=settings.models_root(),
        roots=write_roots(project.model_paths, lock, root),
        nodes_root=root / "custom_nodes" if root is not None else None,
        link_mode=options.link,
        jobs=options.jobs,
        use_aria2=options.use_aria2,
        allow_http=allow_http,
        env=os.environ,
        progress=progress or NullProgress(),
        remotes={r.name: r for r in prepared.remotes},
        unconfirmed=prepared.unconfirmed,
        claims=next((f.claim for f in plan.fetch if f.claim), None),
        downloader=early,
        hash_cache=LazyHashCache(settings.cache_dir),
    )
    try:
        report = run(plan, ctx)
    finally:
        ctx.hash_cache.close()
        store.close()
    outcome.seconds = time.monotonic() - started
    outcome.report = report
    outcome.warnings.extend(report.warnings)
    if report.failures:
        _raise_failures(report.failures)
    if options.push and (report.from_origin or report.pushed):
        outcome.pushed = _push_fetched(project, store, plan, report, progress)
    return outcome


def _refuse_env_conflicts(env) -> None:
    """A ComfyUI root with local changes: exit 5 before anything changes (SPEC §9)."""
    if env is not None and env.conflicts:
        path, reason = env.conflicts[0]
        raise ConflictError(
            f"{path}: {reason}; nothing was changed",
            hint="commit or stash the changes, or run `comfylock sync --no-core` to leave "
            "ComfyUI as it is",
        )


def _push_fetched(project: Project, store, plan, report, progress) -> list[str]:
    """``sync --push``: what this run fetched from the origins goes to every push remote."""
    from ..remotes.upload import push_blobs

    fetched, done = set(report.from_origin), set(report.pushed)
    wanted = [(f.sha256, f.size, f.keys[0]) for f in plan.fetch if f.sha256 in fetched]
    claimed = [(f.sha256, f.size) for f in plan.fetch if f.sha256 in done]
    try:
        return push_blobs(
            project.remote_specs,
            store,
            wanted,
            project.allow_http,
            progress,
            done={next((f.claim for f in plan.fetch if f.claim), ""): claimed},
        )
    except ComfylockError as exc:
        err = type(exc)(
            f"synced, but the push failed: {exc.message}",
            hint=f"{exc.hint or 'fix the cause'}; then run `comfylock push`",
        )
        err.exit_code = exc.exit_code
        raise err from None
