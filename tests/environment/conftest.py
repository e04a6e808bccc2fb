"""The environment world (SPEC §9) with its servers: a loopback PEP 503 index of wheels built
by the test, and fakes of Civitai and the registry; the real uv and git do the rest."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from tests.fakes import FakeCivitai, FakeRegistry, LoopbackServer, civitai_file, civitai_model
from tests.support.environment import MODEL_BYTES, build_env_world, serving_index, standard_packs


def _serve(world: dict, civitai: FakeCivitai, registry: FakeRegistry) -> None:
    sha = hashlib.sha256(MODEL_BYTES).hexdigest()
    file = civitai_file(5001, "base.safetensors", size=len(MODEL_BYTES), sha256=sha, primary=True)
    civitai.add(civitai_model(4001, "base", "Checkpoint", [(5001, "v1", [file])]))
    civitai.downloads[5001] = MODEL_BYTES
    for pack in world["packs"].values():
        registry.add_node(pack.id, str(pack.bare), "1.0.0", [pack.node_class])


@pytest.fixture
def env_world(tmp_path, monkeypatch, request):
    """A world whose packs are ``standard_packs`` (or the list a test parametrizes
    indirectly with a function of the marker path)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    marker = tmp_path / "INSTALL_SCRIPT_RAN"
    make_packs = getattr(request, "param", standard_packs)
    world = build_env_world(tmp_path / "w", make_packs(marker))
    world["marker"] = marker
    with (
        serving_index(world["index"]) as index_url,
        LoopbackServer() as civ,
        LoopbackServer() as reg,
    ):
        civitai, registry = FakeCivitai(civ), FakeRegistry(reg)
        _serve(world, civitai, registry)
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", civitai.base_url)
        monkeypatch.setenv("COMFYLOCK_REGISTRY_URL", registry.base_url)
        monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
        monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
        world["index_url"] = index_url
        (world["project"] / "comfylock.toml").write_text(f'[python]\nindex-url = "{index_url}"\n')
        yield world
