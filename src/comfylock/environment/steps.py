"""The environment's part of a sync plan: the core and the Python packages. Pure.

``make_env_plan`` turns what ``survey`` saw (the ComfyUI root's git state, the interpreter
and what it has installed, the target's pylock packages) into entries that ``status``,
``sync --dry-run`` and the sync itself read, each with the reason shown to the user:

* ``CoreClone`` (``--install-comfyui`` into an empty or missing root) or ``CoreCheckout``;
* ``VenvCreate``: ``<root>/.venv`` made with uv (``--install-comfyui`` only);
* ``PythonInstall``: packages to add, change and (``--exact``) remove, computed from the
  interpreter's installed set; the torch stack is held as it is unless ``--torch``.

Anything that stops a step is a ``conflicts`` entry (exit 5: a dirty ComfyUI tree) or a
``findings`` line (exit 1 after the rest is synced: not a git checkout, no interpreter).
"""

from __future__ import annotations

import re

import msgspec

__all__ = [
    "CoreCheckout",
    "CoreClone",
    "CoreState",
    "EnvPlan",
    "PyPackage",
    "PythonInstall",
    "PythonState",
    "VenvCreate",
    "is_torch_stack",
    "make_env_plan",
]

_TORCH = {"torch", "torchvision", "torchaudio", "xformers", "triton"}


def is_torch_stack(name: str) -> bool:
    """torch and the packages that must match it and the GPU driver (SPEC §9)."""
    name = re.sub(r"[-_.]+", "-", name).lower()
    return name in _TORCH or name.startswith(("nvidia-", "cuda-"))


class _Entry(msgspec.Struct, frozen=True, kw_only=True):
    reason: str


class CoreClone(_Entry, frozen=True, kw_only=True):
    repo: str
    commit: str
    path: str


class CoreCheckout(_Entry, frozen=True, kw_only=True):
    repo: str
    commit: str
    path: str
    head: str | None = None


class VenvCreate(_Entry, frozen=True, kw_only=True):
    path: str
    version: str


