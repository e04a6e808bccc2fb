"""The checks ``comfylock doctor`` runs: where everything is and whether it works (SPEC §2).

A newcomer's first question after an error is "what does comfylock think my setup is?".
Each check here is a small independent function ``(Project) -> list[Check]`` so that a new
concern (a remote, a token scope) is one more function in ``CHECKS``, not an edit of a big
one. A check only reads: it never creates the store, contacts the network only to ask each
configured team remote whether it answers and to open one connection to each service
(Civitai, the hub, the registry: is the network there at all?), and never shows a token's
value (only "set" / "not set").
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import msgspec

from ..constants import SECRET_ENV_VARS
from ..errors import ComfylockError
from ..project.loading import Project

__all__ = ["CHECKS", "Check", "run_checks"]

# Below this much free space in the store a sync of one big checkpoint will not fit.
LOW_SPACE = 8 * 1024**3


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the doctor's answer; ``fix`` names a command or action when not ok."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _size(n: int) -> str:
    from ..basics.units import human_size

    return human_size(n)


def check_lock(project: Project) -> list[Check]:
    settings = project.settings
    path = settings.lock_path
    if not path.is_file():
        return [
            Check(
                name="lock",
                ok=False,
                detail=f"no comfy.lock in {path.parent} or its parents",
                fix="run `comfylock resolve` in the project folder, or pass --lock PATH",
            )
        ]
    from ..lock.file import load

    try:
        lock = load(path)
    except ComfylockError as exc:
        return [Check(name="lock", ok=False, detail=exc.message, fix=exc.hint or "")]
    models, nodes = len(lock.model), len(lock.node)
    detail = f"{path} ({models} model{'s' * (models != 1)}, {nodes} node pack{'s' * (nodes != 1)})"
    if lock.unresolved:
        from ..lock.unpinned import fixes, summary

        entries = [(f"{u.folder}/{u.name}", u.reason) for u in lock.unresolved]
        return [
            Check(
                name="lock",
                ok=False,
                detail=f"{detail}; {summary(k for k, _ in entries)} not pinned",
                fix="; ".join(fixes(entries)),
            )
        ]
    return [Check(name="lock", ok=True, detail=detail)]


def check_comfyui_root(project: Project) -> list[Check]:
    settings = project.settings
    root = settings.comfyui_root
    if root is None:
        return [
            Check(
                name="comfyui root",
                ok=True,
                detail="not set (sync, status and report need --comfyui-root DIR or COMFYUI_ROOT)",
            )
        ]
    from ..errors import UsageError
    from ..settings import check_comfyui_root as _check

    try:
        _check(root)
    except UsageError as exc:
        return [Check(name="comfyui root", ok=False, detail=exc.message, fix=exc.hint or "")]
    return [Check(name="comfyui root", ok=True, detail=str(root))]


def check_model_dirs(project: Project) -> list[Check]:
    settings = project.settings
    if settings.models_root() is None:
        return []
    from ..machine.modelpaths import EXTRA_CONFIG_NAME, load_model_paths

    try:
        paths = load_model_paths(settings.comfyui_root, settings.models_dir)
    except ComfylockError as exc:
        return [Check(name="models", ok=False, detail=exc.message, fix=exc.hint or "")]
    out = [_models_root_check(paths.models_dir)]
    base = paths.models_dir
    for folder, dirs in paths.dirs.items():
        extra = [d for d in dirs if base is None or not d.is_relative_to(base)]
        if extra:
            where = ", ".join(str(d) for d in extra)
            out.append(
                Check(
                    name=f"  {folder}",
                    ok=True,
                    detail=f"new files go to {dirs[0]}; also {where} ({EXTRA_CONFIG_NAME})",
                )
            )
    return out


def _models_root_check(models_dir) -> Check:
    """A models root that is not there is only fine when its parent is (sync creates it)."""
    if models_dir is None or models_dir.is_dir():
        return Check(name="models", ok=True, detail=str(models_dir))
    if models_dir.parent.is_dir():
        return Check(
            name="models", ok=True, detail=f"{models_dir} (not there yet; sync creates it)"
        )
    return Check(
        name="models",
        ok=False,
        detail=f"{models_dir} does not exist",
        fix="pass --comfyui-root (or --models-dir) with a folder that exists",
    )


def check_store(project: Project) -> list[Check]:
    settings = project.settings
    store = settings.store_dir
    existing = next((p for p in (store, *store.parents) if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK):
        return [
            Check(
                name="store",
                ok=False,
                detail=f"{store} cannot be created here (no write permission)",
                fix="pass --store DIR (or set COMFYLOCK_STORE) to a writable folder",
            )
        ]
    free = shutil.disk_usage(existing).free
    blobs = sum(1 for _ in (store / "blobs").glob("sha256/*/*")) if store.exists() else 0
    state = f"{blobs} blobs" if store.exists() else "created on first sync"
    detail = f"{store} ({state}; {_size(free)} free)"
    if free < LOW_SPACE:
        return [
            Check(
                name="store",
                ok=False,
                detail=detail,
                fix="free some space, or pass --store DIR on a bigger disk",
            )
        ]
    return [Check(name="store", ok=True, detail=detail)]


def _version(exe: str, args: tuple[str, ...]) -> str:
    try:
        out = subprocess.run(
            [exe, *args], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "found, but it did not run"
    return (out.strip().splitlines() or ["unknown version"])[0]


def _tool(name: str, missing: str, fix: str) -> list[Check]:
    exe = shutil.which(name)
    if exe is None:
        return [Check(name=name, ok=False, detail=f"not found: {missing}", fix=fix)]
    return [Check(name=name, ok=True, detail=f"{_version(exe, ('--version',))} ({exe})")]


def check_aria2c(project: Project) -> list[Check]:
    return _tool(
        "aria2c",
        "downloads use the slower built-in downloader",
        "install aria2 (apt install aria2, brew install aria2)",
    )


def check_git(project: Project) -> list[Check]:
    return _tool(
        "git",
        "node packs cannot be installed",
        "install git, or run `comfylock sync --no-nodes`",
    )


def check_tokens(project: Project) -> list[Check]:
    """One row: which tokens are set (a row per variable made every row as wide as
    ``AWS_SECRET_ACCESS_KEY``). NOTE: only whether a token is set, never its value."""
    set_ = [var for var in SECRET_ENV_VARS if os.environ.get(var)]
    unset = [var for var in SECRET_ENV_VARS if not os.environ.get(var)]
    aws = [v for v in unset if v.startswith("AWS_")]
    shown = [v for v in unset if not v.startswith("AWS_")]
    if aws:
        shown.append("AWS_*" if len(aws) == 3 else ", ".join(aws))
    parts = ([f"set: {', '.join(set_)}"] if set_ else []) + (
        [f"not set: {', '.join(shown)}"] if shown else []
    )
    return [Check(name="tokens", ok=True, detail="; ".join(parts))]


def check_network(project: Project) -> list[Check]:
    """Can this machine reach the services resolve and sync ask (one TCP connect each)?"""
    from urllib.parse import urlsplit

    from ..net.concurrency import map_concurrent
    from ..net.endpoints import Endpoints
    from ..net.reach import probe

    endpoints = Endpoints.from_env()
    urls = [endpoints.civitai, endpoints.hf, endpoints.registry]
    answers = map_concurrent(probe, urls, workers=len(urls))
    hosts = [urlsplit(u).netloc for u in urls]
    down = [(h, why) for h, why in zip(hosts, answers) if why]
    if not down:
        return [Check(name="network", ok=True, detail=f"{', '.join(hosts)} reachable")]
    host, why = down[0]
    more = f" (and {len(down) - 1} more)" if len(down) > 1 else ""
    return [
        Check(
            name="network",
            ok=False,
            detail=f"cannot reach {host}: {why}{more}",
            fix="without it `comfylock resolve --offline` pins from the lock, local files and "
            "the workflows; sync needs the network (or a team remote) to download",
        )
    ]


def check_cache(project: Project) -> list[Check]:
    settings = project.settings
    from ..net.httpcache import CACHE_FILENAME

    path = settings.cache_dir / CACHE_FILENAME
    if not path.exists():
        return [Check(name="cache", ok=True, detail=f"{path} (empty)")]
    return [Check(name="cache", ok=True, detail=f"{path} ({_size(path.stat().st_size)})")]


def check_remotes(project: Project) -> list[Check]:
    """Each team remote (SPEC §8) and whether it answers; nothing when none is configured."""
    from ..remotes.health import remote_health

    return [
        Check(name=f"remote {h.name}", ok=h.ok, detail=f"{h.url} ({h.detail})", fix=h.fix)
        for h in remote_health(project.remote_specs, project.allow_http)
    ]


def check_comfyui_commit(project: Project) -> list[Check]:
    """The ComfyUI checkout against the lock's ``[comfyui]`` (SPEC §9)."""
    root, lock = project.settings.comfyui_root, _lock_or_none(project)
    if root is None or lock is None or lock.comfyui is None or not root.is_dir():
        return []
    from ..environment.survey import observe_core

    want = lock.comfyui
    label = f"{want.version or '?'} at {want.commit[:12]}"
    state = observe_core(root, want.commit)
    if state.status == "ok":
        return [Check(name="comfyui", ok=True, detail=f"{label}, as locked")]
    if state.status == "not-git":
        detail = f"{root} is not a git checkout; the lock pins ComfyUI {label}"
        fix = "clone ComfyUI there, or build one with `comfylock sync --install-comfyui`"
        return [Check(name="comfyui", ok=False, detail=detail, fix=fix)]
    if state.status == "dirty":
        detail = f"local changes in {', '.join(state.dirty[:3])}; the lock pins {label}"
        return [Check(name="comfyui", ok=False, detail=detail, fix="commit or stash them")]
    detail = f"at {(state.head or '?')[:12]}, the lock pins {label}"
    return [Check(name="comfyui", ok=False, detail=detail, fix="run `comfylock sync`")]


