"""The custom-node measure's scoring: a reference on an input that takes no model is a false
alarm when the reader could not place it (counted apart, never as right), wrong when it did."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from tools.nodetable.measure import _measure_instance, _report, _Tally


def _ref(input_name: str, folder: str | None, name: str = "x.safetensors"):
    return SimpleNamespace(input=input_name, folder=folder, name=name, url=None, reason=None)


def _scored(answers) -> dict:
    tally = _Tally()
    entry = {"inputs": {"ckpt_name": "checkpoints"}}
    values = {"ckpt_name": "a.safetensors", "prompt": "x.safetensors"}
    _measure_instance(tally, entry, "Loader", values, {}, answers)
    nodes = Counter(instances=0, named=0)
    return _report(SimpleNamespace(workflows=[]), tally, nodes, Counter(), Counter())


def test_a_cannot_tell_on_an_input_that_takes_no_model_is_a_false_alarm():
    report = _scored([_ref("ckpt_name", "checkpoints", "a.safetensors"), _ref("prompt", None)])
    assert report["references"] == 1 and report["right_pct"] == 100.0
    assert report["false_alarms"] == 1 and report["false_alarm_inputs"] == ["1x Loader.prompt"]


def test_a_folder_on_an_input_that_takes_no_model_is_wrong():
    report = _scored([_ref("ckpt_name", "checkpoints", "a.safetensors"), _ref("prompt", "loras")])
    assert report["references"] == 2 and report["wrong_pct"] == 50.0
    assert report["false_alarms"] == 0


def test_a_file_the_node_downloads_whatever_its_values_is_counted_apart_not_judged():
    # the truth is written per input; a node's own download (input "(first run)") is
    # neither right nor wrong there, but it is listed
    own = _ref("(first run)", "custom_nodes/P/ckpts", "annotator.pth")
    report = _scored([_ref("ckpt_name", "checkpoints", "a.safetensors"), own])
    assert report["references"] == 1 and report["wrong_pct"] == 0.0
    assert report["node_downloads"] == 1
    assert report["node_download_files"] == ["1x Loader: custom_nodes/P/ckpts/annotator.pth"]
