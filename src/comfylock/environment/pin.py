"""``[comfyui]`` and ``[python]`` for the lock: the resolve side of the environment.

``[comfyui]``, first hit wins (SPEC §9): the lock's pin (unless ``--upgrade``, or a
``[comfyui]`` pin in comfylock.toml now says otherwise); that pin (``commit``, or ``version``
mapped to the tag ``v<version>``); the ComfyUI root when it is a git checkout (its HEAD;
local changes are a warning naming the files); else the highest ``ver`` of the workflows'
``comfy-core`` nodes, as the tag ``v<ver>``. The last one asks the network for a repository
the project never named, so it applies only to a project that opted in with a ``[comfyui]``
or ``[python]`` table; a project with none of these gets no environment pins, as before.

``[python]`` is made from ComfyUI's requirements at the pinned commit plus each locked
pack's, read from git objects; uv compiles each target. It is kept as it is while its
``inputs`` digest (the core commit, every pack's id and commit, comfylock.toml's ``[python]``)
and its pylock files are unchanged, so a second resolve runs neither git nor uv.
"""

from __future__ import annotations

import hashlib
import json
import platform as _platform
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import msgspec
from msgspec.structs import replace

from ..config import Config, PythonConfig, PythonTargetConfig
from ..errors import FindingError, RemoteError
from ..lock.structs import (
    DEFAULT_COMFYUI_REPO,
    Lock,
    LockedComfyUI,
    LockedNode,
    LockedPython,
    PythonRequirement,
    PythonTarget,
)
from . import gitobjects as git
from .requirements import PackRequirements, parse_pyproject, parse_requirements

__all__ = [
    "EnvResolution",
    "EnvSources",
    "comfyui_version",
    "python_inputs",
    "resolve_environment",
    "stale_reasons",
    "this_machine_target",
]

CORE_PACK = "comfy-core"
INSTALL_SCRIPTS = ("install.py", "setup.py")


class EnvSources(msgspec.Struct, frozen=True, kw_only=True):
    """Where git objects may come from, and whether the network may be used."""

    project_dir: Path
    cache_dir: Path
    comfyui_root: Path | None = None
    allow_http: tuple[str, ...] = ()
    offline: bool = False


class EnvResolution(msgspec.Struct, frozen=True, kw_only=True):
    lock: Lock
    files: dict[str, str] = {}  # pylock file name -> text to write beside comfy.lock
    warnings: tuple[str, ...] = ()
    stale: bool = False  # check-only: the Python lock would change
    recompiled: bool = False  # uv ran (else the [python] section was kept as it was)

    @property
    def install_scripts(self) -> tuple[str, ...]:
        return tuple(n.id for n in self.lock.node if n.install_script)


def comfyui_version(text: str | None) -> str | None:
    """``__version__`` of a ``comfyui_version.py``."""
    match = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", text or "")
    return match.group(1) if match else None


def python_inputs(comfyui: LockedComfyUI, nodes: Sequence[LockedNode], config: Config) -> str:
    """``sha256:`` over what the Python lock is made from (SPEC §9)."""
    doc = {
        "comfyui": comfyui.commit,
        "packs": sorted([n.id, n.commit] for n in nodes),
        "python": msgspec.to_builtins(config.python) if config.python else None,
    }
    data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def this_machine_target() -> PythonTargetConfig:
    """The default target: this OS and CPU, as uv names the platform."""
    machine = _platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform == "darwin":
        return PythonTargetConfig(name=f"macos-{arch}", platform=f"{arch}-apple-darwin")
    if sys.platform == "win32":
        return PythonTargetConfig(name=f"windows-{arch}", platform=f"{arch}-pc-windows-msvc")
    return PythonTargetConfig(name=f"linux-{arch}", platform=f"{arch}-manylinux_2_28")


