"""comfylock.resolve.sources.civitai against a loopback fake, plus the real samples from ../shared."""

from __future__ import annotations

import json

import pytest

from comfylock.errors import AuthError
from comfylock.lock.structs import CivitaiSource
from comfylock.net.endpoints import Endpoints
from comfylock.net.httpcache import HttpCache
from comfylock.resolve.sources.civitai import (
    CivitaiClient,
    hits_from_model,
    hits_from_version,
    parse_model,
    parse_version,
)
from tests.support import fakes

SDXL = fakes.sha("sdxl-bytes")
SDXL_PT = fakes.sha("sdxl-pickle")
DETAIL = fakes.sha("detail-lora")
DETAIL_B3 = fakes.sha("detail-lora-blake3")


@pytest.fixture
def civitai(server, monkeypatch):
    fake = fakes.FakeCivitai(server)
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", fake.base_url)
    fake.add(
        fakes.civitai_model(
            101,
            "Juggernaut XL",
            "Checkpoint",
            [
                (
                    2001,
                    "v9",
                    [
                        fakes.civitai_file(
                            3001,
                            "juggernautXL_v9.safetensors",
                            size=6_938_078_334,
                            sha256=SDXL,
                            primary=True,
                        ),
                        fakes.civitai_file(
                            3002,
                            "juggernautXL_v9.ckpt",
                            size=7_000_000_000,
                            sha256=SDXL_PT,
                            fmt="PickleTensor",
                            type="Pruned Model",
                            pruned=True,
                        ),
                    ],
                ),
                (2000, "v8 (archived)", []),
            ],
        )
    )
    fake.add(
        fakes.civitai_model(
            202,
            "Detail Tweaker",
            "LORA",
            [
                (
                    2101,
                    "v1",
                    [
                        fakes.civitai_file(
                            3101,
                            "detail_tweaker.safetensors",
                            size=37_861_176,
                            sha256=DETAIL,
                            blake3=DETAIL_B3,
                            primary=True,
                        )
                    ],
                )
            ],
        )
    )
    fake.add(
        fakes.civitai_model(
            303,
            "Detail Tweaker XL",
            "LORA",
            [
                (
                    2201,
                    "v1",
                    [
                        fakes.civitai_file(
                            3201,
                            "Detail_Tweaker.safetensors",
                            size=1,
                            sha256=fakes.sha("x"),
                            primary=True,
                        )
                    ],
                )
            ],
        )
    )
    return fake


@pytest.fixture
def api(civitai, client, no_wait, tmp_path):
    with HttpCache(tmp_path / "http.sqlite") as cache:
        yield CivitaiClient(client, Endpoints.from_env(), cache, retry=no_wait)


def test_by_hash_hit_primary_file(api):
    hit = api.by_hash(SDXL.upper())
    assert hit is not None
    assert (hit.model_id, hit.version_id, hit.file_id) == (101, 2001, 3001)
    assert hit.file_name == "juggernautXL_v9.safetensors"
    assert hit.sha256 == SDXL and hit.blake3 is None
    assert hit.size == 6_938_078_334 and hit.size_approximate
    assert hit.url == "https://civitai.com/api/download/models/2001"
    assert hit.primary and hit.model_type == "Checkpoint"


def test_by_hash_non_primary_file_gets_params_and_canonical_host(api, civitai):
    hit = api.by_hash(SDXL_PT)
    assert hit is not None and not hit.primary
    assert (
        hit.url
        == "https://civitai.com/api/download/models/2001?type=Pruned%20Model&format=PickleTensor&size=pruned&fp=fp16"
    )
    assert civitai.base_url not in hit.url


def test_by_hash_blake3_lowercased(api):
    hit = api.by_hash(DETAIL)
    assert hit.blake3 == DETAIL_B3 and hit.sha256 == DETAIL


def test_by_hash_miss_is_none_and_cached(api, server):
    assert api.by_hash(fakes.sha("unknown")) is None
    assert api.by_hash(fakes.sha("unknown")) is None
    assert len(server.log) == 1


