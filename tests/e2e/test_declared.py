"""A workflow's declared sha256 is a promise about bytes (SPEC §4), and two workflows whose URLs
for one (folder, name) name different files are a conflict (SPEC §1): `comfylock resolve`
end to end against loopback fakes of the hub (commits and tree APIs included) and Civitai."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re

import pytest
import tomllib

from tests.support.fakes import (
    ALL,
    FakeCivitai,
    FakeHub,
    LoopbackServer,
    civitai_file,
    civitai_model,
)

REPO = "Comfy-Org/wan_repackaged"
PATH = "split_files/diffusion_models/wan_14B_fp16.safetensors"
URL = f"https://huggingface.co/{REPO}/resolve/main/{PATH}"
OLD, MID, NEW = (f"{i:040x}" for i in (0xA1, 0xB2, 0xC3))


def sha(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def template(name: str, url: str, declared: str | None = None, *, level: str = "node") -> dict:
    """A workflow shaped like ComfyUI's templates: a UNETLoader whose ``properties.models``
    (or the workflow-level ``models``) carries name, url, directory and the sha256."""
    entry = {"name": name, "url": url, "directory": "diffusion_models"}
    if declared:
        entry |= {"hash": declared, "hash_type": "sha256"}
    node = {
        "id": 1,
        "type": "UNETLoader",
        "mode": 0,
        "widgets_values": [name, "default"],
        "properties": {"models": [entry]} if level == "node" else {},
    }
    out = {"nodes": [node], "links": [], "version": 0.4}
    if level == "workflow":
        out["models"] = [entry]
    return out


@contextlib.contextmanager
def world(**hub_options):
    with LoopbackServer() as hub_srv, LoopbackServer() as cdn_srv, LoopbackServer() as civ_srv:
        hub = FakeHub(hub_srv, cdn_srv, **hub_options)
        civitai = FakeCivitai(civ_srv)
        env = {"HF_ENDPOINT": hub.base_url, "COMFYLOCK_CIVITAI_URL": civitai.base_url}
        yield hub, civitai, env, hub_srv


@pytest.fixture
def project(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    (proj / "workflows").mkdir(parents=True)
    monkeypatch.chdir(proj)
    monkeypatch.setenv("COMFYLOCK_RETRY_BACKOFF", "0.01")

    def write(name: str, data: dict) -> None:
        (proj / "workflows" / name).write_text(json.dumps(data))

    return proj, write


def resolve(run_cli, monkeypatch, env, *extra):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return run_cli("resolve", *extra)


def locked_models(proj) -> dict:
    data = tomllib.loads((proj / "comfy.lock").read_text())
    return {f"{m['folder']}/{m['name']}": m for m in data.get("model", [])}


KEY = "diffusion_models/wan_14B_fp16.safetensors"


# --- a declared sha256 is pinned exactly, or not at all ----------------------------------------


@pytest.mark.parametrize("level", ["node", "workflow"])
def test_declared_hash_found_at_an_older_revision_is_pinned_there(
    run_cli, monkeypatch, project, level
):
    proj, write = project
    write("t2v.json", template("wan_14B_fp16.safetensors", URL, sha("v1 bytes"), level=level))
    with world() as (hub, _civitai, env, _srv):
        hub.add_file(REPO, PATH, commit=OLD, content="v1 bytes", refs=())
        hub.add_file(REPO, PATH, commit=MID, content="v2 bytes", refs=())
        hub.add_file(REPO, PATH, commit=NEW, content="v3 bytes")
        result = resolve(run_cli, monkeypatch, env)
    assert result.exit_code == 0, result.output
    model = locked_models(proj)[KEY]
    assert (model["sha256"], model["size"]) == (sha("v1 bytes"), len("v1 bytes"))
    assert model["source"] == [
        {"type": "huggingface", "matched-by": "hash", "repo": REPO, "revision": OLD, "path": PATH}
    ]


def test_declared_hash_nowhere_is_unresolved_naming_both_hashes(run_cli, monkeypatch, project):
    proj, write = project
    write("t2v.json", template("wan_14B_fp16.safetensors", URL, sha("promised bytes")))
    with world() as (hub, _civitai, env, _srv):
        hub.add_file(REPO, PATH, commit=OLD, content="other bytes", refs=())
        hub.add_file(REPO, PATH, commit=NEW, content="current bytes")
        result = resolve(run_cli, monkeypatch, env)
        assert result.exit_code == 1, result.output
        assert not (proj / "comfy.lock").exists()
        assert sha("promised bytes") in result.output and sha("current bytes") in result.output
        allowed = resolve(run_cli, monkeypatch, env, "--allow-unresolved")
    assert allowed.exit_code == 0, allowed.output
    assert KEY not in locked_models(proj)
    (unresolved,) = tomllib.loads((proj / "comfy.lock").read_text())["unresolved"]
    assert sha("promised bytes") in unresolved["reason"]
    assert sha("current bytes") in unresolved["reason"]
    assert "127.0.0.1" not in unresolved["reason"]
    assert run_cli("check").exit_code == 1


def test_hub_without_history_api_leaves_it_unresolved_not_pinned(run_cli, monkeypatch, project):
    proj, write = project
    write("t2v.json", template("wan_14B_fp16.safetensors", URL, sha("promised bytes")))
    with world() as (hub, _civitai, env, hub_srv):
        hub.add_file(REPO, PATH, commit=NEW, content="current bytes")
        hub_srv.clear()  # files answer as the hub does; its API is down
        hub_srv.expect_request(re.compile(r"/api/.*")).respond_with_data("busy", status=500)
        hub_srv.expect_request(ALL).respond_with_handler(hub._handle)
        result = resolve(run_cli, monkeypatch, env)
    assert result.exit_code == 1, result.output
    assert sha("promised bytes") in result.output and sha("current bytes") in result.output
    assert not (proj / "comfy.lock").exists()


def test_local_file_with_other_bytes_is_not_pinned_over_the_declared_hash(
    run_cli, monkeypatch, project, tmp_path
):
    proj, write = project
    write("t2v.json", template("wan_14B_fp16.safetensors", URL, sha("v1 bytes")))
    root = tmp_path / "ComfyUI"
    (root / "models" / "diffusion_models").mkdir(parents=True)
    (root / "models" / "diffusion_models" / "wan_14B_fp16.safetensors").write_text("my own bytes")
    with world() as (hub, _civitai, env, _srv):
        hub.add_file(REPO, PATH, commit=OLD, content="v1 bytes", refs=())
        hub.add_file(REPO, PATH, commit=NEW, content="v3 bytes")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = run_cli("--comfyui-root", str(root), "resolve")
    assert result.exit_code == 0, result.output
    model = locked_models(proj)[KEY]
    assert model["sha256"] == sha("v1 bytes") and model["source"][0]["revision"] == OLD


def test_civitai_url_with_other_bytes_gives_way_to_a_by_hash_lookup(run_cli, monkeypatch, project):
    proj, write = project
    with world() as (_hub, civitai, env, _srv):
        url = f"{civitai.base_url}/api/download/models/201"
        write("t2v.json", template("wan_14B_fp16.safetensors", url, sha("declared")))
        files = [civitai_file(301, "wan.safetensors", size=9, sha256=sha("other"), primary=True)]
        wanted = [civitai_file(302, "wan-v2.safetensors", size=8, sha256=sha("declared"))]
        civitai.add(
            civitai_model(101, "Wan", "Checkpoint", [(201, "v1", files), (202, "v2", wanted)])
        )
        result = resolve(run_cli, monkeypatch, env)
    assert result.exit_code == 0, result.output
    model = locked_models(proj)[KEY]
    assert model["sha256"] == sha("declared") and model["size"] == 8
    assert [(s["type"], s["version-id"], s["file-id"]) for s in model["source"]] == [
        ("civitai", 202, 302)
    ]


def test_plain_url_whose_server_publishes_other_bytes_is_not_pinned(run_cli, monkeypatch, project):
    proj, write = project
    with LoopbackServer() as files, world() as (_hub, _civitai, env, _srv):
        files.expect_request("/wan.safetensors").respond_with_data(
            b"abc", headers={"ETag": f'"{sha("served")}"'}
        )
        url = files.url_for("/wan.safetensors")
        write("t2v.json", template("wan_14B_fp16.safetensors", url, sha("declared")))
        (proj / "comfylock.toml").write_text('allow-http = ["127.0.0.1"]\n')
        result = resolve(run_cli, monkeypatch, env)
    assert result.exit_code == 1, result.output
    assert sha("declared") in result.output and sha("served") in result.output


def test_existing_pin_of_other_bytes_is_re_resolved_when_a_hash_is_declared(
    run_cli, monkeypatch, project
):
    proj, write = project
    write("t2v.json", template("wan_14B_fp16.safetensors", URL))
    with world() as (hub, _civitai, env, _srv):
        hub.add_file(REPO, PATH, commit=OLD, content="v1 bytes", refs=())
        hub.add_file(REPO, PATH, commit=NEW, content="v3 bytes")
        assert resolve(run_cli, monkeypatch, env).exit_code == 0
        assert locked_models(proj)[KEY]["sha256"] == sha("v3 bytes")
        write("t2v.json", template("wan_14B_fp16.safetensors", URL, sha("v1 bytes")))
        check = run_cli("check")
        assert check.exit_code == 1 and sha("v1 bytes") in check.output, check.output
        result = resolve(run_cli, monkeypatch, env)
    assert result.exit_code == 0, result.output
    model = locked_models(proj)[KEY]
    assert model["sha256"] == sha("v1 bytes") and model["source"][0]["revision"] == OLD
    assert run_cli("check").exit_code == 0


# --- URLs for one (folder, name) that name different files --------------------------------------


def test_two_workflows_with_urls_to_different_files_conflict(run_cli, monkeypatch, project):
    proj, write = project
    other = f"https://huggingface.co/Comfy-Org/other_repackaged/resolve/main/{PATH}"
    write("a_t2v.json", template("wan_14B_fp16.safetensors", URL))
    write("b_i2v.json", template("wan_14B_fp16.safetensors", other))
    with world() as (hub, _civitai, env, _srv):
        hub.add_file(REPO, PATH, commit=NEW, content="text to video weights")
        hub.add_file("Comfy-Org/other_repackaged", PATH, commit=OLD, content="image to video")
        result = resolve(run_cli, monkeypatch, env)
        assert result.exit_code == 1, result.output
        assert "conflict" in result.output and KEY in result.output
        assert "workflows/a_t2v.json" in result.output and "workflows/b_i2v.json" in result.output
        assert not (proj / "comfy.lock").exists()
        data = json.loads(resolve(run_cli, monkeypatch, env, "--json").stdout)
    (conflict,) = data["conflicts"]
    assert conflict["reference"] == KEY
    assert set(conflict["workflows"]) == {"workflows/a_t2v.json", "workflows/b_i2v.json"}


def test_urls_to_unreachable_different_files_still_conflict(run_cli, monkeypatch, project):
    proj, write = project
    write("a.json", template("wan_14B_fp16.safetensors", "https://example.invalid/a/wan.bin"))
    b = "https://example.invalid/b/wan.bin?token=SECRET-in-url"
    write("b.json", template("wan_14B_fp16.safetensors", b))
    result = run_cli("resolve", "--offline")
    assert result.exit_code == 1 and "conflict" in result.output, result.output
    assert "SECRET-in-url" not in result.output
    assert "workflows/a.json" in result.output and "workflows/b.json" in result.output


@pytest.mark.parametrize("same", ["url", "bytes"])
def test_same_url_or_same_bytes_is_no_conflict(run_cli, monkeypatch, project, same):
    proj, write = project
    mirror = f"https://huggingface.co/mirror/copy/resolve/main/{PATH}"
    write("a.json", template("wan_14B_fp16.safetensors", URL))
    write(
        "b.json",
        template("wan_14B_fp16.safetensors", URL + "?download=true" if same == "url" else mirror),
    )
    with world() as (hub, _civitai, env, _srv):
        hub.add_file(REPO, PATH, commit=NEW, content="the weights")
        hub.add_file("mirror/copy", PATH, commit=OLD, content="the weights")
        result = resolve(run_cli, monkeypatch, env)
        assert result.exit_code == 0, result.output
        again = resolve(run_cli, monkeypatch, env, "--check")
    assert again.exit_code == 0, again.output
    model = locked_models(proj)[KEY]
    assert model["sha256"] == sha("the weights")
    assert len(model["source"]) == (1 if same == "url" else 2)


def test_declared_hashes_that_differ_conflict(run_cli, monkeypatch, project):
    _proj, write = project
    write("a.json", template("wan_14B_fp16.safetensors", URL, sha("v1 bytes")))
    write("b.json", template("wan_14B_fp16.safetensors", URL, sha("v3 bytes")))
    with world() as (hub, _civitai, env, _srv):
        hub.add_file(REPO, PATH, commit=OLD, content="v1 bytes", refs=())
        hub.add_file(REPO, PATH, commit=NEW, content="v3 bytes")
        result = resolve(run_cli, monkeypatch, env)
    assert result.exit_code == 1 and "conflict" in result.output
    assert "workflows/a.json" in result.output and "workflows/b.json" in result.output


# --- template-shaped workflows against a hub serving other bytes than declared -----------------


def _declared_templates() -> list:
    """Our template-shaped fixtures, plus any workflow of ../shared/corpus that declares a
    sha256 for a Hugging Face URL (the official examples there declare none today)."""
    from comfylock.resolve.sources.huggingface import parse_hf_url
    from comfylock.workflows.reader import parse
    from tests.support.paths import FIXTURES, SHARED

    paths = sorted((FIXTURES / "templates").glob("*.json"))
    corpus = SHARED / "corpus"
    if corpus.is_dir():
        paths += sorted(corpus.rglob("*.json"))
    out = []
    for path in paths:
        try:
            info = parse(path.read_bytes(), name=path.name)
        except Exception:  # not a workflow (an index, a README's JSON)
            continue
        declared = [r for r in info.models if r.sha256 and r.folder and not r.invalid]
        if declared and all(r.url and parse_hf_url(r.url) for r in declared):
            out.append((path, declared))
    return out


def test_templates_are_never_pinned_to_other_bytes_than_declared(run_cli, monkeypatch, project):
    from comfylock.resolve.sources.huggingface import parse_hf_url

    proj, _write = project
    templates = _declared_templates()
    assert len(templates) >= 2, "the fixtures/templates workflows are always there"
    wanted: dict[str, tuple[str, str]] = {}  # key -> (declared sha256, url)
    for i, (path, refs) in enumerate(templates):
        (proj / "workflows" / f"{i:03d}_{path.name}").write_bytes(path.read_bytes())
        for r in refs:
            wanted.setdefault(r.key, (r.sha256, r.url))
    keys = sorted(wanted)
    in_history = set(keys[::2])  # every other file has its declared bytes at an older commit
    with world(lfs_redirect="same-origin") as (hub, _civitai, env, hub_srv):
        for n, key in enumerate(keys):
            declared, url = wanted[key]
            ref = parse_hf_url(url, endpoint="https://huggingface.co")
            if key in in_history:
                hub.add_file(
                    ref.repo,
                    ref.path,
                    commit=f"{n + 1:040x}",
                    content=key,
                    refs=(),
                    claimed_sha256=declared,
                )
        for n, key in enumerate(keys):
            ref = parse_hf_url(wanted[key][1], endpoint="https://huggingface.co")
            hub.add_file(
                ref.repo, ref.path, commit=f"{n + 1:08x}{'f' * 32}", content=f"other {key}"
            )
        strict = resolve(run_cli, monkeypatch, env)
        assert strict.exit_code == 1 and not (proj / "comfy.lock").exists(), strict.output
        listings = [r.full_path for r, _ in hub_srv.log if r.path.startswith("/api/")]
        assert listings and len(listings) == len(set(listings)), "each listing asked once"
        result = resolve(run_cli, monkeypatch, env, "--allow-unresolved")
    assert result.exit_code == 0, result.output
    models = locked_models(proj)
    for key, (declared, _url) in wanted.items():
        if key in in_history:
            assert models[key]["sha256"] == declared, key
            assert models[key]["source"][0]["matched-by"] == "hash"
        else:
            assert key not in models, f"{key} pinned to bytes the workflow did not ask for"
    unresolved = tomllib.loads((proj / "comfy.lock").read_text())["unresolved"]
    reasons = {f"{u['folder']}/{u['name']}": u["reason"] for u in unresolved}
    assert set(reasons) == set(keys) - in_history
    for key, reason in reasons.items():
        assert (
            wanted[key][0] in reason
            and hashlib.sha256(f"other {key}".encode()).hexdigest() in reason
        )


def test_urls_to_two_repos_declaring_the_same_hash_are_no_conflict(run_cli, monkeypatch, project):
    proj, write = project
    copy = f"https://huggingface.co/Comfy-Org/wan_2_2_repackaged/resolve/main/{PATH}"
    write("a.json", template("wan_14B_fp16.safetensors", URL, sha("v1 bytes")))
    write("b.json", template("wan_14B_fp16.safetensors", copy, sha("v1 bytes")))
    with world() as (hub, _civitai, env, _srv):
        hub.add_file(REPO, PATH, commit=OLD, content="v1 bytes", refs=())
        hub.add_file(REPO, PATH, commit=NEW, content="v3 bytes")
        hub.add_file("Comfy-Org/wan_2_2_repackaged", PATH, commit=MID, content="v2 bytes")
        result = resolve(run_cli, monkeypatch, env)
    assert result.exit_code == 0 and "conflict" not in result.output, result.output
    model = locked_models(proj)[KEY]
    assert model["sha256"] == sha("v1 bytes")
    assert [(s["repo"], s["revision"]) for s in model["source"]] == [(REPO, OLD)]


def test_declared_file_gone_from_main_is_found_in_history(run_cli, monkeypatch, project):
    proj, write = project
    write("t2v.json", template("wan_14B_fp16.safetensors", URL, sha("v1 bytes")))
    with world() as (hub, _civitai, env, _srv):
        hub.add_file(REPO, PATH, commit=OLD, content="v1 bytes")
        hub.delete_file(REPO, PATH, commit=NEW)
        result = resolve(run_cli, monkeypatch, env)
    assert result.exit_code == 0, result.output
    model = locked_models(proj)[KEY]
    assert model["sha256"] == sha("v1 bytes") and model["source"][0]["revision"] == OLD