def _file_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def stale_reasons(lock: Lock, config: Config, project_dir: Path) -> list[str]:
    """Why the lock's Python section no longer matches its inputs (offline; ``check``)."""
    python, comfy = lock.python, lock.comfyui
    if python is None:
        if config.python is not None:
            return ["comfylock.toml has [python] but the lock has no Python section"]
        return []
    if comfy is None:
        return ["the lock has [python] but no [comfyui] pin"]
    out = []
    if python_inputs(comfy, lock.node, config) != python.inputs:
        out.append(
            "the Python lock was made for another ComfyUI commit, other node pack commits "
            "or another [python] config"
        )
    for target in python.target:
        sha = _file_sha(project_dir / target.file)
        if sha is None:
            out.append(f"{target.file} is missing")
        elif sha != target.sha256:
            out.append(f"{target.file} changed since it was locked")
    return out


# --- [comfyui] ---------------------------------------------------------------------------


def _core_ver(workflows) -> str | None:
    """The highest ``ver`` of the workflows' comfy-core nodes."""
    vers = {
        n.ver.strip().lstrip("v")
        for wf in workflows
        for n in wf.info.nodes
        if n.cnr_id == CORE_PACK and n.ver and re.fullmatch(r"v?\d+(\.\d+)*", n.ver.strip())
    }
    return max(vers, key=lambda v: tuple(int(p) for p in v.split("."))) if vers else None


def _core_gitdir(comfy: LockedComfyUI, src: EnvSources) -> Path:
    root = src.comfyui_root
    if root is not None and git.is_checkout(root) and git.has_commit(root, comfy.commit):
        return root
    url = git.repo_url(comfy.repo, src.project_dir, src.allow_http)
    return git.mirror(url, comfy.commit, src.cache_dir, offline=src.offline)


def _by_tag(repo: str, version: str, matched_by: str, src: EnvSources) -> LockedComfyUI:
    if src.offline:
        raise RemoteError(
            f"ComfyUI {version}: finding its commit needs the network (--offline)",
            hint="run resolve without --offline, or pin [comfyui] commit in comfylock.toml",
        )
    url = git.repo_url(repo, src.project_dir, src.allow_http)
    commit = git.ls_remote_tag(url, f"v{version}")
    if commit is None:
        raise FindingError(
            f"ComfyUI {version}: {repo} has no tag v{version}",
            hint='pin [comfyui] commit = "<40 hex>" in comfylock.toml',
        )
    return LockedComfyUI(repo=repo, commit=commit, version=version, matched_by=matched_by)


def _agrees(old: LockedComfyUI, pin) -> bool:
    if pin is None or (pin.commit is None and pin.version is None):
        return True
    return old.commit == pin.commit if pin.commit else old.version == pin.version


def pin_comfyui(
    old: Lock | None, config: Config, workflows, src: EnvSources, *, upgrade: bool
) -> tuple[LockedComfyUI | None, list[str]]:
    """The ``[comfyui]`` pin and any warnings; None when nothing names a ComfyUI."""
    pin = config.comfyui
    repo = (pin.repo if pin else None) or DEFAULT_COMFYUI_REPO
    if old is not None and old.comfyui is not None and not upgrade and _agrees(old.comfyui, pin):
        return old.comfyui, []
    if pin is not None and pin.commit:
        found = LockedComfyUI(repo=repo, commit=pin.commit, matched_by="pin")
        gitdir = _core_gitdir(found, src)
        version = comfyui_version(git.read_file(gitdir, pin.commit, "comfyui_version.py"))
        return msgspec.structs.replace(found, version=version), []
    if pin is not None and pin.version:
        return _by_tag(repo, pin.version.lstrip("v"), "pin", src), []
    root = src.comfyui_root
    if root is not None and git.is_checkout(root):
        head = git.head(root)
        if head is not None:
            repo = (pin.repo if pin else None) or git.origin_url(root) or DEFAULT_COMFYUI_REPO
            text = git.read_file(root, head, "comfyui_version.py")
            found = LockedComfyUI(
                repo=repo, commit=head, version=comfyui_version(text), matched_by="local"
            )
            dirty = git.dirty_files(root)
            warnings = []
            if dirty:
                shown = ", ".join(dirty[:5]) + (
                    f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""
                )
                warnings.append(
                    f"the ComfyUI root has local changes the lock does not pin ({shown}); "
                    f"it pins HEAD {head[:12]}"
                )
            return found, warnings
    if config.python is not None or pin is not None:
        ver = _core_ver(workflows)
        if ver is not None:
            return _by_tag(repo, ver, "ver", src), []
        raise FindingError(
            "cannot pin ComfyUI: the ComfyUI root is not a git checkout and no workflow "
            "names a comfy-core version",
            hint='pass --comfyui-root of a git checkout, or set [comfyui] version = "0.3.40" '
            "(or commit) in comfylock.toml",
        )
    return None, []