def _lock_or_none(project: Project):
    try:
        return project.lock_if_present()
    except ComfylockError:
        return None  # check_lock reports it


def check_python(project: Project) -> list[Check]:
    """Which interpreter is ComfyUI's, and whether its packages match the lock (SPEC §9)."""
    from ..environment.interpreter import find_interpreter

    root, lock = project.settings.comfyui_root, _lock_or_none(project)
    found = find_interpreter(root)
    if found is None:
        if lock is None or lock.python is None:
            return []
        return [
            Check(
                name="python",
                ok=False,
                detail="no interpreter for ComfyUI (<root>/.venv, <root>/venv, VIRTUAL_ENV)",
                fix="pass --python PATH or set COMFYLOCK_PYTHON",
            )
        ]
    if found.portable:
        detail = (
            f"a Windows portable install: {found.path} (python_embeded); its packages are "
            "checked and installed by comfylock on that Windows machine"
        )
        return [Check(name="python", ok=True, detail=detail)]
    from ..environment.uvtool import interpreter_version

    version = interpreter_version(Path(found.path))
    if version is None:
        return [
            Check(
                name="python",
                ok=False,
                detail=f"{found.path} ({found.via}) does not run",
                fix="pass --python PATH to ComfyUI's interpreter",
            )
        ]
    out = [Check(name="python", ok=True, detail=f"{found.path} ({found.via}, Python {version})")]
    if lock is not None and lock.python is not None:
        out.append(_packages_check(project, lock, found.path, version))
    return out


