"""`comfylock resolve` and `check` end to end against loopback fakes of Civitai, the hub and
the registry (the real APIs' shapes, see tests/support/fakes.py), through the normal HTTP client
configured by the environment variables of SPEC §6."""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.support.fakes import (
    FakeCivitai,
    FakeHub,
    FakeRegistry,
    LoopbackServer,
    civitai_file,
    civitai_model,
)

TOKEN = "civitai-SECRET-token-123"
HF_COMMIT = "0123456789abcdef0123456789abcdef01234567"
BASE = b"checkpoint bytes of base.safetensors"
DETAIL_SHA = hashlib.sha256(b"detail lora").hexdigest()


def _git(*args, cwd):
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "HOME": str(cwd),
            "PATH": "/usr/bin:/bin",
        },
    ).stdout.strip()


def make_pack_repo(root: Path) -> tuple[Path, str]:
    work = root / "pack-src"
    work.mkdir()
    _git("init", "-q", "-b", "main", cwd=work)
    (work / "__init__.py").write_text('NODE_CLASS_MAPPINGS = {"FancySampler": object}\n')
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", "v1", cwd=work)
    _git("tag", "v1.0.0", cwd=work)
    commit = _git("rev-parse", "HEAD", cwd=work)
    bare = root / "fancy-pack.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
    return bare, commit


def workflow(lora="detail.safetensors") -> dict:
    hf_url = "https://huggingface.co/org/vae-repo/resolve/main/ae.safetensors?download=true"
    return {
        "nodes": [
            {
                "id": 1,
                "type": "CheckpointLoaderSimple",
                "mode": 0,
                "widgets_values": ["base.safetensors"],
            },
            {"id": 2, "type": "LoraLoader", "mode": 0, "widgets_values": [lora, 1.0, 1.0]},
            {
                "id": 3,
                "type": "VAELoader",
                "mode": 0,
                "widgets_values": ["ae.safetensors"],
                "properties": {
                    "models": [{"name": "ae.safetensors", "directory": "vae", "url": hf_url}]
                },
            },
            {
                "id": 4,
                "type": "FancySampler",
                "mode": 0,
                "widgets_values": [],
                "properties": {"cnr_id": "fancy-pack", "ver": "1.0.0"},
            },
        ],
        "links": [],
        "version": 0.4,
    }


@contextlib.contextmanager
def fake_world(pack_repo: Path):
    """Civitai + hub (+ its CDN) + registry, each on its own loopback server."""
    with (
        LoopbackServer() as civ_srv,
        LoopbackServer() as hub_srv,
        LoopbackServer() as cdn_srv,
        LoopbackServer() as reg_srv,
    ):
        civitai = FakeCivitai(civ_srv)
        civitai.add(
            civitai_model(
                101,
                "Base Model",
                "Checkpoint",
                [
                    (
                        201,
                        "v1",
                        [
                            civitai_file(
                                301,
                                "base.safetensors",
                                size=len(BASE),
                                sha256=hashlib.sha256(BASE).hexdigest(),
                                primary=True,
                            )
                        ],
                    )
                ],
            )
        )
        civitai.add(
            civitai_model(
                102,
                "Detail Tweaker",
                "LORA",
                [
                    (
                        202,
                        "v2",
                        [
                            civitai_file(
                                302,
                                "detail.safetensors",
                                size=2048,
                                sha256=DETAIL_SHA,
                                primary=True,
                            ),
                            civitai_file(
                                303,
                                "detail_training_data.zip",
                                size=4096,
                                sha256=None,
                                type="Training Data",
                            ),
                        ],
                    )
                ],
            )
        )
        hub = FakeHub(hub_srv, cdn_srv)
        hub.add_file("org/vae-repo", "ae.safetensors", commit=HF_COMMIT, content="vae weights")
        registry = FakeRegistry(reg_srv)
        registry.add_node("fancy-pack", str(pack_repo), "1.0.0", ["FancySampler"])
        env = {
            "COMFYLOCK_CIVITAI_URL": civitai.base_url,
            "HF_ENDPOINT": hub.base_url,
            "COMFYLOCK_REGISTRY_URL": registry.base_url,
        }
        yield env, {"civitai": civ_srv, "hub": hub_srv, "cdn": cdn_srv, "registry": reg_srv}


@pytest.fixture
def project(tmp_path):
    proj = tmp_path / "proj"
    (proj / "workflows").mkdir(parents=True)
    (proj / "workflows" / "portrait.json").write_text(json.dumps(workflow()))
    root = tmp_path / "ComfyUI"
    (root / "models" / "checkpoints").mkdir(parents=True)
    (root / "models" / "checkpoints" / "base.safetensors").write_bytes(BASE)
    pack_repo, commit = make_pack_repo(tmp_path)
    return proj, root, pack_repo, commit