def test_by_hash_cache_hit_makes_no_second_request(api, server):
    assert api.by_hash(SDXL) == api.by_hash(SDXL)
    assert len(server.log) == 1


def test_to_source_is_canonical(api):
    source = api.by_hash(SDXL).to_source("hash")
    assert source == CivitaiSource(
        matched_by="hash",
        model_id=101,
        version_id=2001,
        file_id=3001,
        url="https://civitai.com/api/download/models/2001",
    )


def test_version_and_model(api):
    version = api.version(2001)
    assert version.modelId == 101 and version.model.type == "Checkpoint"
    model = api.model(101)
    assert [v.id for v in model.modelVersions] == [2001, 2000]
    assert model.modelVersions[1].files == []  # archived
    assert api.version(9999) is None and api.model(9999) is None


def test_search_by_name_exact_match_only(api, server):
    hits = api.search_by_name("loras/sub/detail_tweaker.safetensors", "loras")
    assert [(h.model_id, h.file_id) for h in hits] == [
        (202, 3101)
    ]  # not Detail_Tweaker (case), not XL
    query = server.log[-1][0]
    assert query.args["query"] == "detail_tweaker"
    assert query.args.getlist("types") == ["LORA", "LoCon", "DoRA"]


def test_search_rejects_near_matches(api):
    assert api.search_by_name("juggernautXL_v9.sft", "checkpoints") == []
    assert api.search_by_name("juggernautXL_v9 .safetensors", "checkpoints") == []
    assert api.search_by_name("juggernautxl_v9.safetensors", "checkpoints") == []


def test_search_folder_maps_type(api):
    assert api.search_by_name("juggernautXL_v9.safetensors", "loras") == []
    [hit] = api.search_by_name("juggernautXL_v9.safetensors", "checkpoints")
    assert hit.sha256 == SDXL


def test_search_is_cached_as_search(api, server):
    api.search_by_name("detail_tweaker.safetensors", "loras")
    api.search_by_name("detail_tweaker.safetensors", "loras")
    assert len(server.log) == 1
    assert api._cache.stats().by_kind == {"search": 1}


def test_401_names_civitai_api_key(server, client, monkeypatch, no_wait):
    fake = fakes.FakeCivitai(server, require_token="right")
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", fake.base_url)
    api = CivitaiClient(client, retry=no_wait)
    with pytest.raises(AuthError) as info:
        api.by_hash(SDXL)
    assert "CIVITAI_API_KEY" in str(info.value) and info.value.exit_code == 3
    monkeypatch.setenv("CIVITAI_API_KEY", "right")
    assert api.by_hash(SDXL) is None  # authorised now; nothing registered
    assert "right" not in repr(api)


def test_token_never_in_cache_db_or_errors(server, client, monkeypatch, tmp_path, no_wait):
    secret = "civitai-SECRET-abcdef123456"
    fake = fakes.FakeCivitai(server, require_token=secret)
    fake.add(
        fakes.civitai_model(
            1,
            "M",
            "LORA",
            [
                (
                    2,
                    "v",
                    [fakes.civitai_file(3, "m.safetensors", size=10, sha256=SDXL, primary=True)],
                )
            ],
        )
    )
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", fake.base_url)
    monkeypatch.setenv("CIVITAI_API_KEY", secret)
    with HttpCache(tmp_path / "http.sqlite") as cache:
        api = CivitaiClient(client, cache=cache, retry=no_wait)
        assert api.by_hash(SDXL).file_id == 3
        assert api.search_by_name("m.safetensors", "loras")
        assert api.by_hash(fakes.sha("nope")) is None
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert blob and secret.encode() not in blob
    monkeypatch.setenv("CIVITAI_API_KEY", secret + "-wrong")
    with pytest.raises(AuthError) as info:
        CivitaiClient(client, retry=no_wait).by_hash(SDXL)
    assert secret not in str(info.value) and secret not in repr(info.value)


# --- the real samples ----------------------------------------------------------------------


