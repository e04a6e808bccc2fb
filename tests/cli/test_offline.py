"""Offline answers use everything known offline, under the names ``inspect`` prints, and
an unpinned lock is named for what it is (issue 19, items 1-3)."""

from __future__ import annotations

import json

import pytest

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A workflow of custom nodes the shipped table knows (one ambiguous-free class per pack),
    one class nobody knows, and one node carrying its own cnr_id and a commit ver."""
    (tmp_path / "workflows").mkdir()
    nodes = {
        "1": {"class_type": "IPAdapterBatch", "inputs": {}},
        "2": {"class_type": "WanVideoSampler", "inputs": {}},
    }
    (tmp_path / "workflows" / "w.json").write_text(json.dumps(nodes))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMFYLOCK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _inspect_packs(run_cli) -> dict[str, str]:
    out = json.loads(run_cli("inspect", "--json", "workflows").stdout)
    return {n["class_type"]: n["packs"][0] for w in out["workflows"] for n in w["nodes"]}


def test_offline_resolve_names_the_pack_inspect_names(run_cli, project):
    packs = _inspect_packs(run_cli)
    assert packs == {
        "IPAdapterBatch": "comfyui_ipadapter_plus",
        "WanVideoSampler": "comfyui-wanvideowrapper",
    }
    result = run_cli("resolve", "--offline")
    assert result.exit_code == 1, result
    for cls, pack in packs.items():
        assert (
            f"node class {cls}: provided by {pack}; its commit was not looked up (offline)"
            in result.stdout
        )
    assert "no pack found" not in result.output
    assert "custom_nodes/" not in result.output, "a node class is not a file"
    assert "fix: run `comfylock resolve` with the network" in result.stdout
    assert "comfylock add" not in result.stdout, "add cannot pin node packs"


def test_a_nodes_pin_with_the_id_inspect_printed_is_accepted_offline(run_cli, project):
    (project / "comfylock.toml").write_text(
        '[nodes]\n"IPAdapterBatch" = "comfyui_ipadapter_plus"\n'
    )
    result = run_cli("resolve", "--offline")
    assert "matches no pack" not in result.output, result.output
    assert (
        result.exit_code == 1
        and "IPAdapterBatch: provided by comfyui_ipadapter_plus" in result.stdout
    )


def test_cnr_id_and_a_commit_ver_pin_offline(run_cli, project):
    ui = {
        "nodes": [
            {
                "id": 1,
                "type": "WanVideoSampler",
                "properties": {"cnr_id": "comfyui-wanvideowrapper", "ver": COMMIT},
                "widgets_values": [],
            }
        ],
        "links": [],
    }
    (project / "workflows" / "w.json").write_text(json.dumps(ui))
    result = run_cli("resolve", "--offline")
    assert result.exit_code == 0, result
    lock = (project / "comfy.lock").read_text()
    assert 'id = "comfyui-wanvideowrapper"' in lock and COMMIT in lock


def test_the_lock_pins_a_pack_offline_for_a_new_class_of_it(run_cli, project):
    ui = {"1": {"class_type": "WanVideoSampler", "inputs": {}}}
    (project / "workflows" / "w.json").write_text(json.dumps(ui))
    (project / "comfy.lock").write_text(
        "version = 1\n\n[[node]]\n"
        'id = "comfyui-wanvideowrapper"\n'
        'repo = "https://github.com/kijai/ComfyUI-WanVideoWrapper"\n'
        f'commit = "{COMMIT}"\nclasses = ["WanVideoDecode"]\n'
    )
    result = run_cli("resolve", "--offline")
    assert result.exit_code == 0, result
    assert COMMIT in (project / "comfy.lock").read_text()


def test_after_an_offline_resolve_every_command_names_the_state_and_the_fix(run_cli, project):
    assert run_cli("resolve", "--offline", "--allow-unresolved").exit_code == 0
    root = project / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    want = "run `comfylock resolve"  # (with this run's --comfyui-root) with the network
    for args in (["check"], ["doctor"], ["status"], ["sync"]):
        result = run_cli(*args, "--comfyui-root", str(root))
        assert result.exit_code == 1, (args, result.output)
        assert want in result.output and "with the network" in result.output, (args, result.output)
        assert "resolve cannot find" not in result.output
        assert "comfylock add" not in result.output, (args, "add pins models only")
        assert "stale" not in result.output, (args, "incomplete is not stale")
        assert "Already in sync" not in result.output, (args, "nothing is in sync")
        assert "2 node classes" in result.output, (args, result.output)
