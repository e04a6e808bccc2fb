"""The resolve stage's job (the same role as ``sync/job.py`` for sync): read the project,
resolve through live sources, write the lock.

Kept apart from the pure ``resolve`` module: this is where files and the network meet.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from ..constants import LOCK_VERSION
from ..errors import LockfileError
from ..lock import file as lockfile
from ..lock.structs import Lock
from ..project.loading import Project
from ..workflows.refs import ModelRef, WorkflowInfo, WorkflowInput
from .core import Resolution, resolve

__all__ = ["ResolveOutcome", "run_resolve"]


class ResolveOutcome(msgspec.Struct, frozen=True, kw_only=True):
    lock_path: str
    resolution: Resolution
    written: bool
    changed: bool
    check_only: bool
    exit_code: int
    workflows: int
    # "folder/name" of an unresolved reference -> candidates (machine.suggest.Suggestion)
    suggestions: dict[str, tuple] = {}
    local_files: bool = True  # False: no ComfyUI root or models dir, so none were hashed
    environment: object = None  # environment.pin.EnvResolution, when the lock pins one


def _pinned_outside_workflows(config) -> WorkflowInput | None:
    """Models pinned by hand in comfylock.toml ([sources]) that no workflow names."""
    refs = []
    from ..workflows.tables import split_key

    for key in sorted(config.sources):
        folder, name = split_key(key)
        if folder and name:
            refs.append(
                ModelRef(folder=folder, name=name, node_id="", node_type="", input="comfylock.toml")
            )
    return (
        WorkflowInput("comfylock.toml", WorkflowInfo(format="config", models=tuple(refs)))
        if refs
        else None
    )


def _load_old(path: Path) -> Lock | None:
    try:
        return lockfile.load(path)
    except LockfileError:
        if path.exists():
            raise
        return None


def _with_pins(old: Lock | None, pins: tuple) -> Lock | None:
    if not pins:
        return old
    keys = {p.key for p in pins}
    kept = tuple(m for m in (old.model if old else ()) if m.key not in keys)
    base = old if old is not None else Lock(version=LOCK_VERSION)
    return msgspec.structs.replace(base, model=kept + tuple(pins))


def _recorded_classes(project: Project, workflows) -> tuple:
    """The installed packs' facts the workflows were read with (``lock.knowledge``)."""
    from ..lock.knowledge import record
    from ..workflows import nodeknowledge

    with nodeknowledge.pinned(project.knowledge):
        return record(workflows)


def run_resolve(
    project: Project,
    paths,
    *,
    upgrade: bool,
    offline: bool,
    check_only: bool,
    allow_unresolved: bool,
    fetch: bool,
    refresh: bool,
    progress: bool,
    extra_pins: tuple = (),
) -> ResolveOutcome:
    """Resolve and write the lock. ``extra_pins`` count as pins already in the lock, so a pin
    ``add`` just checked is kept as checked (``add`` also gives a Project whose config holds
    the new pin, before it is written to comfylock.toml)."""
    from ..net.concurrency import map_concurrent
    from .live import LiveSources

    settings, config = project.settings, project.config
    workflows = project.workflows(tuple(paths))
    extra = _pinned_outside_workflows(config)
    inputs = workflows + ([extra] if extra else [])
    old = _with_pins(_load_old(settings.lock_path), extra_pins)
    sources = LiveSources(settings, config, offline=offline, refresh=refresh, fetch=fetch)
    from ..workflows import nodeknowledge

    try:
        with (
            _offline_hint(),
            _spinner(progress and not settings.quiet, f"resolving {len(workflows)} workflows"),
            nodeknowledge.pinned(project.knowledge),  # packs installed here name their classes
        ):
            resolution = resolve(
                inputs,
                old=old,
                config=config,
                sources=sources,
                upgrade=upgrade,
                map_fn=lambda fn, items: map_concurrent(fn, items, workers=8),
                hand_pinned=frozenset(m.key for m in extra_pins),
            )
        suggestions = _suggestions(sources, resolution, inputs, old, map_concurrent)
    finally:
        sources.close()
    lock = resolution.lock
    lock = msgspec.structs.replace(
        lock,
        workflow=tuple(w for w in lock.workflow if w.path != "comfylock.toml"),
        unresolved=lock.unresolved if allow_unresolved else (),
        classes=_recorded_classes(project, workflows),
    )
    failed = bool(resolution.conflicts) or (bool(resolution.unresolved) and not allow_unresolved)
    env = None
    if not failed or check_only:
        env = _environment(project, lock, old, workflows, upgrade, offline, check_only)
        lock = env.lock
    text = lockfile.render(lock)
    try:
        current = settings.lock_path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except FileNotFoundError:
        current = None
    changed = current != text or (env is not None and (env.stale or _files_differ(project, env)))
    written = False
    if check_only:
        code = 1 if (changed or failed) else 0
    elif failed:
        code = 1
    else:
        written = _write_pylocks(project, env)
        written = lockfile.dump(lock, settings.lock_path) or written
        code = 0
    return ResolveOutcome(
        lock_path=str(settings.lock_path),
        resolution=resolution,
        written=written,
        changed=changed,
        check_only=check_only,
        exit_code=code,
        workflows=len(workflows),
        suggestions=suggestions,
        local_files=settings.models_root() is not None,
        environment=env,
    )


