"""Classes several packs provide: what their code agrees on is known, the rest cannot be told."""

from __future__ import annotations

from comfylock.packcode.entries import merge_claims

_SAM = {"sam.pt": [{"repo": "o/sam", "dir": "models/sams"}]}
_OTHER = {"other.pt": [{"repo": "o/other", "dir": "models/sams"}]}


def test_what_every_packs_code_agrees_on_is_kept_the_rest_is_cannot_tell():
    # a copy of a loader (another pack ships the same node): both read "model" from sam2
    # and download the same repo for "sam.pt"; they differ on "vae" and on "other.pt"
    claims = {
        "LoadSAM": [
            (
                "orig",
                {
                    "inputs": {"model": "sam2", "vae": "vae"},
                    "fetches": {"model": {**_SAM, **_OTHER}},
                    "downloads": {"repo": "models/LLM/{repo_name}"},
                    "widgets": ["model", "vae"],
                },
            ),
            (
                "copy",
                {
                    "inputs": {"model": "sam2", "vae": "vae_approx"},
                    "fetches": {"model": _SAM},
                    "downloads": {"repo": "models/LLM/{repo_name}"},
                    "widgets": ["model", "vae"],
                },
            ),
        ]
    }
    entry = merge_claims(claims)["LoadSAM"]
    assert entry["inputs"] == {"model": "sam2"}
    assert entry["fetches"] == {"model": _SAM}  # "other.pt": only one pack's code says
    assert entry["downloads"] == {"repo": "models/LLM/{repo_name}"}
    assert entry["widgets"] == ["model", "vae"]
    assert entry["dynamic"] == ["vae"]
    assert set(entry["variants"]) == {"orig", "copy"}  # a node naming its pack: its facts
    assert entry["claimed-by"] == ["copy"]


def test_an_input_one_pack_reads_and_another_does_not_is_cannot_tell():
    claims = {
        "Loader": [
            ("a", {"inputs": {"ckpt": "checkpoints", "extra": "loras"}}),
            ("b", {"inputs": {"ckpt": "checkpoints"}, "widgets": ["ckpt"]}),
        ]
    }
    entry = merge_claims(claims)["Loader"]
    assert entry["inputs"] == {"ckpt": "checkpoints"}
    assert entry["dynamic"] == ["extra"]
    assert "widgets" not in entry  # the layouts differ: no value is named by position


def test_a_pack_whose_whole_class_is_beyond_reading_makes_the_class_cannot_tell():
    claims = {"X": [("a", {"inputs": {"m": "loras"}}), ("b", {"dynamic": ["*"]})]}
    assert merge_claims(claims)["X"]["dynamic"] == ["*"]


def test_widget_orders_one_pack_extends_agree_on_their_common_start():
    # a copy made before the original gained an input: the values up to there are named
    # alike by both (the frontend hands values to widgets in order)
    claims = {
        "LoadVL": [
            ("orig", {"widgets": ["model", "precision", "attention", "convert"]}),
            ("copy", {"widgets": ["model", "precision", "attention"], "dynamic": ["x"]}),
        ]
    }
    assert merge_claims(claims)["LoadVL"]["widgets"] == ["model", "precision", "attention"]
    claims["LoadVL"][1] = ("copy", {"widgets": ["precision", "model"]})
    assert "widgets" not in merge_claims(claims)["LoadVL"]
