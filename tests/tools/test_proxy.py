"""The truth-free proxy: a custom node's value that plainly names a model is counted placed,
cannot tell or not reported by what the reader said; core nodes and values naming no model
are not counted."""

from __future__ import annotations

import json

from tools.nodetable.proxy import model_like, proxy


def test_model_like_values():
    assert model_like("ckpt_name", "a.safetensors") == "file"
    assert model_like("widgets_values[0]", "dir/b.pth") == "file"
    assert model_like("repo_id", "org/name") == "repo"
    assert model_like("widgets_values[2]", "org/name") is None  # unnamed: no model word
    assert model_like("format", "video/h264-mp4") is None
    assert model_like("url", "https://example.invalid/a.safetensors") is None
    assert model_like("prompt", "a cat") is None


def test_a_workflow_is_counted_by_what_the_reader_says(tmp_path, monkeypatch):
    monkeypatch.setenv("COMFYLOCK_CACHE_DIR", str(tmp_path / "cache"))
    wf = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
        "2": {
            "class_type": "SomeNodeNobodyWrote",
            "inputs": {"model_name": "b.safetensors", "prompt": "a cat", "repo_id": "org/x"},
        },
        "3": {  # the shipped table knows where this node downloads its model
            "class_type": "DownloadAndLoadDepthAnythingV2Model",
            "inputs": {"model": "depth_anything_v2_vitl_fp16.safetensors"},
        },
    }
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    report = proxy([str(path)])
    assert report["workflows"] == 1 and report["values"] == 3  # the core loader is not counted
    assert report["cannot_tell"] == [
        "1x SomeNodeNobodyWrote: cannot tell: unknown custom node SomeNodeNobodyWrote"
    ]
    assert report["not_reported"] == ["1x SomeNodeNobodyWrote.repo_id [repo]"]
    assert report["placed_pct"] == report["cannot_tell_pct"] == report["not_reported_pct"] == 33.3


def test_a_missing_path_is_one_error_line(tmp_path, capsys):
    from tools.nodetable.proxy import main

    assert main([str(tmp_path / "nothing-here")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
