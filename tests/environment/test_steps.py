"""The environment's plan entries (pure): core, venv, packages, the torch stack held."""

from __future__ import annotations

from comfylock.environment.steps import (
    CoreCheckout,
    CoreClone,
    CoreState,
    PyPackage,
    PythonState,
    is_torch_stack,
    make_env_plan,
)
from comfylock.lock.structs import LockedComfyUI

COMFY = LockedComfyUI(commit="a" * 40, version="0.3.40", matched_by="local")


def _py(installed, wanted, **kw):
    return PythonState(
        python="/r/.venv/bin/python",
        via="<root>/.venv",
        version="3.11",
        installed=installed,
        target="linux-x86_64",
        file="pylock.linux-x86_64.toml",
        wanted=tuple(PyPackage(name=n, version=v) for n, v in wanted.items()),
        **kw,
    )


def test_core_states_become_entries_conflicts_and_findings():
    behind = make_env_plan(COMFY, None, CoreState(path="/r", status="behind", head="b" * 40), None)
    assert isinstance(behind.core, CoreCheckout) and behind.core.reason == "at bbbbbbbbbbbb"
    empty = make_env_plan(COMFY, None, CoreState(path="/r", status="empty"), None)
    assert isinstance(empty.core, CoreClone)
    dirty = make_env_plan(
        COMFY, None, CoreState(path="/r", status="dirty", dirty=("nodes.py",)), None
    )
    assert dirty.core is None and "nodes.py" in dirty.conflicts[0][1] and not dirty.is_empty
    not_git = make_env_plan(COMFY, None, CoreState(path="/r", status="not-git"), None)
    assert not_git.core is None and "not a git checkout" in not_git.findings[0]
    ok = make_env_plan(COMFY, None, CoreState(path="/r", status="ok", head="a" * 40), None)
    assert ok.is_empty and ok.core_in_sync == "0.3.40 at aaaaaaaaaaaa"


def test_packages_add_change_and_only_exact_removes():
    installed = {"numpy": "1.26.4", "pillow": "10.0.0", "extra": "1.0"}
    wanted = {"numpy": "2.1.0", "pillow": "10.0.0", "tqdm": "4.66.0"}
    plan = make_env_plan(None, "3.11", None, _py(installed, wanted)).python
    assert [(p.name, p.current, p.version) for p in plan.change] == [("numpy", "1.26.4", "2.1.0")]
    assert [p.name for p in plan.add] == ["tqdm"] and plan.remove == ()
    exact = make_env_plan(None, "3.11", None, _py(installed, wanted), exact=True).python
    assert [p.name for p in exact.remove] == ["extra"]


def test_the_torch_stack_is_held_unless_torch():
    installed = {"torch": "2.7.0+cu128", "nvidia-cublas-cu12": "12.8.3", "triton": "3.3.0"}
    wanted = {"torch": "2.7.1", "nvidia-cublas-cu12": "12.8.4", "xformers": "0.0.30"}
    held = make_env_plan(None, "3.11", None, _py(installed, wanted), exact=True).python
    assert held.add == () and held.change == () and held.remove == ()
    assert held.held == ("nvidia-cublas-cu12", "torch", "triton", "xformers")
    moved = make_env_plan(None, "3.11", None, _py(installed, wanted), torch=True).python
    assert {p.name for p in moved.change} == {"torch", "nvidia-cublas-cu12"}
    assert [p.name for p in moved.add] == ["xformers"]
    assert is_torch_stack("cuda-python") and is_torch_stack("Torch_Audio".replace("_", ""))
    assert not is_torch_stack("torchsde")


def test_interpreter_problems_are_findings_not_installs():
    wrong = make_env_plan(None, "3.12", None, _py({}, {"x": "1"}))
    assert wrong.python is None and "Python 3.11, the lock is for 3.12" in wrong.findings[0]
    none = make_env_plan(None, "3.11", None, PythonState(python=None))
    assert "--python PATH" in none.findings[0]
    portable = make_env_plan(None, "3.11", None, PythonState(python="p.exe", portable=True))
    assert "python_embeded" in portable.findings[0] and portable.python is None
