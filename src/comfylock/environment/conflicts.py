"""Which node packs clash, and over what: found by resolving, never by reading uv's message.

When the whole set does not resolve, each pack is resolved alone with ComfyUI's requirements
as constraints (a pack that fails alone cannot live with ComfyUI), then the packs that pass
alone in pairs (two that fail together disagree with each other). The specs shown are each
side's requirements on the packages both name; when the clash is deeper (through their
dependencies), the whole requirement lists are the honest answer. The fix is always the same
lever: an entry in ``comfylock.toml``'s ``[python] overrides``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import msgspec

from ..errors import FindingError
from .requirements import PackRequirements, package_name
from .uvtool import Compiler

__all__ = ["Clash", "RequirementConflict", "find_clashes"]

COMFYUI = "comfyui"


class Clash(msgspec.Struct, frozen=True, kw_only=True):
    """Two sides that cannot be installed together: pack ids (or ``comfyui``) and the
    specs each asks for on the packages they both name."""

    first: str
    second: str
    first_specs: tuple[str, ...]
    second_specs: tuple[str, ...]
    packages: tuple[str, ...] = ()  # the names both sides constrain


class RequirementConflict(FindingError):
    """Exit 1: the packs' Python requirements cannot all be installed."""

    def __init__(self, clashes: Sequence[Clash], target: str, detail: str = "") -> None:
        self.clashes = tuple(clashes)
        if not clashes:
            super().__init__(
                f"the Python requirements of ComfyUI and the node packs do not resolve for "
                f"target {target}: {detail}",
                hint="settle it with an entry in comfylock.toml's [python] overrides, "
                'e.g. overrides = {"numpy" = "numpy<2"}',
            )
            return
        first = clashes[0]
        more = f" (and {len(clashes) - 1} more clashes)" if len(clashes) > 1 else ""
        super().__init__(
            f"{_side(first.first)} needs {', '.join(first.first_specs)} but "
            f"{_side(first.second)} needs {', '.join(first.second_specs)} "
            f"(target {target}){more}",
            hint=f"settle it in comfylock.toml: [python] overrides = {{{_override(first)}}} "
            "(pick the spec both can live with), then run `comfylock resolve`",
        )


def _side(name: str) -> str:
    return "ComfyUI" if name == COMFYUI else f"node pack {name}"


def _override(clash: Clash) -> str:
    name = clash.packages[0] if clash.packages else "PACKAGE"
    spec = next((s for s in clash.first_specs if package_name(s) == name), f"{name}==VERSION")
    return f'"{name}" = "{spec}"'


def _lines(reqs: Sequence[PackRequirements]) -> list[str]:
    return sorted({s for r in reqs for s in r.specs})


def _on_common(a: list[str], b: list[str]) -> tuple[tuple[str, ...], tuple[str, ...], tuple]:
    names = sorted({package_name(s) for s in a} & {package_name(s) for s in b} - {None})
    if not names:
        return tuple(a), tuple(b), ()
    pick = lambda specs: tuple(s for s in specs if package_name(s) in names)  # noqa: E731
    return pick(a), pick(b), tuple(names)


def find_clashes(
    core: Sequence[PackRequirements],
    packs: dict[str, Sequence[PackRequirements]],
    overrides: Sequence[str],
    compile_fn: Compiler,
) -> list[Clash]:
    """The clashes among ComfyUI's requirements (constraints) and each pack's, one pack at a
    time and then in pairs; ``compile_fn`` resolves a set (uv, or a fake in tests)."""
    core_lines = _lines(core)
    clashes: list[Clash] = []
    alone_ok: list[str] = []
    for pack in sorted(packs):
        lines = _lines(packs[pack])
        if compile_fn([*core_lines, *lines], core_lines, overrides).ok:
            alone_ok.append(pack)
            continue
        mine, theirs, names = _on_common(lines, core_lines)
        clashes.append(
            Clash(first=pack, second=COMFYUI, first_specs=mine, second_specs=theirs, packages=names)
        )
    for a, b in combinations(alone_ok, 2):
        la, lb = _lines(packs[a]), _lines(packs[b])
        if compile_fn([*core_lines, *la, *lb], core_lines, overrides).ok:
            continue
        mine, theirs, names = _on_common(la, lb)
        clashes.append(
            Clash(first=a, second=b, first_specs=mine, second_specs=theirs, packages=names)
        )
    return clashes
