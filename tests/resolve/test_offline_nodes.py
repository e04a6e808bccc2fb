"""``resolve --offline`` never touches the network for node packs either (issue 16, attack
13): a ``[nodes]`` pin that names a repo but no commit needs ``git ls-remote``; offline it is
unresolved with the reason, and no connection is made."""

from __future__ import annotations

import json

import pytest

from tests.support.hostile import silent_host


@pytest.fixture
def offline_project(tmp_path, monkeypatch, node_table):
    node_table({"packs": {}})  # nothing known offline: only the [nodes] pin names a pack
    proj = tmp_path / "proj"
    (proj / "workflows").mkdir(parents=True)
    (proj / "workflows" / "w.json").write_text(
        json.dumps({"1": {"class_type": "SilentNode", "inputs": {}}})
    )
    monkeypatch.chdir(proj)
    return proj


@pytest.mark.parametrize(
    "pin", ["owner/ComfyUI-Silent", "http://127.0.0.1:{port}/o/ComfyUI-Silent"]
)
def test_a_nodes_pin_without_a_commit_is_unresolved_offline_without_a_connection(
    offline_project, run_cli, monkeypatch, pin
):
    with silent_host() as host:
        # Any https git would try goes to this "proxy" instead of the internet: it counts.
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{host.port}")
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{host.port}")
        monkeypatch.setenv("COMFYLOCK_STALL_SECONDS", "2")
        (offline_project / "comfylock.toml").write_text(
            f'[nodes]\nSilentNode = "{pin.format(port=host.port)}"\n'
        )
        result = run_cli("resolve", "--offline", "--allow-unresolved", "--json")
        assert host.accepted == [], "offline resolve reached for the network"
    assert result.exit_code == 0, result
    unresolved = {u["name"]: u["reason"] for u in json.loads(result.stdout)["unresolved"]}
    assert "offline" in unresolved["SilentNode"], unresolved
    assert "ComfyUI-Silent" in unresolved["SilentNode"]


def test_a_nodes_pin_to_a_local_repo_is_pinned_offline(offline_project, run_cli, tmp_path):
    """A local path is no network: offline resolves it as before."""
    from tests.support.syncutil import make_bare_repo

    bare, commits = make_bare_repo(tmp_path / "repos", "ComfyUI-Local")
    (offline_project / "comfylock.toml").write_text(f'[nodes]\nSilentNode = "{bare}"\n')
    result = run_cli("resolve", "--offline", "--json")
    assert result.exit_code == 0, result
    lock = (offline_project / "comfy.lock").read_text()
    assert commits[-1] in lock