def _environment(project: Project, lock, old, workflows, upgrade, offline, check_only):
    """``[comfyui]``, ``[python]`` and the packs' install-script flags (SPEC §9)."""
    from ..environment.pin import EnvSources, resolve_environment

    settings = project.settings
    src = EnvSources(
        project_dir=project.dir,
        cache_dir=settings.cache_dir,
        comfyui_root=settings.comfyui_root,
        allow_http=project.allow_http,
        offline=offline,
    )
    return resolve_environment(
        lock, old, project.config, workflows, src, upgrade=upgrade, check_only=check_only
    )


def _files_differ(project: Project, env) -> bool:
    for name, text in env.files.items():
        try:
            if (project.dir / name).read_text(encoding="utf-8") != text:
                return True
        except OSError:
            return True
    return False


def _write_pylocks(project: Project, env) -> bool:
    """The targets' pylock files beside comfy.lock (atomic, only on change), before the lock
    that records their sha256."""
    from ..basics.fileio import atomic_write_text

    written = False
    for name, text in env.files.items() if env is not None else ():
        written = atomic_write_text(project.dir / name, text) or written
    return written


def _hf_repos(*locks) -> tuple[tuple[str, str], ...]:
    """(repo, revision) of every Hugging Face model repo the locks pin from, sorted."""
    from ..lock.structs import HuggingFaceSource

    return tuple(
        sorted(
            {
                (s.repo, s.revision)
                for lock in locks
                if lock is not None
                for m in lock.model
                for s in m.source
                if isinstance(s, HuggingFaceSource) and (s.repo_type or "model") == "model"
            }
        )
    )


def _suggestions(sources, resolution, inputs, old, map_concurrent) -> dict[str, tuple]:
    """Candidates for each unresolved model (never pinned; ``comfylock add`` takes one)."""
    from ..errors import RemoteError

    repos = _hf_repos(resolution.lock, old)

    declared = {
        f"{r.folder}/{r.name}": r.sha256 for wf in inputs for r in wf.info.models if r.sha256
    }
    todo = [u for u in resolution.unresolved if u.folder not in ("custom_nodes", "input")]

    def one(u):
        try:
            sha = declared.get(f"{u.folder}/{u.name}")
            return tuple(sources.suggest(u.folder, u.name, sha, hf_repos=repos))
        except RemoteError:
            return ()  # suggestions are a courtesy: a failed search costs only them

    found = map_concurrent(one, todo, workers=4)
    return {f"{u.folder}/{u.name}": s for u, s in zip(todo, found, strict=True) if s}


class _offline_hint:
    """No network at all: name the way to resolve without it (issue 19)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        from ..errors import NoNetworkError

        if isinstance(exc, NoNetworkError) and "--offline" not in (exc.hint or ""):
            exc.hint = (
                f"{exc.hint}; or run `comfylock resolve --offline`: it pins from the lock, "
                "local files and what the workflows carry, and says what it could not look up"
            )
        return False


class _spinner:
    """A transient status line on stderr while resolving (TTY only)."""

    def __init__(self, enabled: bool, text: str) -> None:
        self.enabled = enabled
        self.text = text
        self.status = None

    def __enter__(self):
        import sys

        if self.enabled and sys.stderr.isatty():
            from rich.console import Console

            self.status = Console(stderr=True).status(self.text)
            self.status.__enter__()
        return self

    def __exit__(self, *exc):
        if self.status is not None:
            self.status.__exit__(*exc)
