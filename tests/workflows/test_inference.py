"""workflows/inference.py: which widget values name model files or URLs, and the file name a
URL serves."""

from __future__ import annotations

import pytest

from comfylock.workflows.inference import (
    hub_file_url,
    is_model_filename,
    is_url_value,
    url_reference_name,
)


@pytest.mark.parametrize(
    "value",
    ["sdxl.safetensors", "SDXL/Juggernaut.SafeTensors", "flux-dev-Q4.gguf", "canny.pth"],
)
def test_model_file_names(value):
    assert is_model_filename(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        3,
        "a photo of a cat",
        "https://example.com/a.safetensors",
        "embedding:easynegative.safetensors",
        "masterpiece, best quality, a.safetensors",
        "two\nlines.safetensors",
        "x" * 600 + ".safetensors",
        "notes.txt",
    ],
)
def test_values_that_are_not_model_file_names(value):
    assert not is_model_filename(value)


def test_url_values():
    assert is_url_value("https://huggingface.co/o/r/resolve/main/a.safetensors")
    assert is_url_value("HTTP://example.com/a")
    assert not is_url_value("https://x")
    assert not is_url_value("https://example.com/a b")
    assert not is_url_value("ftp://example.com/a")
    assert not is_url_value("https://example.com/" + "a" * 3000)
    assert not is_url_value(42)


def test_url_reference_names():
    hub = "https://huggingface.co/o/r/resolve/main/vae/sdxl%20vae.safetensors?download=true"
    assert url_reference_name(hub) == "sdxl vae.safetensors"
    assert url_reference_name("https://civitai.com/api/download/models/128078") == "civitai-128078"
    assert url_reference_name("https://example.com/") == "example.com"


def test_hub_file_url_from_repo_and_filename_widgets():
    named = {"repo_id": " o/r ", "subfolder": "/loras/", "filename": "a b.safetensors"}
    assert hub_file_url(named) == "https://huggingface.co/o/r/resolve/main/loras/a%20b.safetensors"
    assert hub_file_url({"repo_id": "o/r", "filename": "a.safetensors"}) == (
        "https://huggingface.co/o/r/resolve/main/a.safetensors"
    )
    assert hub_file_url({"repo_id": "../r", "filename": "a.safetensors"}) is None
    assert hub_file_url({"repo_id": "o/r", "filename": "readme.md"}) is None
    assert hub_file_url({"filename": "a.safetensors"}) is None
