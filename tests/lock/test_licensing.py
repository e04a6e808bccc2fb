"""lock.licensing: each model's licence or "unknown", Civitai's flags in words, and which
models a --deny-license rule catches (pure)."""

from __future__ import annotations

from comfylock.lock.licensing import (
    OUTSIDE,
    denied_models,
    license_rows,
    permissions_of,
)
from comfylock.lock.structs import FileSource, Lock, LockedModel, LockedWorkflow

SHA = "a" * 64


def _m(folder, name, **kw) -> LockedModel:
    return LockedModel(folder=folder, name=name, size=1, sha256=SHA, **kw)


LOCK = Lock(
    version=1,
    workflow=(
        LockedWorkflow(
            path="wf/a.json",
            digest="sha256:" + "0" * 64,
            models=("checkpoints/nc.safetensors", "input/me.png", "loras/civ.safetensors"),
        ),
        LockedWorkflow(
            path="wf/b.json", digest="sha256:" + "1" * 64, models=("vae/v.safetensors",)
        ),
    ),
    model=(
        _m("checkpoints", "nc.safetensors", license="CC-BY-NC-4.0"),
        _m("input", "me.png", source=(FileSource(path="wf/me.png"),)),
        _m("loras", "civ.safetensors", allow_commercial_use=(), allow_derivatives=True),
        _m("vae", "v.safetensors", license="apache-2.0"),
        _m("upscale_models", "pinned.pth"),
    ),
)


def test_rules_match_by_name_or_glob_ignoring_case():
    assert [(d.key, d.license) for d in denied_models(LOCK, ["cc-by-nc-*"])] == [
        ("checkpoints/nc.safetensors", "CC-BY-NC-4.0")
    ]
    assert denied_models(LOCK, ["apache-2.0"])[0].key == "vae/v.safetensors"
    assert denied_models(LOCK, ["mit"]) == []


def test_unknown_names_models_without_a_published_licence_never_input_files():
    keys = {d.key for d in denied_models(LOCK, ["unknown"])}
    assert keys == {"loras/civ.safetensors", "upscale_models/pinned.pth"}


def test_rows_per_workflow_then_models_no_workflow_names():
    groups = license_rows(LOCK)
    assert [g.path for g in groups] == ["wf/a.json", "wf/b.json", OUTSIDE]
    assert [r.key for r in groups[0].models] == [
        "checkpoints/nc.safetensors",
        "loras/civ.safetensors",
    ]
    assert [r.license for r in groups[2].models] == ["unknown"]
    assert [g.path for g in license_rows(LOCK, ["wf/b.json"])] == ["wf/b.json"]


def test_permissions_in_words():
    assert permissions_of(_m("loras", "x")) is None
    words = permissions_of(
        _m(
            "loras",
            "x",
            allow_commercial_use=("Image", "Rent"),
            allow_derivatives=False,
            allow_different_license=True,
            allow_no_credit=True,
        )
    )
    assert words == (
        "commercial use: Image, Rent; no derivatives; relicensing allowed; no credit needed"
    )
    assert permissions_of(_m("loras", "x", allow_commercial_use=())) == "commercial use: none"