# --- [python] ----------------------------------------------------------------------------


def _pack_gitdir(node: LockedNode, src: EnvSources) -> Path:
    root = src.comfyui_root
    if root is not None:
        name = node.repo.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
        local = root / "custom_nodes" / name
        if git.is_checkout(local) and git.has_commit(local, node.commit):
            return local
    url = git.repo_url(node.repo, src.project_dir, src.allow_http)
    return git.mirror(url, node.commit, src.cache_dir, offline=src.offline)


def _read_pack(pack: str, gitdir: Path, commit: str) -> list[PackRequirements]:
    """A pack's (or ComfyUI's) requirement files at ``commit``."""

    def read(path: str) -> str | None:
        return git.read_file(gitdir, commit, path)

    out = []
    text = read("requirements.txt")
    if text is not None:
        out.append(parse_requirements(text, pack, read=read))
    pyproject = read("pyproject.toml") if pack != "comfyui" else None
    if pyproject is not None:
        found = parse_pyproject(pyproject, pack)
        if found is not None:
            out.append(found)
    return out


def _has_install_script(gitdir: Path, commit: str) -> bool:
    return any(git.read_file(gitdir, commit, name) is not None for name in INSTALL_SCRIPTS)


def _public(url: str) -> str:
    """An index URL without user:password (never written into the lock)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _python_version(cfg: PythonConfig, old: Lock | None, src: EnvSources, upgrade: bool) -> str:
    if cfg.version:
        return cfg.version
    if old is not None and old.python is not None and not upgrade:
        return old.python.version
    from .interpreter import find_interpreter
    from .uvtool import interpreter_version

    found = find_interpreter(src.comfyui_root, env={})
    if found is not None and found.exists and not found.portable:
        version = interpreter_version(Path(found.path))
        if version:
            return version
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _check_core_classes(comfy: LockedComfyUI, workflows, src: EnvSources) -> None:
    """A core class a workflow uses that the pinned ComfyUI does not define: a finding
    (SPEC §9). "Defines" is read from the commit's Python sources: the class name as a
    quoted string (``NODE_CLASS_MAPPINGS`` keys, v3 ``node_id``s)."""
    used: dict[str, str] = {}
    for wf in workflows:
        for node in wf.info.nodes:
            if node.core:
                used.setdefault(node.class_type, wf.path)
    if not used:
        return
    try:
        gitdir = _core_gitdir(comfy, src)
    except RemoteError:
        if src.offline:
            return  # the commit's sources are not here: checked on the next online resolve
        raise
    found = git.grep_words(gitdir, comfy.commit, used)
    missing = sorted(set(used) - found)
    if missing:
        more = f" (and {len(missing) - 1} more: {', '.join(missing[1:4])})" if missing[1:] else ""
        raise FindingError(
            f"{used[missing[0]]} uses the core node {missing[0]}, which ComfyUI "
            f"{comfy.version or ''} at {comfy.commit[:12]} does not define{more}",
            hint="update ComfyUI to a version that has it, then `comfylock resolve --upgrade` "
            '(or set [comfyui] version = "…" in comfylock.toml)',
        )


def resolve_environment(
    lock: Lock,
    old: Lock | None,
    config: Config,
    workflows,
    src: EnvSources,
    *,
    upgrade: bool = False,
    check_only: bool = False,
) -> EnvResolution:
    """``lock`` (models and packs resolved) with ``[comfyui]``, ``[python]`` and the packs'
    ``install-script`` flags; the pylock files to write beside it."""
    comfy, warnings = pin_comfyui(old, config, workflows, src, upgrade=upgrade)
    if comfy is None:
        return EnvResolution(lock=lock)
    if not check_only:
        _check_core_classes(comfy, workflows, src)
    inputs = python_inputs(comfy, lock.node, config)
    lock = msgspec.structs.replace(lock, comfyui=comfy)
    kept = old.python if old is not None else None
    fresh = kept is not None and not upgrade and kept.inputs == inputs
    if fresh and not stale_reasons(replace(lock, python=kept), config, src.project_dir):
        flags = {(n.id, n.commit): n.install_script for n in old.node}
        nodes = tuple(
            replace(n, install_script=flags.get((n.id, n.commit), False)) for n in lock.node
        )
        return EnvResolution(lock=replace(lock, python=kept, node=nodes), warnings=tuple(warnings))
    if check_only:
        return EnvResolution(lock=lock, warnings=tuple(warnings), stale=True)
    return _recompile(lock, comfy, inputs, old, config, src, upgrade, warnings)


def _recompile(lock, comfy, inputs, old, config, src, upgrade, warnings) -> EnvResolution:
    core = _read_pack("comfyui", _core_gitdir(comfy, src), comfy.commit)
    packs: dict[str, list[PackRequirements]] = {}
    nodes = []
    for node in lock.node:
        gitdir = _pack_gitdir(node, src)
        packs[node.id] = _read_pack(node.id, gitdir, node.commit)
        script = _has_install_script(gitdir, node.commit)
        nodes.append(msgspec.structs.replace(node, install_script=script))
    cfg = config.python or PythonConfig()
    version = _python_version(cfg, old, src, upgrade)
    targets = cfg.targets or (this_machine_target(),)
    lifted = sorted({u for reqs in packs.values() for r in reqs for u in r.indexes})
    extra = tuple(dict.fromkeys([*cfg.extra_index_urls, *lifted]))
    files: dict[str, str] = {}
    locked_targets = []
    for target in targets:
        text = _compile_target(target, core, packs, cfg, version, extra, old, src, upgrade)
        name = f"pylock.{target.name}.toml"
        files[name] = text
        locked_targets.append(
            PythonTarget(
                name=target.name,
                platform=target.platform,
                torch_backend=target.torch_backend,
                file=name,
                sha256=hashlib.sha256(text.encode()).hexdigest(),
                indexes=tuple(_public(u) for u in extra),
            )
        )
    requirement = tuple(
        PythonRequirement(pack=r.pack, source=r.source, specs=r.specs)
        for r in [*core, *(r for reqs in packs.values() for r in reqs)]
        if r.specs
    )
    python = LockedPython(
        version=version, inputs=inputs, target=tuple(locked_targets), requirement=requirement
    )
    return EnvResolution(
        lock=msgspec.structs.replace(lock, python=python, node=tuple(nodes)),
        files=files,
        warnings=tuple(warnings),
        recompiled=True,
    )


def _compile_target(target, core, packs, cfg, version, extra, old, src, upgrade) -> str:
    from .conflicts import RequirementConflict, find_clashes
    from .uvtool import compile_pylock

    previous = None
    name = f"pylock.{target.name}.toml"
    if not upgrade and old is not None and old.python is not None:
        path = src.project_dir / name
        previous = path.read_text(encoding="utf-8") if path.is_file() else None
    overrides = sorted(cfg.overrides.values())
    with tempfile.TemporaryDirectory(prefix="comfylock-uv-") as tmp:

        def run(requirements, constraints, overrides_, previous_=None):
            return compile_pylock(
                requirements,
                constraints,
                overrides_,
                work=Path(tmp),
                name=target.name,
                python_version=version,
                platform=target.platform,
                torch_backend=target.torch_backend,
                index_url=cfg.index_url,
                extra_indexes=extra,
                excludes=cfg.exclude,
                previous=previous_,
                offline=src.offline,
            )

        core_lines = sorted({s for r in core for s in r.specs})
        every = sorted({s for reqs in packs.values() for r in reqs for s in r.specs})
        result = run([*core_lines, *every], core_lines, overrides, previous)
        if result.ok:
            return result.text
        if not result.unsolvable:
            raise RemoteError(
                f"uv could not lock target {target.name}: {result.message}",
                hint="check the index is reachable (or pass [python] index-url), then run "
                "resolve again",
            )
        clashes = find_clashes(core, packs, overrides, run)
        raise RequirementConflict(clashes, target.name, result.message)
