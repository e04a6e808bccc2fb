"""Run the environment's plan entries: the only code here that changes a machine.

Order: the core (clone into an empty root, or move a clean checkout to the locked commit),
then ComfyUI's venv (``--install-comfyui``), then the Python packages. Packages go in with
``uv pip install --require-hashes -r`` of a copy of the target's pylock that holds exactly
the planned additions and changes, so held packages (the torch stack) and packages already
right are never touched; ``--exact`` removals go through ``uv pip uninstall``. Nothing here
runs a pack's ``install.py``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import msgspec

from ..errors import RemoteError
from . import gitobjects as git
from .steps import CoreCheckout, CoreClone, EnvPlan, PythonInstall
from .uvtool import create_venv, install_pylock, uninstall

__all__ = ["EnvReport", "apply_env"]

_INSTALLED = re.compile(r"^\s*\+\s+([A-Za-z0-9._-]+)==(\S+)")


class EnvReport(msgspec.Struct, kw_only=True):
    core: str | None = None  # "cloned" | "checked out"
    venv: str | None = None
    installed: int = 0
    changed: int = 0
    removed: int = 0


def _checkout(path: Path, commit: str, url: str) -> None:
    if not git.has_commit(path, commit):
        git.run_git("fetch", "--quiet", "origin", cwd=path, repo=url, check=False)
    if not git.has_commit(path, commit):
        git.run_git("fetch", "--quiet", "origin", commit, cwd=path, repo=url, check=False)
    if not git.has_commit(path, commit):
        raise RemoteError(f"ComfyUI: commit {commit[:12]} not found in {url}")
    git.run_git("checkout", "--quiet", "--detach", commit, cwd=path)


def _core(entry: CoreClone | CoreCheckout, project_dir: Path, allow_http) -> str:
    url = git.repo_url(entry.repo, project_dir, allow_http)
    path = Path(entry.path)
    if isinstance(entry, CoreCheckout):
        _checkout(path, entry.commit, url)
        return "checked out"
    made = not path.exists()
    try:
        # NOTE: into the root itself (git accepts an empty directory): a clone beside it and
        # a rename would cross into the user's parent folder
        git.run_git("clone", "--quiet", "--no-checkout", "--", url, str(path), repo=url)
        _checkout(path, entry.commit, url)
    except BaseException:
        if made:
            shutil.rmtree(path, ignore_errors=True)
        else:  # it was empty before: leave it empty
            for child in path.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
        raise
    return "cloned"


def _subset_pylock(source: Path, names: set[str], out: Path) -> None:
    """A copy of ``source`` holding only the packages named (PEP 751 keys kept as they are)."""
    import tomlkit

    from .requirements import package_name

    doc = tomlkit.parse(source.read_text(encoding="utf-8"))
    kept = [p for p in doc.get("packages", []) if package_name(str(p.get("name", ""))) in names]
    packages = tomlkit.aot()
    for entry in kept:
        packages.append(entry)
    doc["packages"] = packages
    out.write_text(tomlkit.dumps(doc), encoding="utf-8")


def _python(entry: PythonInstall, project_dir: Path, progress, report: EnvReport) -> None:
    python = Path(entry.python)
    todo = {p.name: p for p in (*entry.add, *entry.change)}
    if todo:
        sizes = {name: p.size for name, p in todo.items()}
        update = progress.task(f"python: {len(todo)} packages", sum(sizes.values()))
        done = [0]

        def on_line(line: str) -> None:
            match = _INSTALLED.match(line)
            if match:
                from .requirements import package_name

                name = package_name(match.group(1)) or match.group(1)
                done[0] += sizes.get(name, 0)
                update(done[0])
                progress.finished(f"{name} {match.group(2)}", sizes.get(name, 0), "installed")

        with tempfile.TemporaryDirectory(prefix="comfylock-pylock-") as tmp:
            subset = Path(tmp) / "pylock.install.toml"
            _subset_pylock(project_dir / entry.file, set(todo), subset)
            install_pylock(python, subset, on_line=on_line)
        report.installed, report.changed = len(entry.add), len(entry.change)
    if entry.remove:
        uninstall(python, [p.name for p in entry.remove])
        report.removed = len(entry.remove)


def apply_env(plan: EnvPlan, project_dir: Path, *, allow_http=(), progress=None) -> EnvReport:
    """Run ``plan`` (its conflicts were refused before anything started)."""
    from ..basics.progress import NullProgress

    progress = progress or NullProgress()
    report = EnvReport()
    if plan.core is not None:
        report.core = _core(plan.core, project_dir, allow_http)
    if plan.venv is not None:
        create_venv(Path(plan.venv.path), plan.venv.version)
        report.venv = plan.venv.path
    if plan.python is not None:
        _python(plan.python, project_dir, progress, report)
    return report