def resolve_in(run_cli, monkeypatch, proj, root, env, *extra):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(proj)
    return run_cli("--comfyui-root", str(root), "resolve", *extra)


def test_resolve_pins_every_kind_of_reference(run_cli, monkeypatch, project):
    proj, root, pack_repo, commit = project
    with fake_world(pack_repo) as (env, servers):
        result = resolve_in(run_cli, monkeypatch, proj, root, env)
        assert result.exit_code == 0, result
        assert not any(servers["cdn"].log), "the hub's CDN redirect must not be followed"
    lock = (proj / "comfy.lock").read_text()
    import tomllib

    data = tomllib.loads(lock)
    models = {f"{m['folder']}/{m['name']}": m for m in data["model"]}
    base = models["checkpoints/base.safetensors"]
    assert base["sha256"] == hashlib.sha256(BASE).hexdigest() and base["size"] == len(BASE)
    assert base["source"][0] == {
        "type": "civitai",
        "matched-by": "hash",
        "model-id": 101,
        "version-id": 201,
        "file-id": 301,
        "url": "https://civitai.com/api/download/models/201",
    }
    assert base["blake3"], "a local file contributes its blake3"
    lora = models["loras/detail.safetensors"]
    assert (
        lora["sha256"] == DETAIL_SHA
        and lora["size"] == 2048
        and lora["source"][0]["matched-by"] == "name"
    )
    vae = models["vae/ae.safetensors"]
    assert vae["source"] == [
        {
            "type": "huggingface",
            "matched-by": "url",
            "repo": "org/vae-repo",
            "revision": HF_COMMIT,
            "path": "ae.safetensors",
        }
    ]
    assert vae["sha256"] == hashlib.sha256(b"vae weights").hexdigest() and vae["size"] == len(
        b"vae weights"
    )
    (node,) = data["node"]
    assert (
        node["id"] == "fancy-pack"
        and node["commit"] == commit
        and node["classes"] == ["FancySampler"]
    )
    assert data["workflow"][0]["path"] == "workflows/portrait.json" and data["workflow"][0][
        "nodes"
    ] == ["fancy-pack"]
    assert lock.startswith("# @generated by comfylock")
    assert "127.0.0.1" not in lock and str(proj) not in lock, (
        "no hosts from the environment, no absolute paths"
    )


def test_lock_is_byte_identical_across_runs_dirs_and_mirrors(
    run_cli, monkeypatch, project, tmp_path
):
    proj, root, pack_repo, _ = project
    with fake_world(pack_repo) as (env, _servers):
        assert resolve_in(run_cli, monkeypatch, proj, root, env).exit_code == 0
        first = (proj / "comfy.lock").read_bytes()
        assert resolve_in(run_cli, monkeypatch, proj, root, env, "--upgrade").exit_code == 0
        assert (proj / "comfy.lock").read_bytes() == first
    other = tmp_path / "elsewhere" / "proj"
    other.mkdir(parents=True)
    (other / "workflows").mkdir()
    (other / "workflows" / "portrait.json").write_text(json.dumps(workflow()))
    with fake_world(pack_repo) as (mirror_env, _servers):  # new ports: a different mirror
        assert mirror_env != env
        monkeypatch.setenv("COMFYLOCK_CACHE_DIR", str(tmp_path / "fresh-cache"))
        assert resolve_in(run_cli, monkeypatch, other, root, mirror_env).exit_code == 0
    assert (other / "comfy.lock").read_bytes() == first


def test_check_and_resolve_check_gate(run_cli, monkeypatch, project):
    proj, root, pack_repo, _ = project
    with fake_world(pack_repo) as (env, _servers):
        assert resolve_in(run_cli, monkeypatch, proj, root, env).exit_code == 0
    # offline from here on: no servers at all
    assert run_cli("check").exit_code == 0
    assert run_cli("--comfyui-root", str(root), "resolve", "--check").exit_code == 0
    (proj / "workflows" / "portrait.json").write_text(
        json.dumps(workflow(lora="other.safetensors"))
    )
    check = run_cli("check")
    assert check.exit_code == 1 and "workflows/portrait.json" in check.stdout
    assert "loras/detail.safetensors -> loras/other.safetensors" in check.stdout
    again = run_cli("--comfyui-root", str(root), "resolve", "--check")
    assert again.exit_code == 1 and "other.safetensors" in again.stdout
    data = json.loads(run_cli("check", "--json").stdout)
    assert data["stale"][0]["path"] == "workflows/portrait.json" and not data["ok"]


