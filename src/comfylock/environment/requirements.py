"""A node pack's Python requirements, through the line policy (SPEC §9). Pure: text in,
requirements out.

A ``requirements.txt`` is a pip file, and pip files can do more than name requirements. A
line that would make the install depend on something outside the pack's pinned commit, or
run what the lock cannot pin, is refused with the pack named:

* ``-e`` / ``--editable`` (a checkout installed in place);
* ``-r`` naming a file outside the pack (a file inside it is read at the same commit), and
  ``-c`` constraint files;
* ``--find-links`` / ``-f`` (a directory or page of files, not an index);
* ``file:`` URLs and local paths (``./wheels/x.whl``, ``.``);
* ``git+`` URLs without a 40-hex commit (a branch or tag moves).

``--extra-index-url`` (and ``--index-url``/``-i``) lines are lifted into the target's
recorded indexes; ``--hash`` options, ``--pre``, ``--prefer-binary``, ``--only-binary``,
``--no-binary`` and ``--trusted-host`` are dropped (uv pins and hashes everything itself).
``[project] dependencies`` of a ``pyproject.toml`` are taken as they are, through the same
checks.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

import msgspec

from ..errors import InputError

__all__ = [
    "PackRequirements",
    "RefusedRequirement",
    "package_name",
    "parse_pyproject",
    "parse_requirements",
]

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_DROPPED = ("--pre", "--prefer-binary", "--only-binary", "--no-binary", "--trusted-host")
_INDEX = ("--extra-index-url", "--index-url", "-i")
_COMMIT = re.compile(r"@[0-9a-f]{40}(#|$)")


class RefusedRequirement(InputError):
    """A requirement line comfylock will not lock; names the pack, the file and the line."""


class PackRequirements(msgspec.Struct, frozen=True, kw_only=True):
    """What one file of one pack asks for: requirement specs and lifted index URLs."""

    pack: str
    source: str  # "requirements.txt" | "pyproject.toml"
    specs: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()


def package_name(spec: str) -> str | None:
    """The normalised project name of a requirement (PEP 503 form), or None."""
    match = _NAME.match(spec)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def _logical_lines(text: str) -> list[str]:
    """Lines with comments removed and ``\\`` continuations joined."""
    out, pending = [], ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append(line)
    if pending.strip():
        out.append(pending.strip())
    return out


def _refuse(pack: str, source: str, line: str, why: str) -> RefusedRequirement:
    return RefusedRequirement(
        f"node pack {pack}: {source} line {line!r} {why}",
        hint="comfylock locks only requirements from an index or pinned to a commit; install "
        f"that one yourself, pin another commit of {pack}, or ask its authors to publish it",
    )


def _check_spec(spec: str, pack: str, source: str) -> str:
    """The spec as written, after the checks every requirement passes."""
    lower = spec.lower()
    if "file:" in lower or spec.startswith((".", "/", "~")) or re.match(r"^[A-Za-z]:\\", spec):
        raise _refuse(pack, source, spec, "names a local file, not a package")
    if "git+" in lower and not _COMMIT.search(spec.split(";")[0].strip()):
        raise _refuse(pack, source, spec, "is a git URL without a 40-hex commit (a branch moves)")
    if package_name(spec) is None:
        raise _refuse(pack, source, spec, "is not a requirement")
    return " ".join(spec.split())


def _strip_hashes(line: str) -> str:
    return re.sub(r"\s--hash[= ]\S+", "", line).strip()


def parse_requirements(
    text: str,
    pack: str,
    *,
    source: str = "requirements.txt",
    read: Callable[[str], str | None] | None = None,
    _seen: tuple[str, ...] = (),
) -> PackRequirements:
    """``requirements.txt`` text of ``pack`` → its requirements. ``read(path)`` returns
    another file of the pack at the same commit (for ``-r``), or None if it has none."""
    specs: list[str] = []
    indexes: list[str] = []
    for line in _logical_lines(text):
        option, _, value = line.partition(" ")
        if "=" in option and option.startswith("--"):
            option, value = option.split("=", 1)
        value = value.strip()
        if option in ("-e", "--editable"):
            raise _refuse(pack, source, line, "is an editable install")
        if option in ("-f", "--find-links"):
            raise _refuse(pack, source, line, "points at files outside any index")
        if option in _INDEX:
            indexes.append(value)
        elif option in ("-r", "--requirement"):
            specs += _included(value, pack, source, line, read, _seen)
        elif option in ("-c", "--constraint"):
            raise _refuse(pack, source, line, "is a constraints file (only requirements lock)")
        elif option in _DROPPED or option == "--no-index":
            continue
        elif line.startswith("-"):
            raise _refuse(pack, source, line, "is an option comfylock does not know")
        else:
            specs.append(_check_spec(_strip_hashes(line), pack, source))
    return PackRequirements(
        pack=pack, source=source, specs=tuple(sorted(set(specs))), indexes=tuple(indexes)
    )


def _included(value: str, pack: str, source: str, line: str, read, seen) -> list[str]:
    path = posixpath.normpath(posixpath.join(posixpath.dirname(source), value))
    if value.startswith(("/", "~")) or path.startswith("..") or "://" in value or read is None:
        raise _refuse(pack, source, line, "includes a file outside the pack")
    if path in seen:
        return []
    text = read(path)
    if text is None:
        raise _refuse(pack, source, line, "includes a file the pack does not have")
    inner = parse_requirements(text, pack, source=path, read=read, _seen=(*seen, source))
    return list(inner.specs)


def parse_pyproject(text: str, pack: str) -> PackRequirements | None:
    """``[project] dependencies`` of a pack's ``pyproject.toml``, or None when it declares
    none (many packs ship a pyproject.toml only for the registry's metadata)."""
    from ..basics.fileio import parse_toml

    try:
        data = parse_toml(text, source=f"{pack}: pyproject.toml")
    except InputError as exc:
        raise RefusedRequirement(exc.message, hint="pin another commit of the pack") from None
    project = data.get("project")
    deps = project.get("dependencies") if isinstance(project, dict) else None
    if not deps:
        return None
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise _refuse(pack, "pyproject.toml", str(deps)[:80], "is not a list of requirements")
    specs = [_check_spec(d.strip(), pack, "pyproject.toml") for d in deps if d.strip()]
    return PackRequirements(pack=pack, source="pyproject.toml", specs=tuple(sorted(set(specs))))
