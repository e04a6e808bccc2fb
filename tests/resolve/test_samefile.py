"""resolve/samefile.py: which file a URL names, and which of a reference's URLs disagree
(SPEC §1): the same file written two ways is one file; different files must give the same bytes."""

from __future__ import annotations

from comfylock.lock.structs import CivitaiSource, HuggingFaceSource, UrlSource
from comfylock.resolve.samefile import disagreeing_urls, file_of_source, file_of_url
from comfylock.workflows.refs import ModelRef

HUB = "https://huggingface.co/org/vae/resolve/main/sdxl_vae.safetensors"


def _use(path: str, url: str, sha256: str | None = None) -> tuple[str, ModelRef]:
    ref = ModelRef(
        folder="vae", name="sdxl_vae.safetensors", node_id="1", node_type="VAELoader",
        input="vae_name", url=url, sha256=sha256,
    )  # fmt: skip
    return path, ref


def test_one_hub_file_written_many_ways_is_one_file():
    same = {
        file_of_url(HUB),
        file_of_url("https://huggingface.co/org/vae/blob/main/sdxl_vae.safetensors"),
        file_of_url("https://hf.co/org/vae/resolve/0123abc/sdxl_vae.safetensors?download=true"),
    }
    assert same == {("huggingface", "model", "org/vae", "sdxl_vae.safetensors")}
    other = file_of_url("https://huggingface.co/org/vae/resolve/main/other.safetensors")
    assert other not in same


def test_civitai_downloads_name_a_version_and_maybe_a_file():
    assert file_of_url("https://civitai.com/api/download/models/128078") == (
        "civitai", 128078, None,
    )  # fmt: skip
    assert file_of_url("https://civitai.com/api/download/models/128078?fileId=9&type=Model") == (
        "civitai", 128078, 9,
    )  # fmt: skip


def test_other_urls_drop_only_the_fragment_and_query_noise():
    base = file_of_url("https://Example.com/m/a.safetensors")
    assert file_of_url("https://example.com/m/a.safetensors?download=1&token=x#top") == base
    assert file_of_url("https://example.com/m/a.safetensors?v=2") != base
    assert file_of_url("https://example.com:8443/m/a.safetensors") != base


def test_locked_sources_answer_to_their_urls_identities():
    hub = HuggingFaceSource(repo="org/vae", revision="c" * 40, path="sdxl_vae.safetensors")
    assert file_of_source(hub) == {file_of_url(HUB)}
    civ = CivitaiSource(model_id=1, version_id=128078, file_id=9)
    assert file_of_source(civ) == {("civitai", 128078, None), ("civitai", 128078, 9)}
    url = UrlSource(url="https://example.com/a.safetensors?download=1")
    assert file_of_source(url) == {file_of_url("https://example.com/a.safetensors")}


def test_urls_of_one_file_agree_without_looking_anything_up():
    def never(url, file):
        raise AssertionError("no lookup for URLs that name one file")

    uses = [_use("a.json", HUB), _use("b.json", HUB + "?download=true")]
    assert disagreeing_urls(uses, never) is None


def test_urls_of_different_files_with_unknown_bytes_disagree():
    other = "https://example.com/sdxl_vae.safetensors"
    pair = disagreeing_urls([_use("b.json", other), _use("a.json", HUB)], lambda u, f: None)
    assert pair == (("a.json", HUB), ("b.json", other))


def test_different_files_with_the_same_declared_or_found_bytes_agree():
    other = "https://example.com/sdxl_vae.safetensors"
    declared = [_use("a.json", HUB, "a" * 64), _use("b.json", other, "a" * 64)]
    assert disagreeing_urls(declared, lambda u, f: None) is None
    found = [_use("a.json", HUB), _use("b.json", other)]
    assert disagreeing_urls(found, lambda u, f: "b" * 64) is None
    differ = [_use("a.json", HUB, "a" * 64), _use("b.json", other, "b" * 64)]
    assert disagreeing_urls(differ, lambda u, f: None) == (("a.json", HUB), ("b.json", other))
