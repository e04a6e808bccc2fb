"""A newcomer's first week (issue 11): each numbered problem a new user met, as a CLI test.

Each test drives the real CLI (click's runner through ``cli._run``, or a subprocess where a
terminal-less stream matters) against loopback servers and temporary trees.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.syncutil import (
    Model,
    make_world,
    paths_in,
    payload,
    serve_world,
    url_source,
    write_lock,
)


@pytest.fixture
def world(tmp_path, server, monkeypatch):
    w = make_world(tmp_path, server, monkeypatch)
    serve_world(w)
    return w


def _vae_workflow(path: Path, name: str = "vae.safetensors") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"1": {"class_type": "VAELoader", "inputs": {"vae_name": name}}}))
    return path


def _url_lock(tmp_path: Path, server, folder: str, name: str, data: bytes, extra: str = ""):
    """A lock pinning one model served by ``server`` at /files/<name>."""
    from werkzeug import Response

    server.expect_request(f"/files/{name}").respond_with_handler(
        lambda r: Response(data, headers={"Content-Type": "application/octet-stream"})
    )
    model = Model(folder, name, data, [url_source(server.url_for(f"/files/{name}"))])
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    lock = write_lock(project / "comfy.lock", [model])
    if extra:
        lock.write_text(lock.read_text() + "\n" + extra)
    return lock, model


def _empty_model_list(tmp_path: Path, monkeypatch) -> None:
    """A known-models index that knows nothing (no request leaves the machine)."""
    model_list = tmp_path / "model-list.json"
    model_list.write_text('{"models": []}')
    monkeypatch.setenv("COMFYLOCK_MODEL_LIST_URL", str(model_list))


def _comfy(tmp_path: Path) -> Path:
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "custom_nodes").mkdir(exist_ok=True)
    return root


# --- 1. --comfyui-root must exist and look like ComfyUI -----------------------------------


def test_1_typo_root_exits_2_and_builds_nothing(world, run_cli, tmp_path):
    typo = tmp_path / "ComfyUl"
    wf = _vae_workflow(tmp_path / "wf" / "w.json")
    for cmd in (["sync"], ["status"], ["report", str(wf)], ["check"]):
        result = run_cli("--lock", str(world["lock"]), "--comfyui-root", str(typo), *cmd)
        assert result.exit_code == 2, (cmd, result)
        assert "does not exist" in result.stderr and "did you mean" in result.stderr
        assert str(world["root"]) in result.stderr, "the near-miss sibling is suggested"
    assert not typo.exists()
    assert paths_in(world["server"]) == []


def test_1_folder_that_is_not_comfyui_exits_2(world, run_cli, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    result = run_cli("--lock", str(world["lock"]), "sync", "--comfyui-root", str(docs))
    assert result.exit_code == 2, result
    assert "does not look like ComfyUI" in result.stderr
    assert list(docs.iterdir()) == []
    env = {"COMFYUI_ROOT": str(docs)}
    result = run_cli("--lock", str(world["lock"]), "status", env=env)
    assert result.exit_code == 2 and "COMFYUI_ROOT" in result.stderr, result


# --- 2. sync of a lock with unpinned references exits 1 -------------------------------------


def test_2_sync_installs_what_is_pinned_then_exits_1_for_the_rest(tmp_path, server, run_cli):
    unresolved = (
        '[[unresolved]]\nfolder = "loras"\nname = "mystery.safetensors"\n'
        'reason = "not found on Civitai by name"\n'
    )
    lock, model = _url_lock(tmp_path, server, "vae", "v.safetensors", payload(5, 4096), unresolved)
    root = _comfy(tmp_path)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync", "--no-aria2")
    assert result.exit_code == 1, result
    assert (root / "models" / "vae" / "v.safetensors").read_bytes() == model.data
    assert "1 reference is not pinned" in result.stderr
    assert "loras/mystery.safetensors" in result.stderr and "comfylock add" in result.stderr
    again = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert again.exit_code == 1 and "Already in sync" in again.stdout, again


# --- 3. global options before or after the command -----------------------------------------


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_3_every_global_option_in_both_positions(world, run_cli, tmp_path, after):
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


def test_3_help_example_works(world, run_cli):
    result = run_cli("--help")
    assert "comfylock sync --comfyui-root DIR" in result.stdout
    synced = run_cli(
        "sync", "--comfyui-root", str(world["root"]), "--lock", str(world["lock"]), "--no-aria2"
    )
    assert synced.exit_code == 0, synced


# --- 4. the lock is found in the nearest parent --------------------------------------------


def _no_model_workflow(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"1": {"class_type": "EmptyLatentImage", "inputs": {"width": 8}}}))


def test_4_from_a_subfolder_the_projects_lock_is_used(run_cli, tmp_path, monkeypatch):
    project = tmp_path / "proj"
    _no_model_workflow(project / "workflows" / "w.json")
    (project / "comfylock.toml").write_text('workflows = ["workflows/*.json"]\n')
    monkeypatch.chdir(project / "workflows")
    resolved = run_cli("resolve", "--offline")
    assert resolved.exit_code == 0, resolved
    assert (project / "comfy.lock").is_file(), "written beside comfylock.toml"
    assert not (project / "workflows" / "comfy.lock").exists(), "no second lock"
    check = run_cli("check")
    assert check.exit_code == 0, check
    assert "up to date" in check.stdout


# --- 9. models go to the folder's own directory ---------------------------------------------


def test_9_diffusion_models_go_to_their_own_dir(tmp_path, server, run_cli):
    lock, model = _url_lock(tmp_path, server, "diffusion_models", "flux.safetensors", b"x" * 64)
    root = _comfy(tmp_path)
    status = run_cli("--lock", str(lock), "--comfyui-root", str(root), "status")
    assert "link      diffusion_models/flux.safetensors" in status.stdout, status
    assert "unet/" not in status.stdout
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync", "--no-aria2")
    assert result.exit_code == 0, result
    assert (root / "models" / "diffusion_models" / "flux.safetensors").read_bytes() == model.data


def test_9_a_right_file_in_the_legacy_dir_counts_as_present(tmp_path, server, run_cli):
    lock, model = _url_lock(tmp_path, server, "diffusion_models", "flux.safetensors", b"y" * 64)
    root = _comfy(tmp_path)
    (root / "models" / "unet").mkdir()
    (root / "models" / "unet" / "flux.safetensors").write_bytes(model.data)
    status = run_cli("--lock", str(lock), "--comfyui-root", str(root), "status")
    assert "Already in sync: 1 model" in status.stdout, status


def test_9_is_default_in_extra_model_paths_wins(tmp_path, server, run_cli):
    lock, _ = _url_lock(tmp_path, server, "diffusion_models", "flux.safetensors", b"z" * 64)
    root = _comfy(tmp_path)
    big = tmp_path / "big-disk"
    (root / "extra_model_paths.yaml").write_text(
        f"big:\n  base_path: {big}\n  is_default: true\n  diffusion_models: dm\n"
    )
    status = run_cli("--lock", str(lock), "--comfyui-root", str(root), "status")
    assert str(big / "dm" / "flux.safetensors") in status.stdout, status


# --- 10. doctor, did-you-mean, git checked before downloading ------------------------------


def test_10_doctor_says_where_things_are_and_never_shows_a_token(world, run_cli):
    env = {"HF_TOKEN": "hf_SECRETVALUE123"}
    args = ("--lock", str(world["lock"]), "--comfyui-root", str(world["root"]))
    result = run_cli(*args, "doctor", env=env)
    assert "hf_SECRETVALUE123" not in result.output
    assert str(world["lock"]) in result.stdout and os.environ["COMFYLOCK_STORE"] in result.stdout
    assert "HF_TOKEN" in result.stdout and " set" in result.stdout
    data = json.loads(run_cli(*args, "doctor", "--json", env=env).stdout)
    names = {c["name"]: c for c in data["checks"]}
    assert {"lock", "comfyui root", "store", "aria2c", "git", "cache"} <= set(names)
    assert names["HF_TOKEN"]["detail"] == "set" and names["CIVITAI_API_KEY"]["detail"] == "not set"


def test_10_doctor_exits_1_with_the_fix_for_a_bad_root(run_cli, tmp_path):
    result = run_cli("--comfyui-root", str(tmp_path / "nope"), "doctor")
    assert result.exit_code == 1, result
    assert "!!  comfyui root" in result.stdout and "fix:" in result.stdout
    assert "!!  models" in result.stdout  # a models dir under a missing root is no "ok"
    data = json.loads(run_cli("doctor", "--json", "--comfyui-root", str(tmp_path)).stdout)
    root = next(c for c in data["checks"] if c["name"] == "comfyui root")
    assert root["ok"] is False and root["fix"]


def test_10_command_typo_gets_did_you_mean(run_cli):
    result = run_cli("snyc")
    assert result.exit_code == 2
    assert "Did you mean 'sync'?" in result.output


def test_10_missing_git_fails_before_any_download(world, run_cli, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run_cli(*world["args"], "sync", "--no-aria2", env={"PATH": str(empty)})
    assert result.exit_code == 2, result
    assert "git is not installed" in result.stderr and "--no-nodes" in result.stderr
    assert paths_in(world["server"]) == [], "no byte was downloaded"


# --- 5. progress readable on a terminal and in a CI log -------------------------------------


def test_5_ci_log_gets_plan_first_then_a_line_per_file_then_past_tense(world):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "comfylock", *world["args"], "sync", "--no-aria2", "--no-nodes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        timeout=120,
    )
    out = proc.stdout
    assert proc.returncode == 0, out
    assert "\r" not in out, "no carriage-return stream in a log"
    lines = out.splitlines()
    plan = next(i for i, line in enumerate(lines) if line.startswith("Plan: "))
    fetched = [i for i, line in enumerate(lines) if line.startswith("fetched ")]
    assert len(fetched) == 3 and plan < min(fetched), out
    assert lines[-1].startswith("Synced in ") and "fetched 3 models" in lines[-1], out
    assert "to fetch" not in lines[-1]
    assert "KiB" in out and " kB" not in out and " MB" not in out, "binary units only"


def test_5_terminal_rows_fit_80_columns():
    from rich.console import Console

    from comfylock.progress import RichProgress

    progress = RichProgress()
    progress._start()
    progress._progress.stop()
    update = progress.task("checkpoints/SDXL/juggernautXL_v9Rdphoto2Lightning.safetensors", 10**9)
    update(5 * 10**8)
    console = Console(width=80, file=io.StringIO(), force_terminal=True)
    table = progress._progress.make_tasks_table(progress._progress.tasks)
    lines = console.render_lines(table, console.options.update(width=80), pad=False)
    text = ["".join(seg.text for seg in line).rstrip() for line in lines]
    assert len(text) == 2, text  # one row per task: nothing wraps
    assert all(len(line) <= 80 for line in text), text
    assert any("476.8 MiB/953.7 MiB" in line for line in text), text


# --- 6. report uses the lock's pinned sources ---------------------------------------------


def test_6_report_script_downloads_what_the_lock_pins(tmp_path, server, run_cli):
    lock, model = _url_lock(tmp_path, server, "vae", "vae.safetensors", b"v" * 32)
    wf = _vae_workflow(tmp_path / "project" / "workflows" / "w.json")
    root = _comfy(tmp_path)
    args = ("--lock", str(lock), "--comfyui-root", str(root), "report")
    script = run_cli(*args, "--format", "script", str(wf))
    assert script.exit_code == 1, script
    assert server.url_for("/files/vae.safetensors") in script.stdout
    # the script queues it with the pinned sha256, which becomes aria2c's checksum option
    queued = [ln for ln in script.stdout.splitlines() if ln.startswith("queue ")]
    assert len(queued) == 1 and queued[0].endswith(f" - {model.sha256}"), script.stdout
    assert "checksum=sha-256=%s" in script.stdout
    assert "nothing to download" not in script.stdout
    data = json.loads(run_cli(*args, "--json", str(wf)).stdout)
    (missing,) = data["workflows"][0]["missing_models"]
    assert missing["sha256"] == model.sha256 and missing["url"].endswith("/files/vae.safetensors")


# --- 7. hints that name the command that fixes the problem ----------------------------------


def _offline_project(tmp_path: Path) -> Path:
    project = tmp_path / "hp"
    _vae_workflow(project / "workflows" / "w.json", "mystery.safetensors")
    return project


def test_7_offline_reasons_say_not_looked_up(run_cli, tmp_path, monkeypatch):
    project = _offline_project(tmp_path)
    monkeypatch.chdir(project)
    result = run_cli("resolve", "--offline", "--allow-unresolved", "--json")
    (unresolved,) = json.loads(result.stdout)["unresolved"]
    assert "not looked up (offline)" in unresolved["reason"], unresolved
    assert "not found on Civitai" not in unresolved["reason"]


def test_7_check_with_unresolved_names_add_not_resolve(run_cli, tmp_path, monkeypatch):
    project = _offline_project(tmp_path)
    monkeypatch.chdir(project)
    assert run_cli("resolve", "--offline", "--allow-unresolved").exit_code == 0
    check = run_cli("check")
    assert check.exit_code == 1, check
    assert "comfylock add SOURCE --folder F --name N" in check.stdout
    assert "run `comfylock resolve`" not in check.stdout, "resolve cannot fix these"


def test_7_strict_name_only_hint_does_not_say_sync(run_cli, tmp_path, monkeypatch):
    project = _offline_project(tmp_path)
    monkeypatch.chdir(project)
    assert run_cli("resolve", "--offline", "--allow-unresolved").exit_code == 0
    lock = project / "comfy.lock"
    text = lock.read_text().split("[[unresolved]]")[0]
    lock.write_text(
        text
        + '[[model]]\nfolder = "vae"\nname = "mystery.safetensors"\nsize = 3\n'
        + f'sha256 = "{"a" * 64}"\n\n[[model.source]]\ntype = "url"\nmatched-by = "name"\n'
        + 'url = "https://example.com/mystery.safetensors"\n'
    )
    assert run_cli("check").exit_code == 0
    strict = run_cli("check", "--strict")
    assert strict.exit_code == 1, strict
    assert "weak pin" in strict.stdout and "comfylock add" in strict.stdout
    assert "comfylock sync" not in strict.stdout


def test_7_wrong_sha256_says_expected_vs_got_with_one_hint(tmp_path, server, run_cli):
    lock, model = _url_lock(tmp_path, server, "vae", "v.safetensors", b"q" * 100)
    lock.write_text(lock.read_text().replace(model.sha256, "0" * 64))
    root = _comfy(tmp_path)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync", "--no-aria2")
    assert result.exit_code == 4, result
    assert f"expected sha256 {'0' * 16}… (comfy.lock), got {model.sha256[:16]}…" in result.stderr
    assert result.stderr.count("(hint:") == 1, result.stderr
    assert "comfylock resolve --upgrade" in result.stderr


# --- 8. add: same context as resolve, toml edited last, URLs, blame the argument ------------


def test_8_add_pins_one_while_others_wait_and_edits_toml_after_the_lock(
    run_cli, tmp_path, monkeypatch
):
    from tests.support.fakes import FakeCivitai, FakeHub, LoopbackServer

    project = tmp_path / "addp"
    _vae_workflow(project / "workflows" / "w.json", "mystery.safetensors")
    (project / "comfylock.toml").write_text("# keep me\n")
    _empty_model_list(tmp_path, monkeypatch)
    with LoopbackServer() as civ, LoopbackServer() as hub_srv, LoopbackServer() as cdn:
        FakeCivitai(civ)
        hub = FakeHub(hub_srv, cdn)
        hub.add_file("org/vae", "sdxl_vae.safetensors", commit="c" * 40, content="vae bytes")
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", civ.url_for("/").rstrip("/"))
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        monkeypatch.chdir(project / "workflows")  # a subfolder: the project is found above
        result = run_cli("add", "hf:org/vae/sdxl_vae.safetensors", "--folder", "vae")
    assert result.exit_code == 0, result
    toml = (project / "comfylock.toml").read_text()
    assert "# keep me" in toml and '"vae/sdxl_vae.safetensors"' in toml
    lock = (project / "comfy.lock").read_text()
    assert 'name = "sdxl_vae.safetensors"' in lock
    assert 'name = "mystery.safetensors"' in lock and "[[unresolved]]" in lock


def test_8_add_blames_the_argument(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "comfylock.toml").write_text("")
    result = run_cli("add", "foo:bar", "--folder", "loras")
    assert result.exit_code == 2, result
    assert "SOURCE 'foo:bar'" in result.stderr and "comfylock.toml" not in result.stderr
    bad = run_cli("add", "https://127.0.0.1/x.safetensors", "--folder", "loras", "--sha256", "zz")
    assert bad.exit_code == 2 and "--sha256" in bad.stderr, bad
    assert (tmp_path / "comfylock.toml").read_text() == ""


def test_8_add_url_needs_and_accepts_sha256(run_cli, tmp_path, server, monkeypatch):
    from werkzeug import Response

    data = b"url model bytes"
    server.expect_request("/m/up.pth").respond_with_handler(
        lambda r: Response(
            b"" if r.method == "HEAD" else data,
            headers={"Content-Length": str(len(data)), "Content-Type": "application/octet-stream"},
        )
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "comfylock.toml").write_text("")
    url = server.url_for("/m/up.pth")
    plain = run_cli("add", url, "--folder", "upscale_models")
    assert plain.exit_code == 1, plain
    assert "--sha256" in plain.stderr and "--fetch" in plain.stderr
    assert "resolve --fetch" not in plain.stderr
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    pinned = run_cli("add", url, "--folder", "upscale_models", "--sha256", sha)
    assert pinned.exit_code == 0, pinned
    assert sha in (tmp_path / "comfy.lock").read_text()


# --- 11. directory walks skip what is not a workflow ---------------------------------------


def test_11_walk_skips_non_workflows_and_explicit_files_still_fail(run_cli, tmp_path):
    repo = tmp_path / "repo"
    _vae_workflow(repo / "flows" / "w.json")
    (repo / "photo.png").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64)
    (repo / "tsconfig.json").write_text('{\n  // comment\n  "compilerOptions": {}\n}\n')
    (repo / "empty.json").write_text("")
    result = run_cli("inspect", str(repo), "--json")
    assert result.exit_code == 0, result
    skipped = {Path(s["path"]).name: s["reason"] for s in json.loads(result.stdout)["skipped"]}
    assert set(skipped) == {"photo.png", "tsconfig.json", "empty.json"}, skipped
    assert all(skipped.values())
    for name in ("photo.png", "tsconfig.json", "empty.json"):
        assert run_cli("inspect", str(repo / name)).exit_code == 2, name


def test_11_resolve_over_zero_workflows_says_so_and_exits_1(run_cli, tmp_path, monkeypatch):
    (tmp_path / "package.json").write_text('{"name": "not a workflow"}')
    monkeypatch.chdir(tmp_path)
    result = run_cli("resolve", "--offline")
    assert result.exit_code == 1, result
    assert "no workflows found" in result.stderr
    assert not (tmp_path / "comfy.lock").exists()


# --- 12. the smaller things ----------------------------------------------------------------


def test_12_scan_table_does_not_wrap_when_piped(run_cli, tmp_path):
    root = _comfy(tmp_path)
    long_name = "a_really_long_model_name_that_would_wrap_at_eighty_columns_v2.safetensors"
    (root / "models" / "loras").mkdir()
    (root / "models" / "loras" / long_name).write_bytes(b"lora")
    result = run_cli("--comfyui-root", str(root), "scan")
    assert result.exit_code == 0, result
    assert any(long_name in line for line in result.stdout.splitlines()), result.stdout


def test_12_json_is_indented_and_offered_where_output_is_data(world, run_cli):
    status = run_cli(*world["args"], "status", "--json")
    assert status.stdout.startswith("{\n  "), status.stdout[:40]
    cleared = run_cli("cache", "clear", "--json")
    assert cleared.exit_code == 0 and json.loads(cleared.stdout) == {"removed": 0}


def test_12_ctrl_c_in_resolve_does_not_talk_about_downloads(run_cli, tmp_path, monkeypatch):
    import comfylock.resolve.job as job

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(job, "run_resolve", interrupted)
    monkeypatch.chdir(tmp_path)
    result = run_cli("resolve")
    assert result.exit_code == 130
    assert "comfy.lock was not changed" in result.stderr
    assert "partial downloads" not in result.stderr


# --- suggestions for what cannot be pinned ---------------------------------------------------


def test_suggestions_for_unresolved_then_add_takes_one(run_cli, tmp_path, monkeypatch):
    import hashlib

    from tests.support.fakes import FakeCivitai, LoopbackServer, civitai_file, civitai_model

    data = b"detail tweaker xl bytes"
    project = tmp_path / "sugg"
    wf = project / "workflows" / "w.json"
    wf.parent.mkdir(parents=True)
    wf.write_text(
        json.dumps(
            {
                "1": {
                    "class_type": "LoraLoader",
                    "inputs": {"lora_name": "detail_tweaker.safetensors", "strength_model": 1},
                }
            }
        )
    )
    root = _comfy(tmp_path)
    (root / "models" / "checkpoints").mkdir()
    (root / "models" / "checkpoints" / "detail_tweaker.safetensors").write_bytes(b"misplaced")
    _empty_model_list(tmp_path, monkeypatch)
    sha = hashlib.sha256(data).hexdigest()
    with LoopbackServer() as civ:
        civitai = FakeCivitai(civ)
        civitai.add(
            civitai_model(
                555,
                "Detail Tweaker XL",
                "LORA",
                [
                    (
                        777,
                        "v1",
                        [
                            civitai_file(
                                888,
                                "detail_tweaker_xl.safetensors",
                                size=len(data),
                                sha256=sha,
                                primary=True,
                            )
                        ],
                    )
                ],
            )
        )
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", civitai.base_url)
        monkeypatch.chdir(project)
        result = run_cli("--comfyui-root", str(root), "resolve")
        assert result.exit_code == 1, result
        assert not (project / "comfy.lock").exists(), "a suggestion is never pinned by itself"
        command = "comfylock add civitai:555@777 --folder loras --name detail_tweaker.safetensors"
        assert command in result.stdout, result.stdout
        assert "checkpoints/detail_tweaker.safetensors on this machine" in result.stdout
        data_json = json.loads(run_cli("--comfyui-root", str(root), "resolve", "--json").stdout)
        (u,) = data_json["unresolved"]
        kinds = [s["kind"] for s in u["suggestions"]]
        assert kinds == ["local", "civitai"], u
        assert u["suggestions"][1]["command"] == command
        added = run_cli("--comfyui-root", str(root), *command.split()[1:])
        assert added.exit_code == 0, added
    lock = (project / "comfy.lock").read_text()
    assert sha in lock and "[[unresolved]]" not in lock


def test_report_suggests_a_local_copy_under_another_folder(run_cli, tmp_path):
    root = _comfy(tmp_path)
    (root / "models" / "checkpoints").mkdir()
    (root / "models" / "checkpoints" / "vae.safetensors").write_bytes(b"in the wrong folder")
    wf = _vae_workflow(tmp_path / "wf" / "w.json")
    result = run_cli("--comfyui-root", str(root), "report", "--json", str(wf))
    (missing,) = json.loads(result.stdout)["workflows"][0]["missing_models"]
    (s,) = missing["suggestions"]
    assert s["kind"] == "local" and "checkpoints/vae.safetensors" in s["detail"], s
    md = run_cli("--comfyui-root", str(root), "report", str(wf))
    assert "checkpoints/vae.safetensors on this machine" in md.stdout


def test_suggestions_include_hf_files_in_repos_the_lock_uses(run_cli, tmp_path, monkeypatch):
    from tests.support.fakes import FakeCivitai, FakeHub, LoopbackServer

    commit = "d" * 40
    project = tmp_path / "hfs"
    hf_url = "https://huggingface.co/org/vae/resolve/main/sdxl_vae.safetensors"
    (project / "workflows").mkdir(parents=True)
    (project / "workflows" / "a.json").write_text(
        json.dumps(
            {
                "nodes": [
                    {
                        "id": 1,
                        "type": "VAELoader",
                        "widgets_values": ["sdxl_vae.safetensors"],
                        "properties": {
                            "models": [
                                {"name": "sdxl_vae.safetensors", "directory": "vae", "url": hf_url}
                            ]
                        },
                    }
                ],
                "links": [],
            }
        )
    )
    _vae_workflow(project / "workflows" / "b.json", "sdxl_vae_fp16.safetensors")
    _empty_model_list(tmp_path, monkeypatch)
    with LoopbackServer() as civ, LoopbackServer() as hub_srv, LoopbackServer() as cdn:
        FakeCivitai(civ)
        hub = FakeHub(hub_srv, cdn)
        hub.add_file("org/vae", "sdxl_vae.safetensors", commit=commit, content="vae")
        hub.add_file("org/vae", "fp16/sdxl_vae_fp16.safetensors", commit=commit, content="vae16")
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", civ.url_for("/").rstrip("/"))
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        monkeypatch.chdir(project)
        result = run_cli("resolve", "--json")
    assert result.exit_code == 1, result
    (u,) = json.loads(result.stdout)["unresolved"]
    hf = [s for s in u["suggestions"] if s["kind"] == "huggingface"]
    assert hf and hf[0]["command"] == (
        f"comfylock add hf:org/vae@{commit}/fp16/sdxl_vae_fp16.safetensors "
        "--folder vae --name sdxl_vae_fp16.safetensors"
    ), u["suggestions"]


def test_5_plain_progress_counts_from_the_plan_and_prints_a_periodic_total():
    from comfylock.progress import PlainProgress

    now = [0.0]
    out = io.StringIO()
    progress = PlainProgress(out, every=10.0, clock=lambda: now[0])
    progress.expect(3, 3 * 2**20)
    update = progress.task("loras/a.safetensors", 2**20)
    now[0] = 11.0
    update(2**19)
    now[0] = 12.0
    progress.finished("loras/a.safetensors", 2**20)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  512.0 KiB of 3.0 MiB (16%), 46.5 KiB/s, 0 of 3 files done", lines
    assert lines[1].startswith("fetched loras/a.safetensors (1.0 MiB, ") and lines[1].endswith(
        "[1/3]"
    ), lines


def test_8_without_a_comfyui_root_resolve_and_add_say_local_files_were_not_used(
    run_cli, tmp_path, monkeypatch
):
    project = _offline_project(tmp_path)
    monkeypatch.chdir(project)
    bare = run_cli("resolve", "--offline")
    assert bare.exit_code == 1, bare
    assert "note: no --comfyui-root" in bare.stdout
    root = _comfy(tmp_path)
    rooted = run_cli("resolve", "--offline", "--comfyui-root", str(root))
    assert "note: no --comfyui-root" not in rooted.stdout, rooted
