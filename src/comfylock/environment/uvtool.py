"""The real ``uv`` binary (the ``uv`` Python package, a dependency of comfylock).

comfylock never resolves Python packages itself: ``uv pip compile`` writes each target's PEP
751 ``pylock.<name>.toml`` with a sha256 for every distribution, ``uv pip install -r`` reads
it back, ``uv venv`` makes ComfyUI's interpreter and ``uv pip list`` says what one has. uv
reads its own settings (``UV_CACHE_DIR``, ``UV_INDEX_URL``, ``uv.toml``…) as it always does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from ..errors import RemoteError, UsageError

__all__ = [
    "CompileResult",
    "Compiler",
    "compile_pylock",
    "create_venv",
    "install_pylock",
    "installed_packages",
    "interpreter_version",
    "uninstall",
    "uv_exe",
]


def uv_exe() -> str:
    """The uv binary shipped with the ``uv`` package, else one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise UsageError(
        "uv is not installed (comfylock locks and installs Python packages with it)",
        hint="reinstall comfylock (uv is one of its dependencies), or `pip install uv`",
    )


def _run(args: Sequence[str], *, cwd: Path | None = None, stderr_line=None):
    """uv ``args``; ``stderr_line(line)`` sees each stderr line as it comes (for progress)."""
    argv = [uv_exe(), *args]
    env = {**os.environ, "UV_NO_PROGRESS": "1", "NO_COLOR": "1"}
    if stderr_line is None:
        return subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        stderr_line(line.rstrip("\n"))
    out = proc.stdout.read() if proc.stdout else ""
    proc.wait()
    return subprocess.CompletedProcess(argv, proc.returncode, out, "".join(lines))


def _last_error(text: str) -> str:
    """uv's own message, shortened to what a one-line error can carry."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("error:", "×", "Caused by:"))]
    picked = " ".join((errors or lines or ["failed"])[:3])
    return picked.removeprefix("error: ")


class CompileResult(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    text: str = ""  # the pylock file uv wrote
    unsolvable: bool = False  # uv found no solution (a conflict), as opposed to failing
    message: str = ""


# (requirement lines, constraint lines, override lines) -> CompileResult; injected so the
# conflict search can be tested without uv and the real runs share one set of options.
Compiler = Callable[[Sequence[str], Sequence[str], Sequence[str]], CompileResult]


def compile_pylock(
    requirements: Sequence[str],
    constraints: Sequence[str],
    overrides: Sequence[str],
    *,
    work: Path,
    name: str,
    python_version: str,
    platform: str,
    torch_backend: str | None = None,
    index_url: str | None = None,
    extra_indexes: Sequence[str] = (),
    excludes: Sequence[str] = (),
    previous: str | None = None,
    offline: bool = False,
) -> CompileResult:
    """``uv pip compile`` the lines into ``pylock.<name>.toml`` text (hashes for every
    distribution). ``previous`` is the current file: uv keeps its versions where it can."""
    work.mkdir(parents=True, exist_ok=True)
    files = {"requirements.in": requirements, "constraints.txt": constraints}
    files |= {"overrides.txt": overrides, "excludes.txt": excludes}
    for fname, lines in files.items():
        (work / fname).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    out = work / f"pylock.{name}.toml"
    if previous is not None:
        out.write_text(previous, encoding="utf-8")
    elif out.exists():
        out.unlink()
    args = ["pip", "compile", "requirements.in", "-c", "constraints.txt"]
    args += ["--overrides", "overrides.txt", "--excludes", "excludes.txt"]
    args += ["--generate-hashes", "--no-header", "--quiet", "--preview-features", "pylock"]
    args += ["--python-version", python_version, "--python-platform", platform, "-o", out.name]
    if torch_backend:
        args += ["--torch-backend", torch_backend]
    if index_url:
        args += ["--default-index", index_url]
    for url in extra_indexes:
        args += ["--index", url]
    if offline:
        args.append("--offline")
    proc = _run(args, cwd=work)
    if proc.returncode == 0 and out.exists():
        return CompileResult(ok=True, text=out.read_text(encoding="utf-8"))
    message = _last_error(proc.stderr)
    unsolvable = "No solution found" in proc.stderr or "unsatisfiable" in proc.stderr
    return CompileResult(ok=False, unsolvable=unsolvable, message=message)


def create_venv(path: Path, python_version: str) -> None:
    """``uv venv`` at ``path`` for Python ``python_version`` (uv finds or fetches it)."""
    proc = _run(["venv", "--quiet", "--python", python_version, str(path)])
    if proc.returncode != 0:
        raise UsageError(
            f"uv venv {path}: {_last_error(proc.stderr)}",
            hint=f"install Python {python_version}, or pass --python PATH to an interpreter",
        )


def interpreter_version(python: Path) -> str | None:
    """major.minor of an interpreter, or None when it does not run here."""
    try:
        proc = subprocess.run(
            [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def installed_packages(python: Path) -> dict[str, str]:
    """normalised name -> version of what ``python`` has (``uv pip list``)."""
    proc = _run(["pip", "list", "--python", str(python), "--format", "json", "--quiet"])
    if proc.returncode != 0:
        raise UsageError(
            f"cannot list the packages of {python}: {_last_error(proc.stderr)}",
            hint="pass --python PATH to ComfyUI's interpreter, or sync with --no-python",
        )
    from .requirements import package_name

    try:
        rows = json.loads(proc.stdout or "[]")
    except ValueError:
        rows = []
    return {package_name(r["name"]) or r["name"]: r["version"] for r in rows}


def install_pylock(python: Path, pylock: Path, *, offline: bool = False, on_line=None) -> str:
    """``uv pip install --require-hashes -r pylock`` into ``python``; returns uv's output."""
    args = ["pip", "install", "--python", str(python), "--require-hashes", "-r", str(pylock)]
    args += ["--preview-features", "pylock"]
    if offline:
        args.append("--offline")
    proc = _run(args, stderr_line=on_line)
    if proc.returncode != 0:
        raise RemoteError(
            f"uv pip install: {_last_error(proc.stderr)}",
            hint="check the index is reachable and run sync again; nothing else was changed",
        )
    return proc.stderr


def uninstall(python: Path, names: Sequence[str]) -> None:
    proc = _run(["pip", "uninstall", "--python", str(python), *names])
    if proc.returncode != 0:
        raise UsageError(f"uv pip uninstall: {_last_error(proc.stderr)}")
