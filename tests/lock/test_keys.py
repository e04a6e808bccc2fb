"""lock/keys.py: the keys a workflow's reference may be pinned under, and its locked model."""

from __future__ import annotations

from comfylock.lock.keys import find_locked, lock_keys, placeholder_version
from comfylock.lock.structs import CivitaiSource, LockedModel, UrlSource
from comfylock.workflows.refs import ModelRef


def _ref(folder: str | None, name: str, url: str | None = None) -> ModelRef:
    return ModelRef(folder=folder, name=name, node_id="1", node_type="Loader", input="x", url=url)


def _model(folder: str, name: str, *sources) -> LockedModel:
    return LockedModel(folder=folder, name=name, size=1, sha256="a" * 64, source=tuple(sources))


def test_a_reference_is_pinned_under_folder_slash_name():
    assert lock_keys("loras", "style/detail.safetensors") == ["loras/style/detail.safetensors"]


def test_an_embedding_without_extension_may_be_any_embedding_file():
    assert lock_keys("embeddings", "easynegative") == [
        "embeddings/easynegative",
        "embeddings/easynegative.safetensors",
        "embeddings/easynegative.pt",
        "embeddings/easynegative.bin",
    ]
    assert lock_keys("embeddings", "neg.PT") == ["embeddings/neg.PT"]
    assert lock_keys("loras", "easynegative") == ["loras/easynegative"]


def test_placeholder_version_only_for_url_references():
    url = "https://civitai.com/api/download/models/128078"
    assert placeholder_version(_ref("checkpoints", "civitai-128078", url)) == 128078
    assert placeholder_version(_ref("checkpoints", "civitai-128078")) is None  # no URL
    assert placeholder_version(_ref("checkpoints", "civitai-x", url)) is None
    assert placeholder_version(_ref("checkpoints", "sdxl.safetensors", url)) is None


def test_find_locked_by_key_then_by_civitai_version():
    sdxl = _model("checkpoints", "sdxl.safetensors", CivitaiSource(model_id=1, version_id=128078))
    other = _model("checkpoints", "other.safetensors", UrlSource(url="https://example.com/o"))
    neg = _model("embeddings", "neg.pt")
    models = {m.key: m for m in (sdxl, other, neg)}
    url = "https://civitai.com/api/download/models/128078"
    assert find_locked(_ref("checkpoints", "sdxl.safetensors"), models) is sdxl
    assert find_locked(_ref("embeddings", "neg"), models) is neg
    assert find_locked(_ref("checkpoints", "civitai-128078", url), models) is sdxl
    assert find_locked(_ref("loras", "civitai-128078", url), models) is None  # other folder
    assert find_locked(_ref("checkpoints", "civitai-999", url), models) is None
    assert find_locked(_ref("checkpoints", "missing.safetensors"), models) is None