def test_second_resolve_keeps_pins_and_makes_no_request(run_cli, monkeypatch, project):
    proj, root, pack_repo, _ = project
    with fake_world(pack_repo) as (env, servers):
        assert resolve_in(run_cli, monkeypatch, proj, root, env).exit_code == 0
        for srv in servers.values():
            srv.clear_log()
        result = resolve_in(run_cli, monkeypatch, proj, root, env)
        assert result.exit_code == 0 and "unchanged" in result.stdout
        assert all(not srv.log for srv in servers.values())


def test_401_from_civitai_names_the_token_and_never_leaks_it(
    run_cli, monkeypatch, project, tmp_path
):
    proj, root, pack_repo, _ = project
    with LoopbackServer() as civ_srv:
        FakeCivitai(civ_srv, require_token="something-else")
        monkeypatch.setenv("CIVITAI_API_KEY", TOKEN)
        monkeypatch.setenv("COMFYLOCK_RETRY_BACKOFF", "0.01")
        result = resolve_in(
            run_cli,
            monkeypatch,
            proj,
            root,
            {"COMFYLOCK_CIVITAI_URL": civ_srv.url_for("/").rstrip("/")},
        )
        result_v = run_cli("-v", "--comfyui-root", str(root), "resolve")
    assert result.exit_code == 3 and result_v.exit_code == 3
    assert "CIVITAI_API_KEY" in result.stderr
    for out in (result, result_v):
        assert TOKEN not in out.output
    cache_dir = Path(__import__("os").environ["COMFYLOCK_CACHE_DIR"])
    for path in cache_dir.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    assert not (proj / "comfy.lock").exists()


def test_429_storm_then_exit_3_with_one_line(run_cli, monkeypatch, project):
    proj, root, _pack_repo, _ = project
    with LoopbackServer() as srv:
        srv.expect_request(__import__("re").compile(".*")).respond_with_data(
            "slow down", status=429, headers={"Retry-After": "0"}
        )
        monkeypatch.setenv("COMFYLOCK_RETRY_BACKOFF", "0.01")
        result = resolve_in(
            run_cli,
            monkeypatch,
            proj,
            root,
            {"COMFYLOCK_CIVITAI_URL": srv.url_for("/").rstrip("/")},
        )
        requests = len(srv.log)
    assert result.exit_code == 3, result
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "429" in errors[0] and "Traceback" not in result.output
    assert requests >= 2, "it retried before giving up"


def test_unsafe_name_in_a_workflow_is_exit_2(run_cli, monkeypatch, tmp_path):
    (tmp_path / "w.json").write_text(
        json.dumps({"1": {"class_type": "LoraLoader", "inputs": {"lora_name": "../../etc/passwd"}}})
    )
    monkeypatch.chdir(tmp_path)
    result = run_cli("resolve", "--offline")
    assert result.exit_code == 2 and "../../etc/passwd" in result.stderr


def test_500_workflows_make_each_distinct_request_once(run_cli, monkeypatch, tmp_path):
    import collections
    import time

    proj = tmp_path / "many"
    (proj / "wf").mkdir(parents=True)
    names = [f"style_{i:02d}.safetensors" for i in range(40)]
    for i in range(500):
        loras = [names[i % 40], names[(i * 7) % 40]]
        obj = {
            str(n): {"class_type": "LoraLoader", "inputs": {"lora_name": lora}}
            for n, lora in enumerate(loras, 1)
        }
        (proj / "wf" / f"w{i:03d}.json").write_text(json.dumps(obj))
    with LoopbackServer() as srv:
        civitai = FakeCivitai(srv)
        for i, name in enumerate(names):
            sha = hashlib.sha256(name.encode()).hexdigest()
            civitai.add(
                civitai_model(
                    1000 + i,
                    name[:-12],
                    "LORA",
                    [
                        (
                            2000 + i,
                            "v1",
                            [civitai_file(3000 + i, name, size=1024 + i, sha256=sha, primary=True)],
                        )
                    ],
                )
            )
        handler = civitai._handle

        def slow(request):  # a slow API: concurrency must not turn into duplicate requests
            time.sleep(0.01)
            return handler(request)

        srv.clear_all_handlers()
        srv.expect_request(__import__("re").compile(".*")).respond_with_handler(slow)
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", srv.url_for("/").rstrip("/"))
        monkeypatch.chdir(proj)
        result = run_cli("resolve")
        paths = [req.full_path for req, _ in srv.log]
    assert result.exit_code == 0, result
    counts = collections.Counter(paths)
    assert counts and max(counts.values()) == 1, counts.most_common(3)
    assert len(paths) == len(names)


