"""``comfylock resolve`` as a command: empty projects, Ctrl-C."""

from __future__ import annotations


def test_resolve_over_zero_workflows_says_so_and_exits_1(run_cli, tmp_path, monkeypatch):
    (tmp_path / "package.json").write_text('{"name": "not a workflow"}')
    monkeypatch.chdir(tmp_path)
    result = run_cli("resolve", "--offline")
    assert result.exit_code == 1, result
    assert "no workflows found" in result.stderr
    assert not (tmp_path / "comfy.lock").exists()


def test_ctrl_c_in_resolve_does_not_talk_about_downloads(run_cli, tmp_path, monkeypatch):
    import comfylock.resolve.job as job

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(job, "run_resolve", interrupted)
    monkeypatch.chdir(tmp_path)
    result = run_cli("resolve")
    assert result.exit_code == 130
    assert "comfy.lock was not changed" in result.stderr
    assert "partial downloads" not in result.stderr