class PyPackage(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    version: str
    current: str | None = None  # the installed version, for a change or a removal
    size: int = 0  # of the wheel, when the pylock says


class PythonInstall(_Entry, frozen=True, kw_only=True):
    python: str  # the interpreter
    via: str = ""  # how it was found: --python, COMFYLOCK_PYTHON, <root>/.venv, …
    target: str  # the [[python.target]] name
    file: str  # its pylock file, beside comfy.lock
    add: tuple[PyPackage, ...] = ()
    change: tuple[PyPackage, ...] = ()
    remove: tuple[PyPackage, ...] = ()
    held: tuple[str, ...] = ()  # torch-stack packages left as they are (no --torch)


class CoreState(msgspec.Struct, frozen=True, kw_only=True):
    """The ComfyUI root as git sees it."""

    path: str
    status: str  # "empty" (missing or empty) | "ok" | "behind" | "dirty" | "not-git"
    head: str | None = None
    dirty: tuple[str, ...] = ()


class PythonState(msgspec.Struct, frozen=True, kw_only=True):
    """The interpreter sync would use, what it has, and what the target wants."""

    python: str | None  # None: no interpreter found
    via: str = ""
    portable: bool = False
    version: str | None = None  # the interpreter's major.minor
    installed: dict[str, str] = {}
    target: str = ""
    file: str = ""
    wanted: tuple[PyPackage, ...] = ()  # the pylock's packages
    venv: str | None = None  # --install-comfyui: the .venv to create first


class EnvPlan(msgspec.Struct, frozen=True, kw_only=True):
    core: CoreClone | CoreCheckout | None = None
    venv: VenvCreate | None = None
    python: PythonInstall | None = None
    conflicts: tuple[tuple[str, str], ...] = ()  # (path, reason): exit 5, nothing changed
    findings: tuple[str, ...] = ()  # exit 1 after the rest, each with its fix
    core_in_sync: str | None = None  # "0.3.40 at abc123" when the core needs nothing
    python_in_sync: int = 0  # packages already as locked

    @property
    def is_empty(self) -> bool:
        py = self.python
        work = py is not None and bool(py.add or py.change or py.remove)
        return not (self.core or self.venv or work or self.conflicts)


def _core_entry(comfy, core: CoreState) -> tuple[object, tuple, str | None]:
    """(entry or None, conflicts, in-sync text) for the core."""
    label = f"{comfy.version or comfy.commit[:12]} at {comfy.commit[:12]}"
    common = {"repo": comfy.repo, "commit": comfy.commit, "path": core.path}
    if core.status == "empty":
        return CoreClone(**common, reason="--install-comfyui: a fresh clone"), (), None
    if core.status == "dirty":
        shown = ", ".join(core.dirty[:3]) + (" …" if len(core.dirty) > 3 else "")
        why = f"ComfyUI has local changes ({shown}); commit or stash them, comfylock will not"
        return None, ((core.path, why),), None
    if core.status == "behind":
        why = f"at {(core.head or '?')[:12]}"
        return CoreCheckout(**common, head=core.head, reason=why), (), None
    return None, (), label if core.status == "ok" else None


def _python_findings(py: PythonState, locked_version: str) -> list[str]:
    if py.portable:
        return [
            f"ComfyUI's interpreter is a Windows portable install's python_embeded ({py.python}): "
            "install its packages with comfylock on that Windows machine, or sync with "
            "--no-python"
        ]
    if py.python is None:
        return [
            "no Python interpreter for ComfyUI (no --python, COMFYLOCK_PYTHON, <root>/.venv, "
            "<root>/venv or VIRTUAL_ENV): pass --python PATH, or sync with --no-python"
        ]
    if py.venv is None and py.version is None:
        return [f"{py.python} does not run: pass --python PATH to ComfyUI's interpreter"]
    if py.venv is None and py.version != locked_version:
        return [
            f"ComfyUI's interpreter ({py.python}) is Python {py.version}, the lock is for "
            f"{locked_version}: pass --python PATH to a {locked_version}, or set [python] "
            f'version = "{py.version}" and run resolve'
        ]
    return []


def _python_entry(py: PythonState, *, exact: bool, torch: bool) -> tuple[PythonInstall, int]:
    add, change, remove, held = [], [], [], []
    wanted = {p.name: p for p in py.wanted}
    in_sync = 0
    for name, pkg in sorted(wanted.items()):
        have = py.installed.get(name)
        if have == pkg.version:
            in_sync += 1
        elif not torch and is_torch_stack(name):
            held.append(name)
        elif have is None:
            add.append(pkg)
        else:
            change.append(msgspec.structs.replace(pkg, current=have))
    if exact:
        for name, have in sorted(py.installed.items()):
            if name in wanted or name in ("pip", "setuptools", "wheel"):
                continue
            if not torch and is_torch_stack(name):
                held.append(name)
            else:
                remove.append(PyPackage(name=name, version=have, current=have))
    entry = PythonInstall(
        python=py.python or "",
        via=py.via,
        target=py.target,
        file=py.file,
        add=tuple(add),
        change=tuple(change),
        remove=tuple(remove),
        held=tuple(sorted(set(held))),
        reason=f"into {py.python} ({py.via}), target {py.target}",
    )
    return entry, in_sync


def make_env_plan(
    comfy,
    python_version: str | None,
    core: CoreState | None,
    py: PythonState | None,
    *,
    exact: bool = False,
    torch: bool = False,
) -> EnvPlan:
    """The environment entries of a sync. ``core``/``py`` None: that part is skipped
    (``--no-core``, ``--no-python``, or the lock does not pin it)."""
    entry, conflicts, core_ok = None, (), None
    findings: list[str] = []
    if core is not None and comfy is not None:
        if core.status == "not-git":
            findings.append(
                f"{core.path} is not a git checkout, so ComfyUI was not moved to "
                f"{comfy.commit[:12]}: clone ComfyUI there (or sync into an empty folder with "
                "--install-comfyui), or sync with --no-core"
            )
        else:
            entry, conflicts, core_ok = _core_entry(comfy, core)
    venv = install = None
    in_sync = 0
    if py is not None and python_version is not None:
        blocked = _python_findings(py, python_version)
        findings += blocked
        if not blocked:
            if py.venv is not None:
                venv = VenvCreate(path=py.venv, version=python_version, reason="--install-comfyui")
            install, in_sync = _python_entry(py, exact=exact, torch=torch)
    return EnvPlan(
        core=entry,
        venv=venv,
        python=install,
        conflicts=conflicts,
        findings=tuple(findings),
        core_in_sync=core_ok,
        python_in_sync=in_sync,
    )
