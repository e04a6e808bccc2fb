"""The reader against real workflows nobody on this team wrote (../shared/corpus)."""

from __future__ import annotations

import json

import pytest

from comfylock.errors import NotAWorkflowError
from comfylock.workflows.reader import parse


def _corpus_index(shared_dir):
    index = json.loads((shared_dir / "corpus" / "examples" / "INDEX.json").read_text())
    return shared_dir / "corpus" / "examples", index["files"]


def test_examples_find_every_loader_file(shared_dir):
    base, files = _corpus_index(shared_dir)
    checked = 0
    for entry in files:
        data = (base / entry["path"]).read_bytes()
        if entry["format"] == "no-embedded-workflow":
            with pytest.raises(NotAWorkflowError):
                parse(data, name=entry["path"])
            continue
        info = parse(data, name=entry["path"])
        names = {r.name for r in info.models}
        missing = set(entry["model_files"]) - names
        assert not missing, f"{entry['path']}: missed {missing}"
        assert info.format == entry["format"]
        checked += 1
    assert checked >= 40


def test_custom_node_workflows(shared_dir, node_table):
    base = shared_dir / "corpus"
    index = json.loads((base / "custom_node_workflows" / "INDEX.json").read_text())
    for rel, entry in index.items():
        info = parse((base / rel).read_bytes(), name=rel)
        names = {r.name for r in info.models}
        for _node, value in entry["model_widgets"]:
            assert value.replace("\\", "/") in names, f"{rel}: missed {value}"
        custom = {n.class_type for n in info.nodes if not n.core}
        assert set(entry["custom_node_types"]) <= custom
        for ref in info.models:  # a folder, or an honest "cannot tell" with its reason
            assert ref.folder or (ref.reason or "").startswith("cannot tell"), (rel, ref)


def test_inspect_json_reads_the_whole_corpus(shared_dir, run_cli):
    result = run_cli("inspect", "--json", str(shared_dir / "corpus"))
    assert result.exit_code == 0, result
    data = json.loads(result.stdout)
    assert len(data["workflows"]) >= 45
    skipped_images = [s for s in data["skipped"] if s["path"].endswith(".png")]
    assert len(skipped_images) == 2
    assert data["errors"] == []
