"""Finding the clashing packs by resolving one by one and in pairs (a fake resolver here;
the e2e tests use uv)."""

from __future__ import annotations

from comfylock.environment.conflicts import RequirementConflict, find_clashes
from comfylock.environment.requirements import PackRequirements, package_name
from comfylock.environment.uvtool import CompileResult


def _req(pack, *specs, source="requirements.txt"):
    return PackRequirements(pack=pack, source=source, specs=tuple(specs))


def _fake_compile(requirements, constraints, overrides):
    """Resolves iff no package is asked for both below and at/above 2."""
    by_name = {}
    for spec in [*requirements, *overrides]:
        by_name.setdefault(package_name(spec), set()).add(spec.split(package_name(spec))[-1])
    for name, specs in by_name.items():
        if any(f"{name}==" in o for o in overrides):
            continue
        if "<2" in specs and ">=2" in specs:
            return CompileResult(ok=False, unsolvable=True, message="no solution")
    return CompileResult(ok=True, text="")


def test_a_pair_that_fails_together_is_named_with_both_specs():
    core = [_req("comfyui", "torch")]
    packs = {
        "pack-a": [_req("pack-a", "shared<2", "alpha")],
        "pack-b": [_req("pack-b", "shared>=2", source="pyproject.toml")],
        "pack-c": [_req("pack-c", "gamma")],
    }
    (clash,) = find_clashes(core, packs, [], _fake_compile)
    assert (clash.first, clash.second) == ("pack-a", "pack-b")
    assert clash.first_specs == ("shared<2",)
    assert clash.second_specs == ("shared>=2",)
    message = str(RequirementConflict([clash], "linux-x86_64"))
    assert "node pack pack-a needs shared<2 but node pack pack-b needs shared>=2" in message
    assert '[python] overrides = {"shared" = "shared<2"}' in message
    assert RequirementConflict([clash], "t").exit_code == 1


def test_a_pack_that_cannot_live_with_comfyui_is_named_against_comfyui():
    core = [_req("comfyui", "shared>=2")]
    packs = {"pack-old": [_req("pack-old", "shared<2")], "pack-ok": [_req("pack-ok", "x")]}
    (clash,) = find_clashes(core, packs, [], _fake_compile)
    assert (clash.first, clash.second) == ("pack-old", "comfyui")
    assert "but ComfyUI needs shared>=2" in str(RequirementConflict([clash], "t"))


def test_an_override_settles_the_pair():
    packs = {"a": [_req("a", "shared<2")], "b": [_req("b", "shared>=2")]}
    assert find_clashes([], packs, ["shared==2.0"], _fake_compile) == []
