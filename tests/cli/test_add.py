"""``comfylock add``: the same context as resolve, comfylock.toml edited last, URLs, blame the argument."""

from __future__ import annotations

from tests.support.syncutil import empty_model_list as _empty_model_list
from tests.support.syncutil import vae_workflow as _vae_workflow


def test_add_pins_one_while_others_wait_and_edits_toml_after_the_lock(
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
    # issue 19: `why` said "nothing in this project uses" a model pinned with add
    why = run_cli("why", "sdxl_vae.safetensors")
    assert why.exit_code == 0, why
    assert "vae/sdxl_vae.safetensors is pinned by hand to hf:org/vae/sdxl_vae.safetensors" in (
        why.stdout
    )
    # and add's own summary counts it as pinned by hand, not kept from the lock
    assert "pinned by hand" in result.stdout and "kept from the lock" not in result.stdout


def test_add_blames_the_argument(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "comfylock.toml").write_text("")
    result = run_cli("add", "foo:bar", "--folder", "loras")
    assert result.exit_code == 2, result
    assert "SOURCE 'foo:bar'" in result.stderr and "comfylock.toml" not in result.stderr
    for spec in ("civitai:abc", "civitai:12@"):  # a Civitai pin with no numbers to look up
        civitai = run_cli("add", spec, "--folder", "loras")
        assert civitai.exit_code == 2, civitai
        assert f"SOURCE '{spec}' is not a Civitai pin" in civitai.stderr
        assert "comfylock.toml" not in civitai.stderr
    bad = run_cli("add", "https://127.0.0.1/x.safetensors", "--folder", "loras", "--sha256", "zz")
    assert bad.exit_code == 2 and "--sha256" in bad.stderr, bad
    assert (tmp_path / "comfylock.toml").read_text() == ""


def test_add_url_needs_and_accepts_sha256(run_cli, tmp_path, server, monkeypatch):
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


def _offline_add_project(tmp_path, monkeypatch):
    """A project with no workflow, and a ComfyUI root holding one upscaler (no server at all)."""
    import hashlib

    data = b"an upscaler the user already has"
    root = tmp_path / "ComfyUI"
    (root / "models" / "upscale_models").mkdir(parents=True)
    (root / "models" / "upscale_models" / "up.pth").write_bytes(data)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "comfylock.toml").write_text("# mine\n")
    monkeypatch.chdir(project)
    return root, project, hashlib.sha256(data).hexdigest(), len(data)


# A host under .invalid never resolves (RFC 2606): the machine has no way to reach it.
_NOWHERE = "https://models.example.invalid/files/up.pth"


def test_add_url_with_sha256_works_offline_from_the_bytes_on_this_machine(
    run_cli, tmp_path, monkeypatch
):
    """Issue 19: `add URL --sha256 HEX` needed the network only to learn the size, which the
    file on this machine (or the store) already tells."""
    root, project, sha, size = _offline_add_project(tmp_path, monkeypatch)
    args = ("--comfyui-root", str(root), "add", _NOWHERE, "--folder", "upscale_models")
    result = run_cli(*args, "--sha256", sha, "--offline")
    assert result.exit_code == 0, result
    assert "wrote comfy.lock" in result.stdout  # as resolve says it, relative to here
    lock = (project / "comfy.lock").read_text()
    assert sha in lock and f"size = {size}" in lock and _NOWHERE in lock
    assert '"upscale_models/up.pth"' in (project / "comfylock.toml").read_text()
    # other bytes declared: this machine cannot vouch for them, and nothing is written
    other = run_cli(*args, "--name", "other.pth", "--sha256", "0" * 64, "--offline")
    assert other.exit_code == 1, other
    assert "offline" in other.stderr and "without --offline" in other.stderr
    assert "other.pth" not in (project / "comfylock.toml").read_text()


def test_add_url_offline_takes_the_size_from_the_store(run_cli, tmp_path, monkeypatch):
    from comfylock.store.blobs import Store

    root, project, sha, size = _offline_add_project(tmp_path, monkeypatch)
    store = Store(tmp_path / "store").ensure()
    blob = store.blob_path(sha)
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes((root / "models" / "upscale_models" / "up.pth").read_bytes())
    (root / "models" / "upscale_models" / "up.pth").unlink()
    monkeypatch.setenv("COMFYLOCK_STORE", str(tmp_path / "store"))
    result = run_cli("add", _NOWHERE, "--folder", "upscale_models", "--sha256", sha, "--offline")
    assert result.exit_code == 0, result
    assert f"size = {size}" in (project / "comfy.lock").read_text()


def test_add_with_no_network_names_offline(run_cli, tmp_path, monkeypatch):
    from comfylock.net import send

    monkeypatch.setattr(send.time, "sleep", lambda s: None)
    root, project, sha, size = _offline_add_project(tmp_path, monkeypatch)
    result = run_cli("add", _NOWHERE, "--folder", "upscale_models", "--sha256", sha)
    assert result.exit_code == 3, result
    assert "add" in result.stderr and "--offline" in result.stderr
    assert (project / "comfylock.toml").read_text() == "# mine\n"
