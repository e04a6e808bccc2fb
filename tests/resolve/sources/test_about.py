"""What Civitai and the Hugging Face hub publish about a file, as the lock records it: the
shapes of both APIs' answers, quirks included (Civitai's one-word and list forms of
``allowCommercialUse``; a card licence "other" with its ``license_name``)."""

from __future__ import annotations

import json

import msgspec
import pytest

from comfylock.resolve.sources.civitai import parse_model
from comfylock.resolve.sources.huggingface import HfModelInfo


def _model(**flags):
    return parse_model(
        {"id": 1, "modelVersions": [{"id": 2, "trainedWords": ["a", " a ", ""]}], **flags}
    )


@pytest.mark.parametrize(
    "published, recorded",
    [
        ("Sell", ("Sell",)),
        ("None", ()),
        (["Image", "RentCivit"], ("Image", "RentCivit")),
        ([], ()),
        (None, None),
    ],
)
def test_civitai_commercial_use_in_both_forms(published, recorded):
    model = _model(allowCommercialUse=published) if published is not None else _model()
    about = model.about(model.modelVersions[0])
    assert about["allow_commercial_use"] == recorded
    assert about["trained_words"] == ("a",)


def test_the_real_civitai_model_sample(shared_dir):
    data = json.loads(
        (shared_dir / "api" / "civitai" / "model_1102_SynthwavePunk.json").read_text()
    )
    model = parse_model(data)
    about = model.about(model.modelVersions[0])
    assert about["allow_commercial_use"] == ("Sell",)
    assert about["allow_derivatives"] is True and about["allow_no_credit"] is True
    assert about["base_model"] == "SD 1.5"
    assert about["trained_words"] == ("nvinkpunk", "snthwve style", "style of joemadureira")


def test_the_real_civitai_search_sample_has_list_permissions(shared_dir):
    page = json.loads(
        (
            shared_dir
            / "api"
            / "civitai"
            / "models_types-Checkpoint_sort-HighestRated_limit10.full.json"
        ).read_text()
    )
    uses = [parse_model(item).about(None)["allow_commercial_use"] for item in page["items"]]
    assert all(isinstance(u, tuple) for u in uses)
    assert ("Image", "RentCivit", "Rent") in uses and () in uses


@pytest.mark.parametrize(
    "info, license, gated, base",
    [
        ({"cardData": {"license": "openrail++"}}, "openrail++", None, None),
        (
            {"gated": "manual", "cardData": {"license": "other", "license_name": "flux-dev-nc"}},
            "flux-dev-nc",
            "manual",
            None,
        ),
        ({"gated": "auto", "tags": ["license:mit", "diffusers"]}, "mit", "auto", None),
        (
            {"cardData": {"license": ["mit", "apache-2.0"], "base_model": "o/base"}},
            "mit, apache-2.0",
            None,
            "o/base",
        ),
        ({"gated": False}, None, None, None),
    ],
)
def test_hub_model_info(info, license, gated, base):
    about = msgspec.convert(info, HfModelInfo).about()
    assert (about["license"], about["gated"], about["base_model"]) == (license, gated, base)