def _packages_check(project: Project, lock, python: str, version: str) -> Check:
    from ..environment.survey import choose_target, read_pylock
    from ..environment.uvtool import installed_packages

    if version != lock.python.version:
        detail = f"Python {version}, the lock is for {lock.python.version}"
        return Check(name="  packages", ok=False, detail=detail, fix="pass --python PATH")
    target = choose_target(lock.python, None)
    wanted = read_pylock(project.dir / target.file, target.sha256)
    have = installed_packages(Path(python))
    wrong = [
        f"{p.name} {have.get(p.name, 'missing')}" for p in wanted if have.get(p.name) != p.version
    ]
    if not wrong:
        detail = f"{len(wanted)} packages as locked ({target.file})"
        return Check(name="  packages", ok=True, detail=detail)
    shown = ", ".join(wrong[:4]) + (f" and {len(wrong) - 4} more" if len(wrong) > 4 else "")
    detail = f"{len(wrong)} of {len(wanted)} differ from {target.file}: {shown}"
    return Check(name="  packages", ok=False, detail=detail, fix="run `comfylock sync`")


CHECKS: list[Callable[[Project], list[Check]]] = [
    check_lock,
    check_comfyui_root,
    check_comfyui_commit,
    check_python,
    check_model_dirs,
    check_store,
    check_remotes,
    check_network,
    check_aria2c,
    check_git,
    check_tokens,
    check_cache,
]


def run_checks(project: Project, checks=None) -> list[Check]:
    """Every check's findings, in order. A check that raises is itself a finding."""
    out: list[Check] = []
    for check in checks or CHECKS:
        try:
            out.extend(check(project))
        except (ComfylockError, OSError) as exc:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            out.append(Check(name=name, ok=False, detail=str(exc)))
    return out