def _load(shared_dir, name):
    return json.loads((shared_dir / "api" / "civitai" / name).read_text(encoding="utf-8"))


def test_real_version_sample(shared_dir):
    version = parse_version(_load(shared_dir, "model_version_1318_froggy_style.json"))
    [hit] = hits_from_version(version)
    assert (hit.model_id, hit.version_id, hit.file_id) == (1244, 1318, 289)
    assert hit.sha256 == "0df040c8cd48125174b54c251a87822e8ed61d529a92c42c1fa1bef483b10b0d"
    assert hit.blake3 and hit.blake3 == hit.blake3.lower()
    assert hit.size == round(2546414.971679688 * 1024)
    assert hit.url == "https://civitai.com/api/download/models/1318"


def test_real_model_sample_missing_primary_and_tag_objects(shared_dir):
    model = parse_model(_load(shared_dir, "model_1102_SynthwavePunk.json"))
    hits = {h.file_name: h for h in hits_from_model(model)}
    ckpt, st = hits["synthwavepunk_v3Alpha.ckpt"], hits["synthwavepunk_v3Alpha.safetensors"]
    assert not ckpt.primary and st.primary
    assert (
        ckpt.url
        == "https://civitai.com/api/download/models/1292?type=Model&format=PickleTensor&size=full&fp=fp16"
    )
    assert st.url == "https://civitai.com/api/download/models/1292"
    assert st.model_type == "Checkpoint" and st.model_id == 1102


@pytest.mark.parametrize(
    "name",
    [
        "models_search_types-TextualInversion_limit3.json",
        "models_types-Checkpoint_sort-HighestRated_limit10.trimmed.json",
        "models_types-Checkpoint_sort-HighestRated_limit10.full.json",
    ],
)
def test_real_search_samples_replay_through_the_fake(
    shared_dir, server, client, monkeypatch, name, no_wait
):
    """Serve each real page as the search answer: every file must round-trip exactly."""
    page = _load(shared_dir, name)
    server.expect_request("/api/v1/models").respond_with_json(page)
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", server.url_for("/").rstrip("/"))
    api = CivitaiClient(client, retry=no_wait)
    files = [(m, v, f) for m in page["items"] for v in m["modelVersions"] for f in v["files"]]
    assert files
    for model, version, file in files[:25]:
        hits = api.search_by_name(file["name"], None)
        hit = next(h for h in hits if h.file_id == file["id"])
        assert (hit.model_id, hit.version_id) == (model["id"], version["id"])
        assert hit.sha256 == ((file["hashes"].get("SHA256") or "").lower() or None)
        assert hit.size == round(file["sizeKB"] * 1024)
        assert hit.primary == (file.get("primary") is True)
        # the canonical URL is the published one with the host made civitai.com
        published = file["downloadUrl"].replace("https://api.civitai.com", "https://civitai.com")
        assert hit.url == published


def test_unexpected_shape_is_a_remote_error(server, client, monkeypatch, no_wait):
    from comfylock.errors import RemoteError

    server.expect_request("/api/v1/model-versions/5").respond_with_json(
        {"id": "not-a-number", "files": "nope"}
    )
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", server.url_for("/").rstrip("/"))
    with pytest.raises(RemoteError, match="unexpected answer from Civitai") as info:
        CivitaiClient(client, retry=no_wait).version(5)
    assert info.value.exit_code == 3


def test_string_counts_and_ids_are_accepted():
    version = parse_version(
        {
            "id": "7",
            "modelId": "8",
            "files": [
                {"id": "9", "name": "a.safetensors", "sizeKB": "1.5", "hashes": {"SHA256": "AB"}}
            ],
        }
    )
    [hit] = hits_from_version(version)
    assert (hit.model_id, hit.version_id, hit.file_id, hit.size, hit.sha256) == (
        8,
        7,
        9,
        1536,
        "ab",
    )
    assert (
        hit.url == "https://civitai.com/api/download/models/7?fileId=9"
    )  # not primary, no metadata