def test_add_hf_pin_keeps_comments_and_updates_the_lock(run_cli, monkeypatch, tmp_path):
    proj = tmp_path / "solo"
    proj.mkdir()
    (proj / "comfylock.toml").write_text("# team settings: keep this comment\n[sources]\n")
    with LoopbackServer() as hub_srv, LoopbackServer() as cdn_srv:
        hub = FakeHub(hub_srv, cdn_srv)
        hub.add_file(
            "stabilityai/sdxl-vae", "sdxl_vae.safetensors", commit=HF_COMMIT, content="sdxl vae"
        )
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        monkeypatch.chdir(proj)
        result = run_cli("add", "hf:stabilityai/sdxl-vae/sdxl_vae.safetensors", "--folder", "vae")
    assert result.exit_code == 0, result
    toml = (proj / "comfylock.toml").read_text()
    assert "# team settings: keep this comment" in toml
    assert '"vae/sdxl_vae.safetensors" = "hf:stabilityai/sdxl-vae/sdxl_vae.safetensors"' in toml
    import tomllib

    lock = tomllib.loads((proj / "comfy.lock").read_text())
    (model,) = lock["model"]
    assert model["name"] == "sdxl_vae.safetensors" and model["source"][0]["matched-by"] == "pin"
    assert model["source"][0]["revision"] == HF_COMMIT and "workflow" not in lock
    why = run_cli("why", "sdxl_vae.safetensors")
    assert why.exit_code == 0, "the project uses a hand pin (issue 19)"
    assert "pinned by hand" in why.stdout


def test_why_names_workflows_and_nodes(run_cli, monkeypatch, project):
    proj, root, pack_repo, _ = project
    monkeypatch.chdir(proj)
    result = run_cli("why", "loras/detail.safetensors")
    assert result.exit_code == 0, result
    assert "workflows/portrait.json: node 2 (LoraLoader.lora_name)" in result.stdout
    assert run_cli("why", "FancySampler").exit_code == 0
    assert run_cli("why", "nothing.safetensors").exit_code == 1


def test_known_models_index_gives_a_pinnable_url(run_cli, monkeypatch, tmp_path):
    proj = tmp_path / "idx"
    proj.mkdir()
    (proj / "w.json").write_text(
        json.dumps(
            {"1": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x-Ultra.pth"}}}
        )
    )
    entry = {
        "name": "4x Ultra",
        "type": "upscale",
        "base": "upscale",
        "save_path": "default",
        "description": "",
        "reference": "",
        "filename": "4x-Ultra.pth",
        "url": "https://huggingface.co/up/scalers/resolve/main/4x-Ultra.pth",
        "size": "63.9MB",
    }
    with LoopbackServer() as list_srv, LoopbackServer() as hub_srv, LoopbackServer() as cdn_srv:
        list_srv.expect_request("/model-list.json").respond_with_json({"models": [entry]})
        hub = FakeHub(hub_srv, cdn_srv)
        hub.add_file("up/scalers", "4x-Ultra.pth", commit=HF_COMMIT, content="upscaler")
        monkeypatch.setenv("COMFYLOCK_MODEL_LIST_URL", list_srv.url_for("/model-list.json"))
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", list_srv.url_for("/civitai").rstrip("/"))
        monkeypatch.chdir(proj)
        result = run_cli("resolve")
    assert result.exit_code == 0, result
    import tomllib

    (model,) = tomllib.loads((proj / "comfy.lock").read_text())["model"]
    assert model["folder"] == "upscale_models" and model["source"][0]["repo"] == "up/scalers"
    assert model["sha256"] == hashlib.sha256(b"upscaler").hexdigest()


def test_civitai_download_url_in_a_widget_resolves_to_the_real_file_name(
    run_cli, monkeypatch, project
):
    """A loader value that is a Civitai download URL is a source; the URL names no file, so
    the lock takes the version's file name (never a path with ``https:`` in it)."""
    proj, root, pack_repo, _ = project
    url = "https://civitai.com/api/download/models/202?type=Model&format=SafeTensor"
    (proj / "workflows" / "portrait.json").write_text(json.dumps(workflow(lora=url)))
    with fake_world(pack_repo) as (env, _servers):
        result = resolve_in(run_cli, monkeypatch, proj, root, env)
        assert result.exit_code == 0, result
    import tomllib

    data = tomllib.loads((proj / "comfy.lock").read_text())
    models = {f"{m['folder']}/{m['name']}": m for m in data["model"]}
    assert "loras/detail.safetensors" in models, sorted(models)
    assert not any("https" in key or "civitai-" in key for key in models)
    assert models["loras/detail.safetensors"]["source"][0]["version-id"] == 202
    portrait = next(w for w in data["workflow"] if w["path"] == "workflows/portrait.json")
    assert "loras/detail.safetensors" in portrait["models"]
    check = run_cli("check")  # offline: the placeholder finds its pin through the version id
    assert check.exit_code == 0, check
    again = run_cli("--comfyui-root", str(root), "resolve", "--check")
    assert again.exit_code == 0, again
