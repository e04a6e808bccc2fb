import json

import pytest

from comfylock import __version__
from tests.support.syncutil import paths_in
from tests.support.syncutil import vae_workflow as _vae_workflow


def test_version(run_cli):
    result = run_cli("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_unknown_option_is_usage_error(run_cli):
    result = run_cli("--no-such-flag")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_unknown_command_is_usage_error(run_cli):
    result = run_cli("frobnicate")
    assert result.exit_code == 2


def test_typo_root_exits_2_and_builds_nothing(world, run_cli, tmp_path):
    typo = tmp_path / "ComfyUl"
    wf = _vae_workflow(tmp_path / "wf" / "w.json")
    for cmd in (["sync"], ["status"], ["report", str(wf)], ["check"]):
        result = run_cli("--lock", str(world["lock"]), "--comfyui-root", str(typo), *cmd)
        assert result.exit_code == 2, (cmd, result)
        assert "does not exist" in result.stderr and "did you mean" in result.stderr
        assert str(world["root"]) in result.stderr, "the near-miss sibling is suggested"
    assert not typo.exists()
    assert paths_in(world["server"]) == []


def test_folder_that_is_not_comfyui_exits_2(world, run_cli, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    result = run_cli("--lock", str(world["lock"]), "sync", "--comfyui-root", str(docs))
    assert result.exit_code == 2, result
    assert "does not look like ComfyUI" in result.stderr
    assert list(docs.iterdir()) == []
    env = {"COMFYUI_ROOT": str(docs)}
    result = run_cli("--lock", str(world["lock"]), "status", env=env)
    assert result.exit_code == 2 and "COMFYUI_ROOT" in result.stderr, result


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_every_global_option_in_both_positions(world, run_cli, tmp_path, after):
    store = tmp_path / "other-store"
    opts = [
        "--lock",
        str(world["lock"]),
        "--comfyui-root",
        str(world["root"]),
        "--store",
        str(store),
        "--no-color",
        "-v",
    ]

    def run(cmd, *extra):
        args = [cmd, *opts, *extra] if after else [*opts, cmd, *extra]
        return run_cli(*args)

    status = run("status")
    assert status.exit_code == 0, status
    assert "fetch" in status.stdout
    as_json = run_cli(*(["status", *opts, "--json"] if after else ["--json", *opts, "status"]))
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)["empty"] is False
    quiet = run_cli(*(["status", *opts, "-q"] if after else ["-q", *opts, "status"]))
    assert quiet.exit_code == 0 and quiet.stdout == ""
    by_models = ["--lock", str(world["lock"]), "--models-dir", str(world["root"] / "models")]
    models = run_cli(*(["status", *by_models] if after else [*by_models, "status"]))
    assert models.exit_code == 0 and "fetch" in models.stdout, models
    version = run_cli(*(["status", "--version"] if after else ["--version", "status"]))
    assert version.exit_code == 0 and version.stdout.startswith("comfylock "), version
    synced = run("sync", "--no-aria2", "--no-nodes")
    assert synced.exit_code == 0, synced
    assert store.is_dir(), "--store was honoured in this position"
    check = run_cli("check", "-v", "--lock", str(world["lock"]))
    assert "No such option" not in check.stderr, check


def test_help_example_works(world, run_cli):
    result = run_cli("--help")
    assert "comfylock sync --comfyui-root DIR" in result.stdout
    synced = run_cli(
        "sync", "--comfyui-root", str(world["root"]), "--lock", str(world["lock"]), "--no-aria2"
    )
    assert synced.exit_code == 0, synced


def test_no_arguments_prints_the_help_not_an_error(run_cli):
    """A bare `comfylock` printed "error: usage: …" with the help's newlines escaped."""
    result = run_cli()
    assert result.exit_code == 0, result
    assert result.stderr == "" and "\\n" not in result.stdout
    assert "Typical loop:" in result.stdout and "\n  sync " in result.stdout


def test_command_typo_gets_did_you_mean(run_cli):
    result = run_cli("snyc")
    assert result.exit_code == 2
    assert "did you mean `comfylock sync`?" in result.output
