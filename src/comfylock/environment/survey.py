"""What the environment is on this machine: the ComfyUI root's git state, ComfyUI's
interpreter and its installed packages, the target's pylock. Reads only (git, ``uv pip
list``); ``steps`` turns it into plan entries."""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Mapping
from pathlib import Path

from ..errors import IntegrityError, LockfileError, UsageError
from ..lock.structs import Lock, LockedPython, PythonTarget
from . import gitobjects as git
from .interpreter import find_interpreter, venv_python
from .requirements import package_name
from .steps import CoreState, PyPackage, PythonState

__all__ = ["choose_target", "is_empty_root", "observe_core", "observe_python", "read_pylock"]


def is_empty_root(root: Path) -> bool:
    """Missing, or an empty directory: where ``--install-comfyui`` may clone."""
    return not root.exists() or (root.is_dir() and not any(root.iterdir()))


def observe_core(root: Path, commit: str) -> CoreState:
    """The root as git sees it, against the locked commit."""
    if is_empty_root(root):
        return CoreState(path=str(root), status="empty")
    if not git.is_checkout(root):
        return CoreState(path=str(root), status="not-git")
    head = git.head(root)
    dirty = tuple(git.dirty_files(root))
    if dirty:
        return CoreState(path=str(root), status="dirty", head=head, dirty=dirty)
    return CoreState(path=str(root), status="ok" if head == commit else "behind", head=head)


def _matches_machine(platform_name: str) -> bool:
    """Whether uv's ``--python-platform`` value names this OS and CPU."""
    value = platform_name.lower()
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform == "darwin":
        oses, arches = ("macos", "darwin"), (arch, "arm64" if arch == "aarch64" else arch)
    elif sys.platform == "win32":
        oses, arches = ("windows",), (arch,)
    else:
        oses, arches = ("linux", "manylinux", "musllinux"), (arch,)
    named_arch = "-" in value
    return any(o in value for o in oses) and (not named_arch or any(a in value for a in arches))


def choose_target(python: LockedPython, name: str | None) -> PythonTarget:
    """``--python-target NAME``, else the one target for this machine."""
    names = ", ".join(t.name for t in python.target) or "none"
    if name is not None:
        for target in python.target:
            if target.name == name:
                return target
        raise UsageError(f"--python-target {name}: the lock has no such target (it has {names})")
    found = [t for t in python.target if _matches_machine(t.platform)]
    if len(found) == 1 or (found and len({t.platform for t in found}) == 1):
        return found[0]
    why = "several targets match this machine" if found else "no target matches this machine"
    raise UsageError(
        f"{why} (targets: {names})",
        hint="pass --python-target NAME, or add a target for this machine to [python] targets "
        "in comfylock.toml and run resolve",
    )


def read_pylock(path: Path, sha256: str) -> tuple[PyPackage, ...]:
    """The packages of a pylock file whose bytes are the locked ones."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LockfileError(
            f"{path}: missing (comfy.lock names it)", hint="run `comfylock resolve`"
        ) from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise IntegrityError(
            f"{path.name} is not the file comfy.lock recorded (sha256 differs)",
            hint="run `comfylock resolve` to lock it again, or restore it from git",
        )
    from ..basics.fileio import parse_toml

    doc = parse_toml(data.decode("utf-8"), source=path.name)
    out = []
    for entry in doc.get("packages", []):
        name = package_name(str(entry.get("name", "")))
        if name is None or "version" not in entry:
            raise LockfileError(f"{path.name}: a package without a name or version")
        size = sum(int(w.get("size", 0) or 0) for w in entry.get("wheels", [])[:1])
        out.append(PyPackage(name=name, version=str(entry["version"]), size=size))
    return tuple(out)


def observe_python(
    lock: Lock,
    project_dir: Path,
    root: Path | None,
    *,
    given: str | None,
    target_name: str | None,
    install: bool,
    env: Mapping[str, str] = os.environ,
) -> PythonState:
    """The interpreter (``--python``/``COMFYLOCK_PYTHON``/venvs), its packages and the
    target's. ``install``: a missing ``<root>/.venv`` is to be made (``--install-comfyui``)."""
    assert lock.python is not None
    target = choose_target(lock.python, target_name)
    wanted = read_pylock(project_dir / target.file, target.sha256)
    base = {"target": target.name, "file": target.file, "wanted": wanted}
    found = find_interpreter(root, given, env)
    # a box built from nothing gets its own venv: an active VIRTUAL_ENV is the shell's (the
    # venv comfylock itself was installed in, often), never the new ComfyUI's
    fresh = found is None or found.via == "VIRTUAL_ENV"
    if fresh and install and root is not None and not (root / ".venv").exists():
        venv = root / ".venv"
        return PythonState(
            python=str(venv_python(venv)), via="<root>/.venv", venv=str(venv), **base
        )
    if found is None:
        return PythonState(python=None, **base)
    if found.portable:
        return PythonState(python=found.path, via=found.via, portable=True, **base)
    from .uvtool import installed_packages, interpreter_version

    path = Path(found.path)
    version = interpreter_version(path) if found.exists else None
    installed = installed_packages(path) if version else {}
    return PythonState(
        python=found.path, via=found.via, version=version, installed=installed, **base
    )
